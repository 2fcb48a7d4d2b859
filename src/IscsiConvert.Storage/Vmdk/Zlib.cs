using System;
using System.IO;
using System.IO.Compression;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>
/// The zlib (RFC 1950) wrapping of deflate that streamOptimized grains use: a two-byte header, raw deflate, and an
/// Adler-32 trailer. Written by hand because netstandard2.0 has only the raw <see cref="DeflateStream"/>.
/// </summary>
internal static class Zlib
{
    /// <summary>Inflates <paramref name="compressed"/> into <paramref name="output"/>; returns the bytes produced.
    /// Throws <see cref="InvalidDataException"/> for a bad header, bad deflate data or more output than fits.</summary>
    public static int Decompress(byte[] compressed, int length, Span<byte> output)
    {
        if (length < 2)
        {
            throw new InvalidDataException("the zlib stream is shorter than its header");
        }
        byte cmf = compressed[0];
        byte flg = compressed[1];
        if ((cmf & 0x0F) != 8 || ((cmf << 8) | flg) % 31 != 0)
        {
            throw new InvalidDataException($"bad zlib header 0x{cmf:X2}{flg:X2}");
        }
        if ((flg & 0x20) != 0)
        {
            throw new InvalidDataException("the zlib stream needs a preset dictionary");
        }
        using var source = new MemoryStream(compressed, 2, length - 2, writable: false);
        using var inflater = new DeflateStream(source, CompressionMode.Decompress);
        int total = 0;
        byte[] chunk = new byte[16384];
        while (true)
        {
            int n = inflater.Read(chunk, 0, chunk.Length);
            if (n == 0)
            {
                return total;
            }
            if (n > output.Length - total)
            {
                throw new InvalidDataException($"the grain inflates to more than {output.Length} bytes");
            }
            chunk.AsSpan(0, n).CopyTo(output.Slice(total));
            total += n;
        }
    }

    /// <summary>Compresses <paramref name="data"/> into a new zlib stream.</summary>
    public static byte[] Compress(ReadOnlySpan<byte> data)
    {
        using var target = new MemoryStream();
        target.WriteByte(0x78); // deflate, 32 KiB window
        target.WriteByte(0x01); // fastest level; (0x7801 % 31 == 0)
        using (var deflater = new DeflateStream(target, CompressionLevel.Fastest, leaveOpen: true))
        {
            byte[] copy = data.ToArray();
            deflater.Write(copy, 0, copy.Length);
        }
        uint adler = Adler32(data);
        target.WriteByte((byte)(adler >> 24));
        target.WriteByte((byte)(adler >> 16));
        target.WriteByte((byte)(adler >> 8));
        target.WriteByte((byte)adler);
        return target.ToArray();
    }

    private static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint Mod = 65521;
        uint a = 1;
        uint b = 0;
        while (data.Length > 0)
        {
            // 5552 is the largest run for which b cannot overflow 32 bits before the modulo.
            int n = Math.Min(5552, data.Length);
            for (int i = 0; i < n; i++)
            {
                a += data[i];
                b += a;
            }
            a %= Mod;
            b %= Mod;
            data = data.Slice(n);
        }
        return (b << 16) | a;
    }
}
