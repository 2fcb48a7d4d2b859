using System;
using System.IO;
using System.IO.Compression;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// Inflates compressed clusters. With the default compression type (0, "zlib") qemu stores a raw deflate stream
/// (no zlib header or checksum), which <see cref="DeflateStream"/> reads as is. Decompression stops once a whole
/// cluster has been produced; the tail of the last sector may belong to the next compressed cluster.
/// </summary>
internal static class Qcow2Compression
{
    /// <summary>Inflates <paramref name="compressed"/> into exactly <paramref name="cluster"/>.Length bytes or throws.</summary>
    public static void Inflate(byte[] compressed, int compressedLength, Span<byte> cluster, Qcow2File file, long entryOffset)
    {
        try
        {
            using var input = new MemoryStream(compressed, 0, compressedLength, writable: false);
            using var inflater = new DeflateStream(input, CompressionMode.Decompress);
            int total = 0;
            byte[] chunk = new byte[Math.Min(cluster.Length, 1 << 16)];
            while (total < cluster.Length)
            {
                int n = inflater.Read(chunk, 0, Math.Min(chunk.Length, cluster.Length - total));
                if (n == 0)
                {
                    break;
                }
                chunk.AsSpan(0, n).CopyTo(cluster.Slice(total));
                total += n;
            }
            if (total != cluster.Length)
            {
                throw file.Corrupt("compressed cluster", entryOffset, $"the deflate data ended after {total} of {cluster.Length} bytes");
            }
        }
        catch (InvalidDataException ex)
        {
            throw new CorruptDataException(Qcow2Header.FormatName, "compressed cluster", entryOffset, $"the deflate data is invalid: {ex.Message}", file.Path, ex);
        }
    }
}
