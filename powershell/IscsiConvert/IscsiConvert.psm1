# IscsiConvert PowerShell module: Get-IscsiImage and Invoke-IscsiBootPreparation over the IscsiConvert libraries.
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

if (-not ('IscsiConvert.Windows.IscsiBoot' -as [type])) {
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
function Use-IscsiInstallation {
    # Opens the image, finds its Windows installations, runs $Action with them, then closes everything (flushing the
    # image after a writable run).
    param([string] $Path, [bool] $Writable, [scriptblock] $Action)
    try {
        $access = if ($Writable) { [IscsiConvert.Storage.DiskAccess]::ReadWrite } else { [IscsiConvert.Storage.DiskAccess]::ReadOnly }
        $disk = [IscsiConvert.Storage.DiskImage]::Open($Path, $access)
        try {
            $found = [IscsiConvert.Windows.WindowsInstallation]::Find($disk, $Writable)
            try {
                & $Action $found
            }
            finally {
                foreach ($w in $found) { $w.Dispose() }
            }
            if ($Writable) { $disk.Flush() }
        }
        finally {
            $disk.Dispose()
        }
    }
    catch [System.Management.Automation.MethodInvocationException] {
        # PowerShell wraps what a .NET method throws ("Exception calling "Plan" with "0" argument(s): ..."); the
        # library's own exception says what is wrong and what to do, so that is what the caller gets.
        throw $_.Exception.InnerException
    }
}

function Select-Installation {
    param($Found, [string] $Path, [int] $Partition)
    $list = @($Found)
    if ($list.Count -eq 0) { throw "${Path}: no Windows installation found (no NTFS volume holds \Windows\System32\config\SYSTEM)." }
    if ($Partition -gt 0) {
        $w = $list | Where-Object { $_.PartitionIndex -eq $Partition } | Select-Object -First 1
        if (-not $w) { throw "${Path}: no Windows installation on partition $Partition." }
        return $w
    }
    if ($list.Count -gt 1) { throw "$Path holds $($list.Count) Windows installations; choose one with -Partition." }
    return $list[0]
}

function ConvertTo-IscsiImageInfo {
    param($Installation, [string] $Path)
    $config = $Installation.ReadConfiguration()
    $version = $config.Version
    $drivers = foreach ($d in $Installation.ListNetworkAndStorageDrivers($config)) {
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
        Family          = if ($version) { $version.Family.ToString() } else { 'Unknown' }
        Architecture    = $config.Architecture
        ControlSet      = $config.CurrentControlSet
        DriverDatabase  = $config.HasDriverDatabase
        CriticalDevices = $config.CriticalDevices.Count
        Drivers         = @($drivers)
    }
}

function Get-IscsiBootPlan {
    # Plans (or, with -Apply, applies) the preparation of one installation and returns it as a plain object.
    param($Installation, [string[]] $Nic, [string[]] $Driver, [switch] $Apply)
    $boot = [IscsiConvert.Windows.IscsiBoot]::For($Installation)
    foreach ($id in $Nic) { $null = $boot.WithBootAdapter($id) }
    foreach ($package in $Driver) { $null = $boot.WithDriverPackage($package) }
    $plan = if ($Apply) { $boot.Apply() } else { $boot.Plan() }
    [pscustomobject]@{
        Partition  = $plan.PartitionIndex
        ControlSet = $plan.ControlSet
        Target     = $plan.Target.ToString()
        Drivers    = @($plan.Drivers)
        Files      = @(foreach ($f in $plan.Files) { [pscustomobject]@{ Source = $f.Source; Destination = $f.Destination } })
        Changes    = @(foreach ($c in $plan.Changes) {
                [pscustomobject]@{ Key = $c.Key; Name = $c.ValueName; Type = $c.Type.ToString(); OldValue = $c.OldValue; NewValue = $c.NewValue; Text = $c.ToString() }
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
    IscsiConvert.Image objects: Path, Partition, ProductName, Version, Family, Architecture, ControlSet,
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
        Use-IscsiInstallation -Path $full -Writable $false -Action {
            param($found)
            foreach ($w in $found) { ConvertTo-IscsiImageInfo -Installation $w -Path $full }
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
    Write the prepared image here (a copy of -Path) and leave -Path as it is. Must not exist yet.

    .PARAMETER Partition
    The Windows partition, when the image holds several installations.

    .EXAMPLE
    Invoke-IscsiBootPreparation .\windows7.vhdx -Nic 'PCI\VEN_8086&DEV_100E' -WhatIf
    Shows the plan (every registry value and file) and writes nothing.

    .EXAMPLE
    Invoke-IscsiBootPreparation .\golden.vhdx -Nic 'PCI\VEN_8086&DEV_100E' -Output .\iscsi.vhdx -Confirm:$false

    .OUTPUTS
    IscsiConvert.BootPreparation objects: Path, Applied, Partition, ControlSet, Target, Drivers, Files, Changes
    (Key, Name, Type, OldValue, NewValue, Text). Applied is $false under -WhatIf, when declined, or when the image
    needed no change.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [string] $Path,

        [Parameter(Mandatory)]
        [string[]] $Nic,

        [string[]] $Driver = @(),

        [string] $Output,

        [int] $Partition = 0
    )
    process {
        $source = (Resolve-Path -LiteralPath $Path).ProviderPath
        $packages = @(foreach ($d in $Driver) { (Resolve-Path -LiteralPath $d).ProviderPath })
        $target = $source
        if ($Output) {
            $target = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Output)
            if (Test-Path -LiteralPath $target) { throw "$target exists already; -Output names a new file." }
        }

        $plan = Use-IscsiInstallation -Path $source -Writable $false -Action {
            param($found)
            $w = Select-Installation -Found $found -Path $source -Partition $Partition
            Get-IscsiBootPlan -Installation $w -Nic $Nic -Driver $packages
        }
        $result = [pscustomobject]@{
            PSTypeName = 'IscsiConvert.BootPreparation'
            Path       = $target
            Applied    = $false
            Partition  = $plan.Partition
            ControlSet = $plan.ControlSet
            Target     = $plan.Target
            Drivers    = $plan.Drivers
            Files      = $plan.Files
            Changes    = $plan.Changes
        }
        if ($plan.Changes.Count -eq 0 -and $plan.Files.Count -eq 0) {
            Write-Verbose "${source}: nothing to change, the image is already prepared."
            return $result
        }

        $lines = @($plan.Drivers | ForEach-Object { "driver $_" }) +
            @($plan.Files | ForEach-Object { "copy $($_.Source) -> $($_.Destination)" }) +
            @($plan.Changes | ForEach-Object { "set $($_.Text)" })
        $action = "Prepare for iSCSI boot ($($plan.ControlSet), $($plan.Target)):`n  " + ($lines -join "`n  ")
        if (-not $PSCmdlet.ShouldProcess($target, $action)) {
            return $result
        }

        if ($Output) { Copy-Item -LiteralPath $source -Destination $target }
        try {
            $applied = Use-IscsiInstallation -Path $target -Writable $true -Action {
                param($found)
                $w = Select-Installation -Found $found -Path $target -Partition $Partition
                Get-IscsiBootPlan -Installation $w -Nic $Nic -Driver $packages -Apply
            }
        }
        catch {
            # The engine writes nothing when it refuses; a copy made for -Output is not left behind unprepared.
            if ($Output) { Remove-Item -LiteralPath $target -ErrorAction SilentlyContinue }
            throw
        }
        $result.Applied = $true
        $result.Files = $applied.Files
        $result.Changes = $applied.Changes
        $result
    }
}

Export-ModuleMember -Function Get-IscsiImage, Invoke-IscsiBootPreparation
