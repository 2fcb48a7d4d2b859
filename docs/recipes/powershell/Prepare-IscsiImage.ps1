<#
.SYNOPSIS
Recipe: prepare a golden Windows image for iSCSI boot from PowerShell, writing a prepared copy and a JSON report.

.DESCRIPTION
Loads the IscsiConvert assemblies with Add-Type (when -LibPath is given; otherwise the module loads them from its own
lib folder), imports the module, shows what is on the image, shows the plan (-WhatIf), then writes the prepared copy
and a JSON report next to it. Runs in PowerShell 7 and Windows PowerShell 5.1. Tested end to end by
tests/IscsiConvert.Packaging.Tests (PowerShellTests). See docs/powershell.md.

.EXAMPLE
./Prepare-IscsiImage.ps1 -Image golden.vhdx -Nic 'PCI\VEN_8086&DEV_100E' -Output iscsi.vhdx -ModulePath ./out/IscsiConvert
#>
param(
    [Parameter(Mandatory)] [string] $Image,
    [Parameter(Mandatory)] [string[]] $Nic,
    [Parameter(Mandatory)] [string] $Output,
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $LibPath,
    [string[]] $Driver = @()
)
$ErrorActionPreference = 'Stop'

if ($LibPath) {
    # PowerShell 7: our assemblies and Microsoft.Extensions.Logging.Abstractions, dependencies first (the System.*
    # ones are in its runtime). Windows PowerShell 5.1: the longer list in docs/powershell.md.
    $order = 'Microsoft.Extensions.Logging.Abstractions', 'IscsiConvert.Core', 'IscsiConvert.Storage', 'IscsiConvert.Ntfs',
        'IscsiConvert.Registry', 'IscsiConvert.Drivers', 'IscsiConvert.Windows'
    foreach ($name in $order) { Add-Type -Path (Join-Path $LibPath "$name.dll") }
}
Import-Module $ModulePath

$found = @(Get-IscsiImage -Path $Image)
foreach ($w in $found) {
    Write-Host "Windows: $($w.ProductName) ($($w.Version), $($w.Architecture)), $($w.ControlSet), $(@($w.Drivers).Count) network/storage driver(s)"
}

# The plan, written nowhere.
$plan = Invoke-IscsiBootPreparation -Path $Image -Nic $Nic -Driver $Driver -WhatIf

# The prepared copy; the golden image stays as it is.
$result = Invoke-IscsiBootPreparation -Path $Image -Nic $Nic -Driver $Driver -Output $Output -Confirm:$false

$report = [pscustomobject]@{
    Image         = (Resolve-Path -LiteralPath $Image).ProviderPath
    Output        = $result.Path
    Installations = $found
    Planned       = @($plan.Changes).Count
    Applied       = $result.Applied
    Changes       = $result.Changes
    Files         = $result.Files
}
$report | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath "$Output.report.json" -Encoding UTF8
Write-Host "Prepared $($result.Path): $(@($result.Changes).Count) value(s), $(@($result.Files).Count) file(s); report in $Output.report.json"
