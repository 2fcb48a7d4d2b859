using System;
using System.Text;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// 8.3 (DOS) names the way Windows makes them when a volume keeps them: a name that already is a valid upper-case 8.3
/// name is its own short name; otherwise the first six usable characters of the base, "~n", and the first three of the
/// extension, upper-cased, with characters DOS does not allow replaced by '_'.
/// </summary>
internal static class ShortNames
{
    private const string AllowedPunctuation = "!#$%&'()-@^_`{}~";

    /// <summary>True when <paramref name="name"/> is exactly a valid upper-case 8.3 name (then one $FILE_NAME in the
    /// Win32-and-DOS namespace serves both).</summary>
    public static bool IsValidShortName(string name)
    {
        int dot = name.IndexOf('.');
        string baseName = dot < 0 ? name : name.Substring(0, dot);
        string extension = dot < 0 ? string.Empty : name.Substring(dot + 1);
        if (baseName.Length is 0 or > 8 || extension.Length > 3 || extension.IndexOf('.') >= 0 || (dot >= 0 && extension.Length == 0))
        {
            return false;
        }
        foreach (char c in baseName + extension)
        {
            if (!IsShortChar(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The short name with tail number <paramref name="n"/> (1, 2, ...).</summary>
    public static string Make(string longName, int n)
    {
        string trimmed = longName.Trim().TrimStart('.');
        int dot = trimmed.LastIndexOf('.');
        string baseName = Clean(dot < 0 ? trimmed : trimmed.Substring(0, dot));
        string extension = Clean(dot < 0 ? string.Empty : trimmed.Substring(dot + 1));
        if (baseName.Length == 0)
        {
            baseName = "_";
        }
        string tail = "~" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int keep = Math.Min(baseName.Length, 8 - tail.Length);
        string shortName = baseName.Substring(0, keep) + tail;
        if (extension.Length > 0)
        {
            shortName += "." + extension.Substring(0, Math.Min(3, extension.Length));
        }
        return shortName;
    }

    private static string Clean(string part)
    {
        var sb = new StringBuilder();
        foreach (char c in part)
        {
            if (c == ' ' || c == '.')
            {
                continue;
            }
            char upper = char.ToUpperInvariant(c);
            sb.Append(IsShortChar(upper) ? upper : '_');
        }
        return sb.ToString();
    }

    private static bool IsShortChar(char c) =>
        (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || AllowedPunctuation.IndexOf(c) >= 0;
}
