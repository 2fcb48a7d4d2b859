using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>One entry of a directory index node: the file it names, its $FILE_NAME key, and the child node to its left.</summary>
internal sealed class IndexEntry
{
    public long FileRecordNumber { get; init; }

    public FileNameAttribute? Key { get; init; }

    /// <summary>VCN of the child node holding keys smaller than this one, or -1.</summary>
    public long SubnodeVcn { get; init; } = -1;

    /// <summary>The last entry of a node carries no key, only (possibly) the rightmost child.</summary>
    public bool IsLast { get; init; }
}

/// <summary>
/// The index node header shared by $INDEX_ROOT and INDX records, and the entries behind it.
/// </summary>
internal static class IndexNode
{
    private const int EntriesOffsetField = 0x00;
    private const int UsedSizeField = 0x04;
    private const int EntryReferenceOffset = 0x00;
    private const int EntryLengthOffset = 0x08;
    private const int EntryKeyLengthOffset = 0x0A;
    private const int EntryFlagsOffset = 0x0C;
    private const int EntryKeyOffset = 0x10;
    private const int EntryHeaderSize = 0x10;
    private const uint EntryHasSubnode = 0x01;
    private const uint EntryIsLast = 0x02;
    public const int HeaderSize = 0x10;

    /// <summary>Parses the node whose header starts at <paramref name="header"/> in <paramref name="buffer"/>.</summary>
    public static List<IndexEntry> ReadEntries(ReadOnlySpan<byte> buffer, int header, string structure, long baseOffset, string? filePath)
    {
        if (header > buffer.Length - HeaderSize)
        {
            throw new CorruptDataException("NTFS", structure, baseOffset + header, "the index node header runs past the buffer", filePath);
        }
        long first = header + (long)BinaryPrimitives.ReadUInt32LittleEndian(buffer.Slice(header + EntriesOffsetField));
        long end = header + (long)BinaryPrimitives.ReadUInt32LittleEndian(buffer.Slice(header + UsedSizeField));
        if (first < header + HeaderSize || end > buffer.Length || first > end)
        {
            throw new CorruptDataException("NTFS", structure, baseOffset + header,
                $"index entries {first - header}..{end - header} fall outside the node's {buffer.Length - header} bytes", filePath);
        }
        var entries = new List<IndexEntry>();
        int pos = (int)first;
        while (true)
        {
            if (pos > end - EntryHeaderSize)
            {
                throw new CorruptDataException("NTFS", structure, baseOffset + pos, "the index node ends without a last entry", filePath);
            }
            int length = BinaryPrimitives.ReadUInt16LittleEndian(buffer.Slice(pos + EntryLengthOffset));
            int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer.Slice(pos + EntryKeyLengthOffset));
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(buffer.Slice(pos + EntryFlagsOffset));
            bool hasSubnode = (flags & EntryHasSubnode) != 0;
            bool isLast = (flags & EntryIsLast) != 0;
            int minimum = EntryHeaderSize + (isLast ? 0 : keyLength) + (hasSubnode ? 8 : 0);
            if (length < minimum || length > end - pos || (length & 7) != 0)
            {
                throw new CorruptDataException("NTFS", structure, baseOffset + pos + EntryLengthOffset,
                    $"index entry length {length} (key {keyLength}) overflows the node or is too short", filePath);
            }
            FileNameAttribute? key = null;
            if (!isLast)
            {
                key = FileNameAttribute.TryReadFrom(buffer.Slice(pos + EntryKeyOffset, keyLength))
                    ?? throw new CorruptDataException("NTFS", structure, baseOffset + pos + EntryKeyOffset, $"the $FILE_NAME key ({keyLength} bytes) is malformed", filePath);
            }
            entries.Add(new IndexEntry
            {
                FileRecordNumber = (long)(BinaryPrimitives.ReadUInt64LittleEndian(buffer.Slice(pos + EntryReferenceOffset)) & 0xFFFF_FFFF_FFFFUL),
                Key = key,
                SubnodeVcn = hasSubnode ? BinaryPrimitives.ReadInt64LittleEndian(buffer.Slice(pos + length - 8)) : -1,
                IsLast = isLast,
            });
            if (isLast)
            {
                return entries;
            }
            pos += length;
        }
    }
}
