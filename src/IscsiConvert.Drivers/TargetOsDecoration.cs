using System;
using System.Globalization;

namespace IscsiConvert.Drivers;

/// <summary>
/// A TargetOSVersion decoration of a [Manufacturer] entry:
/// <c>NT[Architecture][.[Major][.[Minor][.[ProductType][.[SuiteMask][.[BuildNumber]]]]]]</c>, such as
/// <c>NTamd64.10.0...17763</c>. Empty fields mean "any".
/// </summary>
internal sealed class TargetOsDecoration
{
    private TargetOsDecoration(string text, string architecture, int major, int minor, int productType, int suiteMask, int build, bool valid)
    {
        Text = text;
        Architecture = architecture;
        Major = major;
        Minor = minor;
        ProductType = productType;
        SuiteMask = suiteMask;
        Build = build;
        IsValid = valid;
    }

    public string Text { get; }

    /// <summary>Lower-case architecture, "" when not given.</summary>
    public string Architecture { get; }

    public int Major { get; }

    public int Minor { get; }

    public int ProductType { get; }

    public int SuiteMask { get; }

    public int Build { get; }

    /// <summary>False for text that is not a decoration (such as an unstamped NT$ARCH$); it never matches.</summary>
    public bool IsValid { get; }

    public static TargetOsDecoration Parse(string text)
    {
        string t = text.Trim();
        if (t.Length < 2 || !t.StartsWith("NT", StringComparison.OrdinalIgnoreCase))
        {
            return Invalid(t);
        }
        string[] parts = t.Substring(2).Split('.');
        string arch = parts[0].ToLowerInvariant();
        if (arch is not ("" or "x86" or "amd64" or "arm" or "arm64" or "ia64"))
        {
            return Invalid(t);
        }
        if (parts.Length > 6)
        {
            return Invalid(t);
        }
        var n = new int[5];
        for (int i = 1; i < parts.Length; i++)
        {
            string p = parts[i].Trim();
            if (p.Length == 0)
            {
                continue;
            }
            bool ok = p.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? int.TryParse(p.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out n[i - 1])
                : int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out n[i - 1]);
            if (!ok || n[i - 1] < 0)
            {
                return Invalid(t);
            }
        }
        return new TargetOsDecoration(t, arch, n[0], n[1], n[2], n[3], n[4], valid: true);
    }

    private static TargetOsDecoration Invalid(string t) => new(t, string.Empty, 0, 0, 0, 0, 0, valid: false);

    /// <summary>Whether a models section with this decoration may be used on <paramref name="target"/>.</summary>
    public bool Matches(TargetOs target)
    {
        if (!IsValid)
        {
            return false;
        }
        if (Architecture.Length > 0 && !Architecture.Equals(target.Architecture, StringComparison.Ordinal))
        {
            return false;
        }
        // The versions are minimums: NT.6.1 applies to Windows 7 and everything later.
        if (Compare(Major, Minor, Build, target.Major, target.Minor, target.Build) > 0)
        {
            return false;
        }
        if (ProductType != 0 && ProductType != target.ProductType)
        {
            return false;
        }
        // Suite masks (Enterprise, Datacenter, …) are not modelled: a decoration that requires a suite never matches.
        return SuiteMask == 0;
    }

    /// <summary>Orders matching decorations from least to most specific; setup uses the most specific.</summary>
    public static int CompareSpecificity(TargetOsDecoration a, TargetOsDecoration b)
    {
        int c = Compare(a.Major, a.Minor, a.Build, b.Major, b.Minor, b.Build);
        if (c != 0)
        {
            return c;
        }
        c = (a.Architecture.Length > 0).CompareTo(b.Architecture.Length > 0);
        if (c != 0)
        {
            return c;
        }
        return (a.ProductType != 0).CompareTo(b.ProductType != 0);
    }

    private static int Compare(int aMajor, int aMinor, int aBuild, int bMajor, int bMinor, int bBuild)
    {
        int c = aMajor.CompareTo(bMajor);
        if (c != 0)
        {
            return c;
        }
        c = aMinor.CompareTo(bMinor);
        return c != 0 ? c : aBuild.CompareTo(bBuild);
    }
}
