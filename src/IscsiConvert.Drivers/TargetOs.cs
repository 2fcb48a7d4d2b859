using System;
using System.Globalization;

namespace IscsiConvert.Drivers;

/// <summary>
/// The Windows a driver is chosen for: processor architecture (as INF decorations spell it: x86, amd64, arm64, ia64),
/// NT version, build number and product type (1 workstation, 2 domain controller, 3 server).
/// </summary>
public sealed class TargetOs
{
    /// <summary>Creates a target.</summary>
    public TargetOs(string architecture, int major, int minor, int build, int productType = 1)
    {
        if (architecture is null)
        {
            throw new ArgumentNullException(nameof(architecture));
        }
        string arch = architecture.ToLowerInvariant();
        if (arch is not ("x86" or "amd64" or "arm" or "arm64" or "ia64"))
        {
            throw new ArgumentException($"architecture '{architecture}' is not x86, amd64, arm, arm64 or ia64", nameof(architecture));
        }
        Architecture = arch;
        Major = major;
        Minor = minor;
        Build = build;
        ProductType = productType;
    }

    /// <summary>x86, amd64, arm64 or ia64.</summary>
    public string Architecture { get; }

    /// <summary>NT major version (5, 6, 10).</summary>
    public int Major { get; }

    /// <summary>NT minor version.</summary>
    public int Minor { get; }

    /// <summary>Build number (7601, 9600, 17763 …).</summary>
    public int Build { get; }

    /// <summary>1 workstation, 2 domain controller, 3 server.</summary>
    public int ProductType { get; }

    /// <summary>Windows 7 SP1 x64.</summary>
    public static TargetOs Windows7X64 { get; } = new("amd64", 6, 1, 7601);

    /// <summary>Windows 10 x64, version 1809.</summary>
    public static TargetOs Windows10X64 { get; } = new("amd64", 10, 0, 17763);

    /// <summary>
    /// Parses a short name: win7-x64, win7-x86, win8-x64, win81-x64, win10-x64 (build 17763), win10-x86, win10-arm64,
    /// win11-x64 (22000), ws2008r2, ws2012, ws2012r2, ws2016, ws2019, ws2022, ws2025 (x64 servers), optionally with
    /// "@BUILD" to set the build (win10-x64@19045).
    /// </summary>
    public static TargetOs Parse(string name)
    {
        if (name is null)
        {
            throw new ArgumentNullException(nameof(name));
        }
        string n = name.Trim().ToLowerInvariant();
        int? build = null;
        int at = n.IndexOf('@');
        if (at >= 0)
        {
            if (!int.TryParse(n.Substring(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int b))
            {
                throw new ArgumentException($"'{name}': the build after '@' is not a number", nameof(name));
            }
            build = b;
            n = n.Substring(0, at);
        }
        TargetOs t = n switch
        {
            "winxp-x86" => new("x86", 5, 1, 2600),
            "win2003-x64" or "winxp-x64" => new("amd64", 5, 2, 3790),
            "vista-x86" => new("x86", 6, 0, 6002),
            "vista-x64" => new("amd64", 6, 0, 6002),
            "win7-x86" => new("x86", 6, 1, 7601),
            "win7-x64" => new("amd64", 6, 1, 7601),
            "win8-x86" => new("x86", 6, 2, 9200),
            "win8-x64" => new("amd64", 6, 2, 9200),
            "win81-x86" or "win8.1-x86" => new("x86", 6, 3, 9600),
            "win81-x64" or "win8.1-x64" => new("amd64", 6, 3, 9600),
            "win10-x86" => new("x86", 10, 0, 17763),
            "win10-x64" => new("amd64", 10, 0, 17763),
            "win10-arm64" => new("arm64", 10, 0, 17763),
            "win11-x64" => new("amd64", 10, 0, 22000),
            "win11-arm64" => new("arm64", 10, 0, 22000),
            "ws2008" => new("amd64", 6, 0, 6002, 3),
            "ws2008r2" => new("amd64", 6, 1, 7601, 3),
            "ws2012" => new("amd64", 6, 2, 9200, 3),
            "ws2012r2" => new("amd64", 6, 3, 9600, 3),
            "ws2016" => new("amd64", 10, 0, 14393, 3),
            "ws2019" => new("amd64", 10, 0, 17763, 3),
            "ws2022" => new("amd64", 10, 0, 20348, 3),
            "ws2025" => new("amd64", 10, 0, 26100, 3),
            _ => throw new ArgumentException($"unknown target '{name}' (try win7-x64, win7-x86, win8-x64, win81-x64, win10-x64, win10-arm64, win11-x64, ws2012r2, ws2019 …)", nameof(name)),
        };
        return build is int bn ? new TargetOs(t.Architecture, t.Major, t.Minor, bn, t.ProductType) : t;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "NT{0} {1}.{2} build {3}{4}", Architecture, Major, Minor, Build, ProductType == 1 ? string.Empty : " server");
}
