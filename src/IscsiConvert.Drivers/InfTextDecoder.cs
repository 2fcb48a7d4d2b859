using System;
using System.Text;

namespace IscsiConvert.Drivers;

/// <summary>
/// Turns INF bytes into text the way setup accepts them: UTF-16LE/BE with a byte-order mark, UTF-8 with or without one,
/// and otherwise the ANSI code page. ANSI is taken as Windows-1252 through a built-in table so that netstandard2.0
/// needs no code-pages package; INFs are ASCII in practice, 1252 only matters for vendor names and copyright signs.
/// </summary>
internal static class InfTextDecoder
{
    /// <summary>Characters 0x80–0x9F of Windows-1252 (the rest of the range 0xA0–0xFF equals Latin-1). Undefined slots map to U+FFFD.</summary>
    private static readonly char[] Cp1252High =
    {
        '\u20AC', '\uFFFD', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\uFFFD', '\u017D', '\uFFFD',
        '\uFFFD', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\uFFFD', '\u017E', '\u0178',
    };

    public static string Decode(ReadOnlySpan<byte> data, out string encodingName)
    {
        if (data.Length >= 2 && data[0] == 0xFF && data[1] == 0xFE)
        {
            encodingName = "UTF-16LE";
            return DecodeUtf16(data.Slice(2), bigEndian: false);
        }
        if (data.Length >= 2 && data[0] == 0xFE && data[1] == 0xFF)
        {
            encodingName = "UTF-16BE";
            return DecodeUtf16(data.Slice(2), bigEndian: true);
        }
        if (data.Length >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
        {
            encodingName = "UTF-8";
            return DecodeUtf8OrNull(data.Slice(3)) ?? DecodeCp1252(data.Slice(3));
        }
        // UTF-16LE without a mark: ASCII text with every second byte zero (setup also sniffs for this).
        if (data.Length >= 4 && data[1] == 0 && data[3] == 0 && data[0] != 0 && data[2] != 0)
        {
            encodingName = "UTF-16LE";
            return DecodeUtf16(data, bigEndian: false);
        }
        string? utf8 = DecodeUtf8OrNull(data);
        if (utf8 is not null)
        {
            encodingName = IsAscii(data) ? "ASCII" : "UTF-8";
            return utf8;
        }
        encodingName = "Windows-1252";
        return DecodeCp1252(data);
    }

    private static bool IsAscii(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            if (b >= 0x80)
            {
                return false;
            }
        }
        return true;
    }

    private static string DecodeUtf16(ReadOnlySpan<byte> data, bool bigEndian)
    {
        // An odd trailing byte cannot be a character; it is dropped as setup does with a truncated file.
        int count = data.Length / 2;
        var chars = new char[count];
        for (int i = 0; i < count; i++)
        {
            byte a = data[2 * i];
            byte b = data[(2 * i) + 1];
            chars[i] = bigEndian ? (char)((a << 8) | b) : (char)((b << 8) | a);
        }
        return new string(chars);
    }

    private static string? DecodeUtf8OrNull(ReadOnlySpan<byte> data)
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        try
        {
            return strict.GetString(data.ToArray());
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static string DecodeCp1252(ReadOnlySpan<byte> data)
    {
        var chars = new char[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            chars[i] = b is >= 0x80 and <= 0x9F ? Cp1252High[b - 0x80] : (char)b;
        }
        return new string(chars);
    }
}
