using System;
using System.Buffers.Binary;
using System.IO;

namespace IscsiConvert.Tests;

/// <summary>
/// XPRESS-compressed data made by an independent compressor: wimlib's. A WIM resource (non-solid) is laid out as a
/// WOF file's WofCompressedData stream is — a table of chunk starts, then chunks compressed with XPRESS Huffman or
/// stored — so the resource of a one-file WIM captured with the chunk size wanted is that stream. The WIM is parsed
/// only as far as its header and lookup table ([MS-WIM]): the lookup table's entry whose original size is the file's.
/// </summary>
public static class WimXpress
{
    private const int LookupTableOffset = 0x30;
    private const int LookupEntrySize = 50;
    private const byte FlagMetadata = 0x02;
    private const byte FlagCompressed = 0x04;

    /// <summary>The chunk table and chunks of <paramref name="content"/> compressed with XPRESS in chunks of <paramref name="chunkSize"/> bytes.</summary>
    public static byte[] Compress(string scratchFolder, byte[] content, int chunkSize)
    {
        string source = Path.Combine(scratchFolder, "wim-source-" + Path.GetRandomFileName());
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Combine(source, "file"), content);
        string wim = source + ".wim";
        Oracle.RunChecked("wimcapture", source, wim, "--compress=xpress", "--chunk-size=" + chunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        byte[] bytes = File.ReadAllBytes(wim);
        (long tableSize, _, long tableOffset, _) = ResourceHeader(bytes, LookupTableOffset);
        for (long at = tableOffset; at + LookupEntrySize <= tableOffset + tableSize; at += LookupEntrySize)
        {
            (long size, byte flags, long offset, long original) = ResourceHeader(bytes, (int)at);
            if (original == content.Length && (flags & FlagMetadata) == 0)
            {
                if ((flags & FlagCompressed) == 0)
                {
                    throw new InvalidOperationException("wimlib stored the content uncompressed; give it compressible content");
                }
                return bytes.AsSpan((int)offset, (int)size).ToArray();
            }
        }
        throw new InvalidOperationException($"no resource of {content.Length} bytes in the WIM wimlib made");
    }

    // RESHDR_DISK_SHORT: a 7-byte stored size and a flags byte, the offset, the original size.
    private static (long Size, byte Flags, long Offset, long Original) ResourceHeader(byte[] wim, int at)
    {
        long sizeAndFlags = BinaryPrimitives.ReadInt64LittleEndian(wim.AsSpan(at));
        return (sizeAndFlags & 0x00FF_FFFF_FFFF_FFFF, (byte)(sizeAndFlags >> 56), BinaryPrimitives.ReadInt64LittleEndian(wim.AsSpan(at + 8)), BinaryPrimitives.ReadInt64LittleEndian(wim.AsSpan(at + 16)));
    }
}
