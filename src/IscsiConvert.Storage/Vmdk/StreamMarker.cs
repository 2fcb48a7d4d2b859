using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>
/// A streamOptimized marker. A grain marker is (lba: uint64, size: uint32) followed directly by <c>size</c> bytes of
/// compressed grain. A metadata marker fills one sector: (numSectors: uint64, size = 0: uint32, type: uint32), and the
/// metadata (grain table, grain directory, footer) follows in the next sector; the end-of-stream marker is all zeros.
/// </summary>
internal readonly struct StreamMarker
{
    public const int GrainHeaderSize = 12;
    public const uint TypeEndOfStream = 0;
    public const uint TypeGrainTable = 1;
    public const uint TypeGrainDirectory = 2;
    public const uint TypeFooter = 3;

    private const int ValueOffset = 0;
    private const int SizeOffset = 8;
    private const int TypeOffset = 12;

    public StreamMarker(ulong value, uint size, uint type)
    {
        Value = value;
        DataSize = size;
        Type = type;
    }

    /// <summary>For a grain marker the grain's first sector within the extent; for metadata the sectors that follow.</summary>
    public ulong Value { get; }

    /// <summary>Bytes of compressed data after a grain marker; 0 for metadata markers.</summary>
    public uint DataSize { get; }

    /// <summary>The metadata type (meaningful only when <see cref="DataSize"/> is 0).</summary>
    public uint Type { get; }

    public bool IsMetadata => DataSize == 0;

    public static StreamMarker ReadFrom(ReadOnlySpan<byte> data) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(ValueOffset)),
        BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(SizeOffset)),
        data.Length >= 16 ? BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(TypeOffset)) : 0);

    /// <summary>Writes a grain marker's 12 bytes.</summary>
    public static void WriteGrain(Span<byte> data, ulong lba, uint size)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(ValueOffset), lba);
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(SizeOffset), size);
    }

    /// <summary>Writes a whole metadata marker sector.</summary>
    public static void WriteMetadata(Span<byte> sector, ulong numSectors, uint type)
    {
        sector.Slice(0, 512).Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(sector.Slice(ValueOffset), numSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(TypeOffset), type);
    }
}
