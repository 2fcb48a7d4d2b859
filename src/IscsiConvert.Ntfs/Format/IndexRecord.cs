using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>An "INDX" record of $INDEX_ALLOCATION: fixups, its own VCN, then an index node.</summary>
internal static class IndexRecord
{
    private const int VcnOffset = 0x10;
    private const int NodeHeaderOffset = 0x18;
    private static readonly byte[] Signature = { (byte)'I', (byte)'N', (byte)'D', (byte)'X' };

    public static List<IndexEntry> ReadFrom(Span<byte> data, long expectedVcn, string structure, long volumeOffset, string? filePath)
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
        return IndexNode.ReadEntries(data, NodeHeaderOffset, structure, volumeOffset, filePath);
    }
}
