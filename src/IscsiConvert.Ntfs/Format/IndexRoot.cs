using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>$INDEX_ROOT header: what is indexed, how it is collated, and the size of the INDX records below it.</summary>
internal sealed class IndexRoot
{
    private const int AttributeTypeOffset = 0x00;
    private const int CollationRuleOffset = 0x04;
    private const int IndexRecordSizeOffset = 0x08;
    public const int NodeHeaderOffset = 0x10;

    public const uint CollationFileName = 1;

    public uint IndexedAttributeType { get; private set; }

    public uint CollationRule { get; private set; }

    public int IndexRecordSize { get; private set; }

    public static IndexRoot ReadFrom(ReadOnlySpan<byte> value, string structure, long offset, string? filePath)
    {
        if (value.Length < NodeHeaderOffset + IndexNode.HeaderSize)
        {
            throw new CorruptDataException("NTFS", structure, offset, $"$INDEX_ROOT is {value.Length} bytes, shorter than its headers", filePath);
        }
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(IndexRecordSizeOffset));
        if (size < UpdateSequence.Stride || size > 64 * 1024 || (size & (size - 1)) != 0)
        {
            throw new CorruptDataException("NTFS", structure, offset + IndexRecordSizeOffset, $"index record size {size} is not a power of two from 512 to 65536", filePath);
        }
        return new IndexRoot
        {
            IndexedAttributeType = BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(AttributeTypeOffset)),
            CollationRule = BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(CollationRuleOffset)),
            IndexRecordSize = (int)size,
        };
    }

    private const int ClustersPerRecordOffset = 0x0C;

    /// <summary>
    /// The "clusters per index record" byte of $INDEX_ROOT: clusters when a record spans whole clusters, else the
    /// number of 512-byte blocks — what Windows writes (8 on its 2 MiB-cluster volume in the corpus). Unlike the boot
    /// sector's field, it is never a negative power of two.
    /// </summary>
    public static sbyte ClustersPerIndexRecord(int indexRecordSize, long clusterSize) => (sbyte)(indexRecordSize >= clusterSize
        ? indexRecordSize / clusterSize
        : indexRecordSize / UpdateSequence.Stride);

    /// <summary>
    /// Encodes an $INDEX_ROOT value: header, node header and entries (the node's allocated size is its used size, as
    /// Windows writes it). <paramref name="clustersPerIndexRecord"/> is the boot sector's value.
    /// </summary>
    public static byte[] Encode(uint indexedType, uint collationRule, int indexRecordSize, sbyte clustersPerIndexRecord, IReadOnlyList<IndexEntry> entries)
    {
        int nodeSize = IndexNode.NodeSize(entries);
        byte[] value = new byte[NodeHeaderOffset + nodeSize];
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(AttributeTypeOffset), indexedType);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(CollationRuleOffset), collationRule);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(IndexRecordSizeOffset), (uint)indexRecordSize);
        value[ClustersPerRecordOffset] = unchecked((byte)clustersPerIndexRecord);
        IndexNode.WriteNode(value, NodeHeaderOffset, IndexNode.HeaderSize, nodeSize, entries);
        return value;
    }
}
