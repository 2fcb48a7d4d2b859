using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// The header extensions after the version 3 header (qcow2.txt "Header extensions"): a list of
/// (type: u32, length: u32, data, padding to 8) ending with type 0 or the end of the first cluster.
/// Version 2 images may carry them too (qemu writes the backing format extension there as well).
/// </summary>
internal sealed class Qcow2HeaderExtensions
{
    public const uint EndType = 0x00000000;
    public const uint BackingFormatType = 0xE2792ACA;
    public const uint FeatureNameTableType = 0x6803F857;
    public const uint BitmapsType = 0x23852875;
    public const uint EncryptionHeaderType = 0x0537BE77;
    public const uint ExternalDataFileType = 0x44415441;

    private const int ExtensionHeaderSize = 8;
    private const int FeatureNameEntrySize = 48;
    private const int FeatureNameLength = 46;

    /// <summary>The backing file format name ("qcow2", "raw", …) or null.</summary>
    public string? BackingFormat { get; set; }

    /// <summary>The external data file name, or null (we do not support external data files).</summary>
    public string? ExternalDataFile { get; private set; }

    /// <summary>True when a persistent bitmaps extension is present.</summary>
    public bool HasBitmaps { get; private set; }

    /// <summary>Names of feature bits from the feature name table, keyed by (type, bit).</summary>
    public Dictionary<(int Type, int Bit), string> FeatureNames { get; } = new();

    /// <summary>The byte offset just past the end-of-extensions marker (or of the last extension).</summary>
    public int EndOffset { get; private set; }

    /// <summary>
    /// Parses the extensions in <paramref name="firstCluster"/> starting at <paramref name="start"/> (the header length),
    /// stopping at <paramref name="limit"/> (the backing file name offset if it lies in the first cluster).
    /// </summary>
    public static Qcow2HeaderExtensions ReadFrom(ReadOnlySpan<byte> firstCluster, int start, int limit, string? path)
    {
        var result = new Qcow2HeaderExtensions();
        int pos = start;
        limit = Math.Min(limit, firstCluster.Length);
        var seen = new HashSet<uint>();
        while (pos + ExtensionHeaderSize <= limit)
        {
            uint type = BinaryPrimitives.ReadUInt32BigEndian(firstCluster.Slice(pos));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(firstCluster.Slice(pos + 4));
            if (type == EndType)
            {
                pos += ExtensionHeaderSize;
                break;
            }
            if (length > (uint)(limit - pos - ExtensionHeaderSize))
            {
                throw new CorruptDataException(Qcow2Header.FormatName, $"header extension 0x{type:X8}", pos,
                    $"its length {length} runs past the end of the header area ({limit})", path);
            }
            if (!seen.Add(type))
            {
                throw new CorruptDataException(Qcow2Header.FormatName, $"header extension 0x{type:X8}", pos, "it appears twice", path);
            }
            ReadOnlySpan<byte> data = firstCluster.Slice(pos + ExtensionHeaderSize, (int)length);
            switch (type)
            {
                case BackingFormatType:
                    result.BackingFormat = Encoding.UTF8.GetString(data.ToArray());
                    break;
                case BitmapsType:
                    result.HasBitmaps = true;
                    break;
                case ExternalDataFileType:
                    result.ExternalDataFile = Encoding.UTF8.GetString(data.ToArray());
                    break;
                case FeatureNameTableType:
                    for (int i = 0; i + FeatureNameEntrySize <= data.Length; i += FeatureNameEntrySize)
                    {
                        string name = Encoding.UTF8.GetString(data.Slice(i + 2, FeatureNameLength).ToArray()).TrimEnd('\0');
                        result.FeatureNames[(data[i], data[i + 1])] = name;
                    }
                    break;
                default:
                    // Bitmaps, encryption pointer and unknown extensions: safe to ignore when only reading; writers clear
                    // the autoclear bits (bitmaps) before changing data.
                    break;
            }
            pos += ExtensionHeaderSize + (int)((length + 7) & ~7u);
        }
        result.EndOffset = Math.Min(pos, limit);
        return result;
    }

    /// <summary>The bytes of the extensions we write: the backing format (if any) and the end marker.</summary>
    public byte[] ToBytes()
    {
        var list = new List<byte>();
        if (BackingFormat is not null)
        {
            byte[] name = Encoding.UTF8.GetBytes(BackingFormat);
            AppendExtension(list, BackingFormatType, name);
        }
        AppendExtension(list, EndType, Array.Empty<byte>());
        return list.ToArray();
    }

    private static void AppendExtension(List<byte> list, uint type, byte[] data)
    {
        byte[] head = new byte[ExtensionHeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(head, type);
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), (uint)data.Length);
        list.AddRange(head);
        list.AddRange(data);
        int pad = (8 - (data.Length % 8)) % 8;
        for (int i = 0; i < pad; i++)
        {
            list.Add(0);
        }
    }
}
