namespace IscsiConvert.Windows;

/// <summary>What SOFTWARE\Microsoft\Windows NT\CurrentVersion says about the version; absent values are null.</summary>
public sealed class WindowsVersion
{
    /// <summary>Creates a version description.</summary>
    public WindowsVersion(string? productName, string? currentVersion, string? currentBuild, uint? majorVersion, uint? minorVersion, string? editionId, string? installationType)
    {
        ProductName = productName;
        CurrentVersion = currentVersion;
        CurrentBuild = currentBuild;
        MajorVersion = majorVersion;
        MinorVersion = minorVersion;
        EditionId = editionId;
        InstallationType = installationType;
    }

    /// <summary>ProductName, e.g. "Windows 7 Professional".</summary>
    public string? ProductName { get; }

    /// <summary>CurrentVersion ("6.1"; Windows 10 and later still say "6.3" here).</summary>
    public string? CurrentVersion { get; }

    /// <summary>CurrentBuild, or CurrentBuildNumber when CurrentBuild is absent.</summary>
    public string? CurrentBuild { get; }

    /// <summary>CurrentMajorVersionNumber (Windows 10 and later only).</summary>
    public uint? MajorVersion { get; }

    /// <summary>CurrentMinorVersionNumber (Windows 10 and later only).</summary>
    public uint? MinorVersion { get; }

    /// <summary>EditionID, e.g. "Professional" or "ServerStandard".</summary>
    public string? EditionId { get; }

    /// <summary>InstallationType ("Client", "Server"…; Windows 7 and later).</summary>
    public string? InstallationType { get; }

    /// <summary>
    /// The generation. Windows 10 and later still say "6.3" in CurrentVersion (for old applications), so
    /// CurrentMajorVersionNumber, which only they have, decides first.
    /// </summary>
    public WindowsFamily Family
    {
        get
        {
            if (MajorVersion is uint major)
            {
                return major >= 10 ? WindowsFamily.Windows10OrLater : WindowsFamily.Unknown;
            }
            return CurrentVersion?.Trim() switch
            {
                "5.1" or "5.2" => WindowsFamily.WindowsXPOr2003,
                "6.0" => WindowsFamily.WindowsVistaOr2008,
                "6.1" => WindowsFamily.Windows7Or2008R2,
                "6.2" => WindowsFamily.Windows8Or2012,
                "6.3" => WindowsFamily.Windows81Or2012R2,
                _ => WindowsFamily.Unknown,
            };
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{ProductName} {CurrentVersion} build {CurrentBuild}";
}
