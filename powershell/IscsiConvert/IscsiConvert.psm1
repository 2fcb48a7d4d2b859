# IscsiConvert PowerShell module: Get-IscsiImage and Invoke-IscsiBootPreparation over the IscsiConvert libraries'
# entry point (WindowsImage.Open -> PrepareIscsiBoot -> Apply/ApplyTo/ApplyToCopy, docs/api.md).
# The functions are thin on purpose: every call into the .NET API is in the "API coupling" region below, so that a
# change of the API changes one place. See docs/powershell.md.

Set-StrictMode -Version 3.0

#region Loading the assemblies
# The netstandard2.0 assemblies, dependencies first. A host that loaded them already (Add-Type -Path, as
# docs/powershell.md shows) is left as it is; otherwise they are loaded from the module's lib folder
# (eng/build-psmodule.sh fills it).
$script:AssemblyLoadOrder = @(
    # Windows PowerShell 5.1 (.NET Framework) needs these; PowerShell 7 has them in its runtime.
    'System.Runtime.CompilerServices.Unsafe', 'System.Buffers', 'System.Numerics.Vectors', 'System.Memory',
    'System.Threading.Tasks.Extensions', 'Microsoft.Bcl.AsyncInterfaces', 'System.Diagnostics.DiagnosticSource',
    'Microsoft.Bcl.TimeProvider', 'Microsoft.Extensions.DependencyInjection.Abstractions',
    'Microsoft.Extensions.Logging.Abstractions',
    # Ours, lower layers first.
    'IscsiConvert.Core', 'IscsiConvert.Storage', 'IscsiConvert.Ntfs', 'IscsiConvert.Registry',
    'IscsiConvert.Drivers', 'IscsiConvert.Windows'
)

if (-not ('IscsiConvert.Windows.WindowsImage' -as [type])) {
    $lib = Join-Path $PSScriptRoot 'lib'
    if (-not (Test-Path (Join-Path $lib 'IscsiConvert.Windows.dll'))) {
        throw "IscsiConvert: the assemblies are not loaded and $lib has none. Load them with Add-Type -Path first, or build the module with eng/build-psmodule.sh (docs/powershell.md)."
    }
    if ($PSVersionTable.PSEdition -eq 'Desktop') {
        # .NET Framework has no binding redirects for a script host: answer a request for any version of an assembly
        # already loaded with the loaded one (System.Memory asks for an older Unsafe than the one it ships with, etc.).
        $script:Resolver = [ResolveEventHandler] {
            param($sender, $e)
            $name = (New-Object System.Reflection.AssemblyName $e.Name).Name
            foreach ($a in [AppDomain]::CurrentDomain.GetAssemblies()) {
                if ($a.GetName().Name -eq $name) { return $a }
            }
            return $null
        }
        [AppDomain]::CurrentDomain.add_AssemblyResolve($script:Resolver)
    }
    $loaded = @([AppDomain]::CurrentDomain.GetAssemblies() | ForEach-Object { $_.GetName().Name })
    foreach ($name in $script:AssemblyLoadOrder) {
        $file = Join-Path $lib "$name.dll"
        if ($loaded -contains $name -or -not (Test-Path $file)) { continue }
        if ($PSVersionTable.PSEdition -eq 'Core' -and $name -like 'System.*') { continue } # in the runtime, newer
        Add-Type -Path $file
    }
}
#endregion

#region API coupling: every call into the IscsiConvert assemblies is here
function Use-IscsiImage {
    # Opens the image through the library's entry point (WindowsImage.Open), runs $Action with it, then closes it.
    # ReadOnly never writes the file; an apply commits and flushes itself.
    param([string] $Path, [bool] $Writable, [scriptblock] $Action)
    try {
        $access = if ($Writable) { [IscsiConvert.Windows.ImageAccess]::ReadWrite } else { [IscsiConvert.Windows.ImageAccess]::ReadOnly }
        $image = [IscsiConvert.Windows.WindowsImage]::Open($Path, $access, $null)
        try {
            & $Action $image
        }
        finally {
            $image.Dispose()
        }
    }
    catch [System.Management.Automation.MethodInvocationException] {
        # PowerShell wraps what a .NET method throws ("Exception calling "Plan" with "0" argument(s): ..."); the
        # library's own exception says what is wrong and what to do, so that is what the caller gets.
        throw $_.Exception.InnerException
    }
}

function Select-Installation {
    # The installation on -Partition, or the only one (the library's WindowsInstallationChoiceException otherwise).
    param($Image, [int] $Partition)
    if ($Partition -gt 0) { return $Image.GetInstallation($Partition) }
    return $Image.GetInstallation($null)
}

function ConvertTo-IscsiImageInfo {
    param($Installation, [string] $Path)
    $config = $Installation.Configuration
    $version = $Installation.Version
    $drivers = foreach ($d in $Installation.Installation.ListNetworkAndStorageDrivers($config)) {
        [pscustomobject]@{
            PSTypeName    = 'IscsiConvert.InstalledDriver'
            InfName       = $d.InfName
            Class         = $d.ClassName
            Provider      = $d.Provider
            DriverVersion = if ($d.DriverVersion) { $d.DriverVersion.ToString() } else { $null }
            Services      = @($d.Services)
            IsNetwork     = $d.IsNetwork
        }
    }
    [pscustomobject]@{
        PSTypeName      = 'IscsiConvert.Image'
        Path            = $Path
        Partition       = $Installation.PartitionIndex
        ProductName     = if ($version) { $version.ProductName } else { $null }
        Version         = if ($version) { $version.ToString() } else { $null }
        Family          = $Installation.Family.ToString()
        Architecture    = $Installation.Architecture
        State           = $Installation.State.ToString()
        ControlSet      = $config.CurrentControlSet
        DriverDatabase  = $config.HasDriverDatabase
        CriticalDevices = $config.CriticalDevices.Count
        Drivers         = @($drivers)
    }
}

function New-IscsiBootBuilder {
    # The immutable builder the parameters describe (each With... returns a new value).
    param([string[]] $Nic, [string[]] $Storage, [string[]] $Driver, [string[]] $RegFile)
    $builder = [IscsiConvert.Windows.IscsiBootBuilder]::new()
    foreach ($id in $Nic) { $builder = $builder.WithBootAdapter($id) }
    foreach ($id in $Storage) { $builder = $builder.WithStorageController($id) }
    foreach ($package in $Driver) { $builder = $builder.WithDriverPackage($package) }
    foreach ($file in $RegFile) { $builder = $builder.WithRegFile($file) }
    $builder
}

function Get-IscsiBootPlan {
    # Plans the preparation of one installation (reads only) and returns the library's plan object.
    param($Installation, $Builder)
    $Installation.PrepareIscsiBoot($Builder)
}

function Invoke-IscsiPlan {
    # Writes a plan: in place, into a differencing child over the image, or into a full copy in a format.
    param($Plan, [string] $Output, [string] $OutputFormat, [switch] $Differencing)
    $none = [System.Threading.CancellationToken]::None
    if (-not $Output) { return $Plan.Apply($null, $none) }
    if ($Differencing) { return $Plan.ApplyTo($Output, $null, $none) }
    $format = [IscsiConvert.Storage.DiskFormat] $OutputFormat
    $Plan.ApplyToCopy($Output, $format, $null, $none)
}

function ConvertTo-IscsiPlanInfo {
    param($Plan)
    [pscustomobject]@{
        Partition  = $Plan.PartitionIndex
        ControlSet = $Plan.ControlSet
        Target     = if ($Plan.Target) { $Plan.Target.ToString() } else { $null }
        Drivers    = @($Plan.Drivers)
        IsEmpty    = $Plan.IsEmpty
        Text       = $Plan.ToString()
        Files      = @(foreach ($f in $Plan.Files) { [pscustomobject]@{ Source = $f.Source; Destination = $f.Destination; Size = $f.Size; Sha256 = $f.Sha256 } })
        Changes    = @(foreach ($c in $Plan.Changes) {
                [pscustomobject]@{ Hive = $c.Hive; Key = $c.Key; Name = $c.ValueName; Type = $c.Type.ToString(); OldValue = $c.OldValue; NewValue = $c.NewValue; Text = $c.ToString() }
            })
    }
}
#endregion

function Get-IscsiImage {
    <#
    .SYNOPSIS
    Lists the Windows installations on a disk image: version, control set, and network and storage drivers.

    .DESCRIPTION
    Opens the image read-only (raw, VHD, VHDX, VMDK or QCOW2; the format is read from the file's content), finds every
    NTFS volume holding Windows, and returns one object per installation. Nothing is written.

    .PARAMETER Path
    The disk image. Accepts pipeline input from Get-ChildItem.

    .EXAMPLE
    Get-IscsiImage .\windows7.vhdx

    .EXAMPLE
    Get-IscsiImage .\windows7.vhdx | Select-Object -ExpandProperty Drivers | Where-Object IsNetwork

    .OUTPUTS
    IscsiConvert.Image objects: Path, Partition, ProductName, Version, Family, Architecture, State, ControlSet,
    DriverDatabase, CriticalDevices, Drivers (InfName, Class, Provider, DriverVersion, Services, IsNetwork).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [string] $Path
    )
    process {
        $full = (Resolve-Path -LiteralPath $Path).ProviderPath
        Use-IscsiImage -Path $full -Writable $false -Action {
            param($image)
            foreach ($w in $image.Installations) { ConvertTo-IscsiImageInfo -Installation $w -Path $full }
        }
    }
}

function Invoke-IscsiBootPreparation {
    <#
    .SYNOPSIS
    Makes the Windows on a disk image bootable from iSCSI: its boot NIC's driver becomes a boot-start driver.

    .DESCRIPTION
    Plans the change first (read-only): the driver that serves the NIC is found among the image's INFs and the -Driver
    packages, ranked as Plug and Play ranks them. On Windows XP to 7 the Critical Device Database gets an entry for
    the NIC and the driver's service is made boot start (a -Driver package is installed: files, INF, service); on
    Windows 8 and later a driver the image has gets boot start and the network-boot BootFlags bit. Then, unless
    -WhatIf is given or the confirmation is declined, writes it - to a copy when -Output is given. A refusal (an
    image that is hibernated or was not shut down cleanly, a driver that cannot be found) is a terminating error
    and nothing is written.

    .PARAMETER Path
    The disk image (raw, VHD, VHDX, VMDK or QCOW2).

    .PARAMETER Nic
    The boot NIC's device ID, e.g. PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02. Several may be given.

    .PARAMETER Driver
    Driver packages (an .inf, or a folder holding one) to install if they serve the NIC best.

    .PARAMETER Output
    Write the prepared image here and leave -Path as it is: a full copy (in -OutputFormat, by default the format of
    -Path), or with -Differencing a differencing child whose parent is -Path. Must not exist yet.

    .PARAMETER OutputFormat
    The format of the copy written to -Output: Raw, Vhd, Vhdx, Vmdk or Qcow2 (default: the format of -Path).

    .PARAMETER Differencing
    Write -Output as a differencing image over -Path (VHDX over VHDX, VHD over VHD, QCOW2 over QCOW2, raw or VMDK).

    .PARAMETER Storage
    Storage controllers' device IDs whose drivers are made boot-critical too.

    .PARAMETER RegFile
    Regedit files whose values are set in the offline SYSTEM and SOFTWARE hives through the same plan.

    .PARAMETER Partition
    The Windows partition, when the image holds several installations.

    .EXAMPLE
    Invoke-IscsiBootPreparation .\windows7.vhdx -Nic 'PCI\VEN_8086&DEV_100E' -WhatIf
    Shows the plan (every registry value and file) and writes nothing.

    .EXAMPLE
    Invoke-IscsiBootPreparation .\golden.vhdx -Nic 'PCI\VEN_8086&DEV_100E' -Output .\iscsi.vhdx -Differencing -Confirm:$false

    .OUTPUTS
    IscsiConvert.BootPreparation objects: Path, Applied, Partition, ControlSet, Target, Drivers, Files, Changes
    (Hive, Key, Name, Type, OldValue, NewValue, Text). Applied is $false under -WhatIf, when declined, or when the
    image needed no change (and no -Output was asked for).
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [string] $Path,

        [string[]] $Nic = @(),

        [string[]] $Driver = @(),

        [string[]] $Storage = @(),

        [string[]] $RegFile = @(),

        [string] $Output,

        [ValidateSet('Raw', 'Vhd', 'Vhdx', 'Vmdk', 'Qcow2')]
        [string] $OutputFormat,

        [switch] $Differencing,

        [int] $Partition = 0
    )
    process {
        $source = (Resolve-Path -LiteralPath $Path).ProviderPath
        $packages = @(foreach ($d in $Driver) { (Resolve-Path -LiteralPath $d).ProviderPath })
        $regs = @(foreach ($r in $RegFile) { (Resolve-Path -LiteralPath $r).ProviderPath })
        if ($Nic.Count + $Storage.Count + $regs.Count -eq 0) { throw "Name the boot NIC with -Nic (or a controller with -Storage, or a .reg file with -RegFile)." }
        $target = $source
        if ($Output) {
            $target = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Output)
            if (Test-Path -LiteralPath $target) { throw "$target exists already; -Output names a new file." }
        }
        $builder = New-IscsiBootBuilder -Nic $Nic -Storage $Storage -Driver $packages -RegFile $regs

        # Planned and, when confirmed, written with the image open once.
        # Opened for writing only when it is written in place: -WhatIf and -Output only read it.
        Use-IscsiImage -Path $source -Writable (-not $Output -and -not $WhatIfPreference) -Action {
            param($image)
            $w = Select-Installation -Image $image -Partition $Partition
            $plan = Get-IscsiBootPlan -Installation $w -Builder $builder
            $info = ConvertTo-IscsiPlanInfo -Plan $plan
            $result = [pscustomobject]@{
                PSTypeName = 'IscsiConvert.BootPreparation'
                Path       = $target
                Applied    = $false
                Partition  = $info.Partition
                ControlSet = $info.ControlSet
                Target     = $info.Target
                Drivers    = $info.Drivers
                Files      = $info.Files
                Changes    = $info.Changes
            }
            if ($plan.IsEmpty -and -not $Output) {
                Write-Verbose "${source}: nothing to change, the image is already prepared."
                return $result
            }
            if (-not $PSCmdlet.ShouldProcess($target, "Prepare for iSCSI boot:`n" + $info.Text)) {
                return $result
            }
            $format = if ($OutputFormat) { $OutputFormat } else { $image.Format.ToString() }
            $written = ConvertTo-IscsiPlanInfo -Plan (Invoke-IscsiPlan -Plan $plan -Output $(if ($Output) { $target } else { '' }) -OutputFormat $format -Differencing:$Differencing)
            $result.Applied = $true
            $result.Files = $written.Files
            $result.Changes = $written.Changes
            $result
        }
    }
}

Export-ModuleMember -Function Get-IscsiImage, Invoke-IscsiBootPreparation
