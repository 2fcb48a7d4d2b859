using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Vhd;

/// <summary>Field encodings shared by the VHD footer and dynamic header: checksum, timestamps, identifiers, four-character codes.</summary>
internal static class VhdFields
{
    /// <summary>The format name used in exception messages.</summary>
    public const string FormatName = "VHD";

    /// <summary>VHD timestamps count seconds from 2000-01-01 00:00:00 UTC.</summary>
    private static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The ones' complement of the byte sum of <paramref name="structure"/>, skipping the four checksum bytes at
    /// <paramref name="checksumOffset"/> (the footer and the dynamic header use the same rule).
    /// </summary>
    public static uint Checksum(ReadOnlySpan<byte> structure, int checksumOffset)
    {
        uint sum = 0;
        for (int i = 0; i < structure.Length; i++)
        {
            if (i >= checksumOffset && i < checksumOffset + 4)
            {
                continue;
            }
            sum += structure[i];
        }
        return ~sum;
    }

    /// <summary>Reads the stored checksum of a footer or dynamic header and throws unless it matches the bytes.</summary>
    public static uint ReadVerifiedChecksum(ReadOnlySpan<byte> source, int checksumOffset, string structure, long fileOffset, string? path)
    {
        uint stored = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(checksumOffset));
        uint actual = Checksum(source, checksumOffset);
        if (stored != actual)
        {
            throw new CorruptDataException(FormatName, structure, fileOffset,
                $"checksum mismatch: stored 0x{stored:X8}, computed 0x{actual:X8}", path);
        }
        return stored;
    }

    /// <summary>Seconds since 2000-01-01 UTC, clamped to what 32 bits hold.</summary>
    public static uint ToTimestamp(DateTimeOffset time)
    {
        double seconds = Math.Floor((time.ToUniversalTime() - Epoch).TotalSeconds);
        if (seconds <= 0)
        {
            return 0;
        }
        return seconds >= uint.MaxValue ? uint.MaxValue : (uint)seconds;
    }

    /// <summary>The moment a VHD timestamp stands for.</summary>
    public static DateTimeOffset FromTimestamp(uint seconds) => Epoch.AddSeconds(seconds);

    /// <summary>Reads a GUID stored with all fields big-endian (RFC 4122 byte order), as VHD stores identifiers.</summary>
    public static Guid ReadGuid(ReadOnlySpan<byte> source)
    {
        byte[] b = source.Slice(0, 16).ToArray();
        Array.Reverse(b, 0, 4);
        Array.Reverse(b, 4, 2);
        Array.Reverse(b, 6, 2);
        return new Guid(b);
    }

    /// <summary>Writes a GUID with all fields big-endian (RFC 4122 byte order).</summary>
    public static void WriteGuid(Guid value, Span<byte> destination)
    {
        byte[] b = value.ToByteArray();
        Array.Reverse(b, 0, 4);
        Array.Reverse(b, 4, 2);
        Array.Reverse(b, 6, 2);
        b.CopyTo(destination);
    }

    /// <summary>A four-character code as a big-endian integer ("W2ku" → 0x57326B75).</summary>
    public static uint FourCC(string code)
    {
        if (code.Length != 4)
        {
            throw new ArgumentException("A four-character code has four characters.", nameof(code));
        }
        return ((uint)code[0] << 24) | ((uint)code[1] << 16) | ((uint)code[2] << 8) | code[3];
    }

    /// <summary>A four-character code as text, with control characters shown as '?' (for messages and comparisons).</summary>
    public static string FourCCText(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        char[] c = new char[4];
        for (int i = 0; i < 4; i++)
        {
            c[i] = b[i] >= 0x20 && b[i] < 0x7F ? (char)b[i] : (b[i] == 0 ? '\0' : '?');
        }
        return new string(c);
    }
}
