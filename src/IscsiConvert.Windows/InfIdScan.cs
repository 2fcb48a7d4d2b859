using System;
using System.Buffers;
using System.Collections.Generic;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>
/// A byte scan that tells, without parsing, whether an INF can list one of a device's IDs, so that matching parses only
/// the few INFs that can (an image holds hundreds to over a thousand). Ranking compares an INF's ID with the device's
/// after <see cref="HardwareId.Normalize"/> (trimmed, upper case, '/' as '\'), so an INF that lists a device ID holds
/// the ID's last path segment (for <c>PCI\VEN_8086&amp;DEV_10D3</c>, <c>VEN_8086&amp;DEV_10D3</c>) in its bytes, in any
/// case, followed by something that is not part of an ID (a comma, white space, a quote, the end of the line). That is
/// what is looked for, as ASCII (also UTF-8 and Windows-1252) and as UTF-16 of either byte order. A false hit only
/// costs a parse; a miss would need an ID written in pieces (joined from %strings%, split by quotes or a line
/// continuation), which no INF does. Files holding the two non-ASCII letters whose upper case is ASCII (U+0131 ı,
/// U+017F ſ) are always parsed.
/// </summary>
internal sealed class InfIdScan
{
    // U+0131 and U+017F as UTF-8, UTF-16LE and UTF-16BE: ToUpperInvariant turns them into I and S.
    private static readonly byte[][] AsciiLookalikes =
    {
        new byte[] { 0xC4, 0xB1 }, new byte[] { 0xC5, 0xBF },
        new byte[] { 0x31, 0x01 }, new byte[] { 0x7F, 0x01 },
        new byte[] { 0x01, 0x31 }, new byte[] { 0x01, 0x7F },
    };

    private readonly List<(byte[] Pattern, int Unit, bool BigEndian)> _needles = new();
    private readonly bool _parseAll;

    private InfIdScan(IEnumerable<string> deviceIds)
    {
        var tails = new HashSet<string>(StringComparer.Ordinal);
        foreach (string id in deviceIds)
        {
            string n = HardwareId.Normalize(id);
            string tail = n.Substring(n.LastIndexOf('\\') + 1);
            if (tail.Length == 0 || !IsAscii(tail))
            {
                _parseAll = true; // nothing safe to look for: every INF is parsed
                return;
            }
            tails.Add(tail);
        }
        foreach (string tail in tails)
        {
            var ascii = new byte[tail.Length];
            var le = new byte[tail.Length * 2];
            var be = new byte[tail.Length * 2];
            for (int i = 0; i < tail.Length; i++)
            {
                ascii[i] = (byte)tail[i];
                le[2 * i] = (byte)tail[i];
                be[(2 * i) + 1] = (byte)tail[i];
            }
            _needles.Add((ascii, 1, false));
            _needles.Add((le, 2, false));
            _needles.Add((be, 2, true));
        }
    }

    /// <summary>The scan for a device reporting <paramref name="hardwareIds"/> and <paramref name="compatibleIds"/>.</summary>
    public static InfIdScan For(IEnumerable<string> hardwareIds, IEnumerable<string> compatibleIds)
    {
        var all = new List<string>(hardwareIds);
        all.AddRange(compatibleIds);
        return new InfIdScan(all);
    }

    /// <summary>Whether the INF <paramref name="data"/> may list one of the IDs (and must be parsed); false only when it cannot.</summary>
    public bool MayList(ReadOnlySpan<byte> data)
    {
        if (_parseAll)
        {
            return true;
        }
        foreach (byte[] lookalike in AsciiLookalikes)
        {
            if (data.IndexOf(lookalike) >= 0)
            {
                return true;
            }
        }
        byte[] upper = ArrayPool<byte>.Shared.Rent(data.Length);
        try
        {
            Span<byte> text = upper.AsSpan(0, data.Length);
            for (int i = 0; i < data.Length; i++)
            {
                byte b = data[i];
                text[i] = b is >= (byte)'a' and <= (byte)'z' ? (byte)(b - 0x20) : b;
            }
            foreach ((byte[] pattern, int unit, bool bigEndian) in _needles)
            {
                if (HasWholeId(text, pattern, unit, bigEndian))
                {
                    return true;
                }
            }
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(upper);
        }
    }

    // An occurrence of the pattern not followed by a character that would make the ID a longer, different one.
    private static bool HasWholeId(ReadOnlySpan<byte> text, byte[] pattern, int unit, bool bigEndian)
    {
        int start = 0;
        while (start <= text.Length - pattern.Length)
        {
            int at = text.Slice(start).IndexOf(pattern);
            if (at < 0)
            {
                return false;
            }
            int next = start + at + pattern.Length;
            if (next + unit > text.Length)
            {
                return true; // the file ends with the ID
            }
            int c = unit == 1 ? text[next] : bigEndian ? (text[next] << 8) | text[next + 1] : text[next] | (text[next + 1] << 8);
            if (!ContinuesId(c))
            {
                return true;
            }
            start += at + 1;
        }
        return false;
    }

    // After upper-casing: a letter, digit, '_' or '&' makes the text a longer ID than the one looked for.
    private static bool ContinuesId(int c) =>
        c is >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or '&';

    private static bool IsAscii(string s)
    {
        foreach (char c in s)
        {
            if (c >= 0x80)
            {
                return false;
            }
        }
        return true;
    }
}
