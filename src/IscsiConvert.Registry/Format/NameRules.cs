using System;
using System.Text;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// How Windows stores and compares key and value names: case-insensitively, by upper-casing each UTF-16 code unit and
/// comparing the results as unsigned numbers; names whose characters all fit in one byte are stored "compressed"
/// (one byte per character, Latin-1), others as UTF-16LE.
/// </summary>
internal static class NameRules
{
    public const int MaxNameChars = 255;     // Windows' limit for key names; value names may be longer (16383)
    public const int MaxValueNameChars = 16383;

    public static char Upcase(char c) => char.ToUpperInvariant(c);

    public static int Compare(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int d = Upcase(a[i]) - Upcase(b[i]);
            if (d != 0)
            {
                return d;
            }
        }
        return a.Length - b.Length;
    }

    public static bool NamesEqual(string a, string b) => a.Length == b.Length && Compare(a, b) == 0;

    /// <summary>The "lh" hash: h = 37 * h + upcase(c) over the UTF-16 code units.</summary>
    public static uint Hash(string name)
    {
        uint h = 0;
        foreach (char c in name)
        {
            h = unchecked((37 * h) + Upcase(c));
        }
        return h;
    }

    /// <summary>The "lf" hint: the first four characters as bytes (zero where a character needs more than a byte, or is missing).</summary>
    public static uint Hint(string name)
    {
        uint hint = 0;
        for (int i = 0; i < 4 && i < name.Length; i++)
        {
            uint c = name[i] <= 0xFF ? name[i] : 0u;
            hint |= c << (8 * i);
        }
        return hint;
    }

    public static bool CanCompress(string name)
    {
        foreach (char c in name)
        {
            if (c > 0xFF)
            {
                return false;
            }
        }
        return true;
    }

    public static string Decode(ReadOnlySpan<byte> bytes, bool compressed)
    {
        if (compressed)
        {
            var chars = new char[bytes.Length];
            for (int i = 0; i < bytes.Length; i++)
            {
                chars[i] = (char)bytes[i];
            }
            return new string(chars);
        }
        return Encoding.Unicode.GetString(bytes.Slice(0, bytes.Length & ~1).ToArray());
    }

    public static byte[] Encode(string name, bool compressed)
    {
        if (compressed)
        {
            var b = new byte[name.Length];
            for (int i = 0; i < name.Length; i++)
            {
                b[i] = (byte)name[i];
            }
            return b;
        }
        return Encoding.Unicode.GetBytes(name);
    }
}
