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

    /// <inheritdoc/>
    public override string ToString() => $"{ProductName} {CurrentVersion} build {CurrentBuild}";
}
