@{
    # Thin PowerShell commands over the IscsiConvert .NET libraries (netstandard2.0). See docs/powershell.md.
    RootModule           = 'IscsiConvert.psm1'
    # Stamped by eng/build-psmodule.sh with the one version of all packages (VersionPrefix in Directory.Build.props).
    ModuleVersion        = '0.0.0'
    GUID                 = '5f0c8a5e-3d53-4d6b-9a57-2b9f1c1f7e21'
    Author               = 'IscsiConvert contributors'
    CompanyName          = 'IscsiConvert'
    Copyright            = 'Copyright (c) IscsiConvert contributors'
    Description          = 'Inspect offline Windows disk images and prepare them for iSCSI boot (boot NIC driver made boot-critical), in pure managed code.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FunctionsToExport    = @('Get-IscsiImage', 'Invoke-IscsiBootPreparation')
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('iSCSI', 'iPXE', 'Windows', 'VHD', 'VHDX', 'offline', 'driver')
        }
    }
}
