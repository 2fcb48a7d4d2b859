using System;
using System.Text;

namespace IscsiConvert.Registry;

/// <summary>
/// Windows-1252, the ANSI code page of Western-language Windows that writes REGEDIT4 files. netstandard2.0 has no
/// code-page encodings without an extra package, and 1252 differs from Latin-1 only in 0x80-0x9F, so that block is a
/// table here.
/// </summary>
internal static class Windows1252
{
    private static readonly char[] High =
    {
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021', '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014', '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
    };

    public static string Decode(ReadOnlySpan<byte> bytes, Encoding? other)
    {
        if (other is not null)
        {
            return other.GetString(bytes.ToArray());
        }
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            sb.Append(b >= 0x80 && b < 0xA0 ? High[b - 0x80] : (char)b);
        }
        return sb.ToString();
    }
}
