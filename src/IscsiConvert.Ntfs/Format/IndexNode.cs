using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>One entry of a directory index node: the file it names, its $FILE_NAME key, and the child node to its left.</summary>
internal sealed class IndexEntry
{
    /// <summary>The entry's first 8 bytes as stored: in $I30 the file reference (record number and sequence); in view
    /// indexes ($SII, $SDH, $O, $Q, $R) the data offset and length.</summary>
    public ulong Reference { get; init; }

    public long FileRecordNumber => (long)(Reference & 0xFFFF_FFFF_FFFFUL);

    /// <summary>The bytes between the entry header and the subnode VCN: the key (and a view index's data), padded to 8.</summary>
    public byte[] Body { get; init; } = Array.Empty<byte>();

    /// <summary>The key's length within <see cref="Body"/> (the header's key length field).</summary>
    public int KeyLength { get; init; }

    public FileNameAttribute? Key { get; init; }

    /// <summary>VCN of the child node holding keys smaller than this one, or -1.</summary>
    public long SubnodeVcn { get; init; } = -1;

    /// <summary>The last entry of a node carries no key, only (possibly) the rightmost child.</summary>
    public bool IsLast { get; init; }

    /// <summary>Where the entry was read on the volume, for messages naming damage; -1 for an entry made in memory.</summary>
    public long VolumeOffset { get; init; } = -1;

    /// <summary>Bytes this entry takes in a node.</summary>
    public int EncodedLength => IndexNode.EntryHeaderSize + Body.Length + (SubnodeVcn >= 0 ? 8 : 0);

    /// <summary>The same entry pointing to another child node (or none, with -1).</summary>
    public IndexEntry WithSubnode(long vcn) => new()
    {
        Reference = Reference,
        Body = Body,
        KeyLength = KeyLength,
        Key = Key,
        SubnodeVcn = vcn,
        IsLast = IsLast,
    };

    /// <summary>A directory ($I30) entry for a name: the key is the $FILE_NAME value.</summary>
    public static IndexEntry ForFileName(ulong fileReference, byte[] fileNameValue) => new()
    {
        Reference = fileReference,
        Body = Pad8(fileNameValue),
        KeyLength = fileNameValue.Length,
        Key = FileNameAttribute.TryReadFrom(fileNameValue) ?? throw new ArgumentException("Not a $FILE_NAME value.", nameof(fileNameValue)),
    };

    /// <summary>
    /// A view index entry ($SII, $SDH, ...): the header's first 8 bytes give where the data starts (from the entry's
    /// start) and how long it is; the key follows the header and the data follows the key, then any
    /// <paramref name="trailer"/> outside the data (the "II" of $SDH), padded to 8 together.
    /// </summary>
    public static IndexEntry ForView(byte[] key, byte[] data, byte[]? trailer = null)
    {
        trailer ??= Array.Empty<byte>();
        byte[] body = new byte[key.Length + data.Length + trailer.Length];
        key.CopyTo(body, 0);
        data.CopyTo(body, key.Length);
        trailer.CopyTo(body, key.Length + data.Length);
        ulong dataOffset = (ulong)(IndexNode.EntryHeaderSize + key.Length);
        return new IndexEntry
        {
            Reference = dataOffset | ((ulong)data.Length << 16),
            Body = Pad8(body),
            KeyLength = key.Length,
        };
    }

    /// <summary>The end entry of a node, optionally with the rightmost child.</summary>
    public static IndexEntry Last(long subnodeVcn = -1) => new() { IsLast = true, SubnodeVcn = subnodeVcn };

    private static byte[] Pad8(byte[] value)
    {
        byte[] padded = new byte[(value.Length + 7) & ~7];
        value.CopyTo(padded, 0);
        return padded;
    }
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
    public const int EntryHeaderSize = 0x10;
    private const int AllocatedSizeField = 0x08;
    private const int NodeFlagsField = 0x0C;

    /// <summary>Node flag: the entries have child nodes (an internal node; in $INDEX_ROOT, "large index").</summary>
    public const byte FlagHasChildren = 0x01;
    private const uint EntryHasSubnode = 0x01;
    private const uint EntryIsLast = 0x02;
    public const int HeaderSize = 0x10;

    // Characters no NTFS namespace allows in a name (Win32 and DOS forbid more; POSIX names may hold a backslash).
    private static readonly char[] ForbiddenNameCharacters = { '\0', '/' };

    /// <summary>Parses the node whose header starts at <paramref name="header"/> in <paramref name="buffer"/>. With
    /// <paramref name="fileNameKeys"/> (directories, $I30) every key must be a $FILE_NAME value; without (view indexes
    /// such as $SII and $SDH) keys stay opaque bytes in <see cref="IndexEntry.Body"/>.</summary>
    public static List<IndexEntry> ReadEntries(ReadOnlySpan<byte> buffer, int header, string structure, long baseOffset, string? filePath, bool fileNameKeys = true)
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
            if (!isLast && fileNameKeys)
            {
                key = FileNameAttribute.TryReadFrom(buffer.Slice(pos + EntryKeyOffset, keyLength))
                    ?? throw new CorruptDataException("NTFS", structure, baseOffset + pos + EntryKeyOffset, $"the $FILE_NAME key ({keyLength} bytes) is malformed", filePath);
                // Every NTFS namespace forbids an empty name, NUL and '/' (MS-FSCC, file names); such a key would list
                // an entry whose path names something else (an empty name's path is its directory's).
                if (key.Name.Length == 0 || key.Name.IndexOfAny(ForbiddenNameCharacters) >= 0)
                {
                    throw new CorruptDataException("NTFS", structure, baseOffset + pos + EntryKeyOffset,
                        key.Name.Length == 0 ? "the $FILE_NAME key has an empty name" : "the $FILE_NAME key's name holds NUL or '/'", filePath);
                }
            }
            int bodyLength = length - EntryHeaderSize - (hasSubnode ? 8 : 0);
            entries.Add(new IndexEntry
            {
                Reference = BinaryPrimitives.ReadUInt64LittleEndian(buffer.Slice(pos + EntryReferenceOffset)),
                Body = buffer.Slice(pos + EntryKeyOffset, bodyLength).ToArray(),
                KeyLength = isLast ? 0 : keyLength,
                Key = key,
                SubnodeVcn = hasSubnode ? BinaryPrimitives.ReadInt64LittleEndian(buffer.Slice(pos + length - 8)) : -1,
                IsLast = isLast,
                VolumeOffset = baseOffset + pos,
            });
            if (isLast)
            {
                return entries;
            }
            pos += length;
        }
    }

    /// <summary>Bytes a node header plus these entries take.</summary>
    public static int NodeSize(IReadOnlyList<IndexEntry> entries)
    {
        int size = HeaderSize;
        foreach (IndexEntry e in entries)
        {
            size += e.EncodedLength;
        }
        return size;
    }

    /// <summary>
    /// Writes a node header at <paramref name="header"/> in <paramref name="buffer"/>, its entries at
    /// <paramref name="entriesOffset"/> (relative to the header), and declares <paramref name="allocatedSize"/> bytes
    /// (from the header) as the node's room. The last entry must be an end entry.
    /// </summary>
    public static void WriteNode(Span<byte> buffer, int header, int entriesOffset, int allocatedSize, IReadOnlyList<IndexEntry> entries)
    {
        if (entries.Count == 0 || !entries[entries.Count - 1].IsLast)
        {
            throw new ArgumentException("An index node ends with an end entry.", nameof(entries));
        }
        bool hasChildren = entries[entries.Count - 1].SubnodeVcn >= 0;
        int pos = header + entriesOffset;
        foreach (IndexEntry e in entries)
        {
            if ((e.SubnodeVcn >= 0) != hasChildren)
            {
                throw new ArgumentException("Either every entry of a node has a child node or none has.", nameof(entries));
            }
            int length = e.EncodedLength;
            if (pos + length > header + allocatedSize)
            {
                throw new ArgumentException($"The entries ({NodeSize(entries)} bytes) overflow the node's {allocatedSize} bytes.", nameof(entries));
            }
            Span<byte> at = buffer.Slice(pos, length);
            at.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(at.Slice(EntryReferenceOffset), e.IsLast ? 0 : e.Reference);
            BinaryPrimitives.WriteUInt16LittleEndian(at.Slice(EntryLengthOffset), (ushort)length);
            BinaryPrimitives.WriteUInt16LittleEndian(at.Slice(EntryKeyLengthOffset), (ushort)e.KeyLength);
            uint flags = (e.IsLast ? EntryIsLast : 0) | (e.SubnodeVcn >= 0 ? EntryHasSubnode : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(at.Slice(EntryFlagsOffset), flags);
            e.Body.CopyTo(at.Slice(EntryKeyOffset));
            if (e.SubnodeVcn >= 0)
            {
                BinaryPrimitives.WriteInt64LittleEndian(at.Slice(length - 8), e.SubnodeVcn);
            }
            pos += length;
        }
        Span<byte> h = buffer.Slice(header, HeaderSize);
        h.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(EntriesOffsetField), (uint)entriesOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(UsedSizeField), (uint)(pos - header));
        BinaryPrimitives.WriteUInt32LittleEndian(h.Slice(AllocatedSizeField), (uint)allocatedSize);
        h[NodeFlagsField] = hasChildren ? FlagHasChildren : (byte)0;
    }
}
