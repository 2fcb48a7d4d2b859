using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>An "INDX" record of $INDEX_ALLOCATION: fixups, its own VCN, then an index node.</summary>
internal static class IndexRecord
{
    private const int VcnOffset = 0x10;
    private const int NodeHeaderOffset = 0x18;
    private const int UsaOffset = 0x28;
    private static readonly byte[] Signature = { (byte)'I', (byte)'N', (byte)'D', (byte)'X' };

    public static List<IndexEntry> ReadFrom(Span<byte> data, long expectedVcn, string structure, long volumeOffset, string? filePath, bool fileNameKeys = true)
    {
        if (!data.Slice(0, 4).SequenceEqual(Signature))
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset, "the index record does not start with \"INDX\"", filePath);
        }
        UpdateSequence.Apply(data, structure, volumeOffset, filePath);
        long vcn = BinaryPrimitives.ReadInt64LittleEndian(data.Slice(VcnOffset));
        if (vcn != expectedVcn)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + VcnOffset, $"the record says it is VCN {vcn}, but it was reached as VCN {expectedVcn}", filePath);
        }
        return IndexNode.ReadEntries(data, NodeHeaderOffset, structure, volumeOffset, filePath, fileNameKeys);
    }

    /// <summary>The node's allocated size in an INDX record of <paramref name="recordSize"/> bytes: everything from the
    /// node header to the end of the record (node header, update sequence array and entries).</summary>
    public static int Capacity(int recordSize) => recordSize - NodeHeaderOffset;

    /// <summary>Where the first entry starts, counted from the node header: after the update sequence array, 8-aligned
    /// (0x28 for 4096-byte records, as Windows writes it).</summary>
    public static int EntriesOffset(int recordSize) => AttributeRecord.Align8(UsaOffset + (2 * ((recordSize / UpdateSequence.Stride) + 1))) - NodeHeaderOffset;

    /// <summary>Bytes for entries in an INDX record: the sum of the entries' lengths (end entry included) may not exceed it.</summary>
    public static int RoomForEntries(int recordSize) => recordSize - NodeHeaderOffset - EntriesOffset(recordSize);

    /// <summary>Encodes an INDX record at <paramref name="vcn"/> holding <paramref name="entries"/>, fixups applied.</summary>
    public static byte[] Encode(int recordSize, long vcn, IReadOnlyList<IndexEntry> entries, ushort updateSequenceNumber)
    {
        byte[] data = new byte[recordSize];
        Signature.CopyTo(data, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(4), UsaOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(6), (ushort)((recordSize / UpdateSequence.Stride) + 1));
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(VcnOffset), vcn);
        IndexNode.WriteNode(data, NodeHeaderOffset, EntriesOffset(recordSize), recordSize - NodeHeaderOffset, entries);
        UpdateSequence.Protect(data, updateSequenceNumber);
        return data;
    }
}
