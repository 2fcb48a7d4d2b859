using System.Globalization;

namespace IscsiConvert.Drivers;

/// <summary>
/// Directory identifiers (dirids) of INF files mapped to folders on the offline Windows volume, written from its root
/// with %SystemRoot% = \Windows. Dirid 13 (the package's folder in the driver store, Windows 8.1 and later) maps to
/// \Windows\System32\DriverStore\FileRepository\&lt;package&gt; with the placeholder kept for the caller to fill in.
/// </summary>
public static class DirIds
{
    /// <summary>The placeholder for the package's driver-store folder name in dirid 13 paths.</summary>
    public const string DriverStorePackage = "<package>";

    /// <summary>The folder for <paramref name="dirId"/>, or null when it is not a folder on the Windows volume (01 source, -1 absolute, user profiles, unknown).</summary>
    public static string? Resolve(int dirId) => dirId switch
    {
        10 => @"\Windows",
        11 => @"\Windows\System32",
        12 => @"\Windows\System32\drivers",
        13 => @"\Windows\System32\DriverStore\FileRepository\" + DriverStorePackage,
        17 => @"\Windows\INF",
        18 => @"\Windows\Help",
        20 => @"\Windows\Fonts",
        21 => @"\Windows\System32\Viewers",
        23 => @"\Windows\System32\spool\drivers\color",
        24 => @"\",
        25 => @"\Windows",
        30 => @"\",
        50 => @"\Windows\System",
        51 => @"\Windows\System32\spool",
        52 => @"\Windows\System32\spool\drivers",
        54 => @"\",
        55 => @"\Windows\System32\spool\prtprocs",
        16422 => @"\Program Files",
        16425 => @"\Windows\SysWOW64",
        16426 => @"\Windows\SysWOW64",
        16427 => @"\Program Files\Common Files",
        16428 => @"\Program Files (x86)\Common Files",
        _ => null,
    };

    internal static string? Combine(int dirId, string subdirectory)
    {
        string? root = Resolve(dirId);
        if (root is null)
        {
            return null;
        }
        if (subdirectory.Length == 0)
        {
            return root;
        }
        return root.TrimEnd('\\') + "\\" + subdirectory.Trim('\\');
    }

    /// <summary>Resolves a path written with a leading %dirid% (such as %12%\viostor.sys); null when it has none or an unknown one.</summary>
    internal static string? ResolvePath(string text)
    {
        if (text.Length < 3 || text[0] != '%')
        {
            return null;
        }
        int close = text.IndexOf('%', 1);
        if (close < 0 || !int.TryParse(text.Substring(1, close - 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int id))
        {
            return null;
        }
        string? root = Resolve(id);
        if (root is null)
        {
            return null;
        }
        string rest = text.Substring(close + 1).TrimStart('\\');
        return rest.Length == 0 ? root : root.TrimEnd('\\') + "\\" + rest;
    }

    internal static bool TryParseNumber(string text, out int value)
    {
        string t = text.Trim();
        if (t.StartsWith("0x", System.StringComparison.OrdinalIgnoreCase))
        {
            bool ok = uint.TryParse(t.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint u);
            value = unchecked((int)u);
            return ok;
        }
        return int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }
}
