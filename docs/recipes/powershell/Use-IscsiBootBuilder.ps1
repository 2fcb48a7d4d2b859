<#
.SYNOPSIS
Recipe: the library's fluent API straight from PowerShell, without the module: open the image, build the plan with
IscsiBootBuilder, apply it in place or into a differencing child.

.DESCRIPTION
Loads the IscsiConvert assemblies with Add-Type (PowerShell 7's list; Windows PowerShell 5.1 needs the longer list in
docs/powershell.md), opens the image with WindowsImage.Open, builds the immutable IscsiBootBuilder in a plain chain of
With... calls (each returns a new builder, so no script block is needed: PrepareIscsiBoot takes the builder itself),
prints the plan and applies it: in place, or with -Output into a new differencing image over the untouched input.
Tested end to end by tests/IscsiConvert.Packaging.Tests (PowerShellTests). See docs/powershell.md and docs/api.md.

.EXAMPLE
./Use-IscsiBootBuilder.ps1 -Image golden.vhdx -Nic 'PCI\VEN_8086&DEV_100E' -LibPath ./out/IscsiConvert/lib -Output iscsi.vhdx
#>
param(
    [Parameter(Mandatory)] [string] $Image,
    [Parameter(Mandatory)] [string] $Nic,
    [Parameter(Mandatory)] [string] $LibPath,
    [string] $Output,
    [string[]] $Driver = @()
)
$ErrorActionPreference = 'Stop'

$order = 'Microsoft.Extensions.Logging.Abstractions', 'IscsiConvert.Core', 'IscsiConvert.Storage', 'IscsiConvert.Ntfs',
    'IscsiConvert.Registry', 'IscsiConvert.Drivers', 'IscsiConvert.Windows'
foreach ($name in $order) { Add-Type -Path (Join-Path $LibPath "$name.dll") }

# .NET resolves relative paths against the process's folder, not PowerShell's current location: pass it full paths.
$Image = (Resolve-Path -LiteralPath $Image).ProviderPath
if ($Output) { $Output = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Output) }

# Each With... returns a new builder and leaves the one it was called on as it was.
$builder = [IscsiConvert.Windows.IscsiBootBuilder]::new().WithBootAdapter($Nic)
foreach ($package in $Driver) { $builder = $builder.WithDriverPackage($package) }
"builder: $builder"

# A differencing child is written over an image opened read-only; writing in place needs ReadWrite.
$access = if ($Output) { [IscsiConvert.Windows.ImageAccess]::ReadOnly } else { [IscsiConvert.Windows.ImageAccess]::ReadWrite }
$windows = [IscsiConvert.Windows.WindowsImage]::Open($Image, $access, $null)
try {
    foreach ($installation in $windows.Installations) { "installation: $installation" }
    $plan = $windows.PrepareIscsiBoot($builder)
    "plan: $($plan.Changes.Count) value(s), $($plan.Files.Count) file(s), empty: $($plan.IsEmpty)"
    foreach ($change in $plan.Changes) { "  $change" }
    $result = if ($Output) { $plan.ApplyTo($Output) } else { $plan.Apply() }
    "applied: $($result.IsApplied), $($result.Changes.Count) value(s) written to $(if ($result.OutputPath) { $result.OutputPath } else { $Image })"
}
finally {
    $windows.Dispose()
}
