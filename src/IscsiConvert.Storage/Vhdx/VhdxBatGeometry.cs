using System;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// How payload and sector bitmap entries interleave in the BAT: after every <see cref="ChunkRatio"/> payload entries comes
/// the entry of the sector bitmap block that covers them. ChunkRatio = 2^23 * logical sector size / block size.
/// </summary>
internal sealed class VhdxBatGeometry
{
    public VhdxBatGeometry(long virtualDiskSize, long blockSize, int logicalSectorSize, bool hasParent)
    {
        BlockSize = blockSize;
        LogicalSectorSize = logicalSectorSize;
        ChunkRatio = VhdxFormat.SectorsPerBitmapBlock * logicalSectorSize / blockSize;
        DataBlockCount = (virtualDiskSize + blockSize - 1) / blockSize;
        SectorBitmapBlockCount = (DataBlockCount + ChunkRatio - 1) / ChunkRatio;
        // A differencing disk needs a bitmap entry after every chunk, the last one included; other disks end with the
        // last payload entry.
        TotalEntries = hasParent
            ? SectorBitmapBlockCount * (ChunkRatio + 1)
            : DataBlockCount + (DataBlockCount - 1) / ChunkRatio;
    }

    public long BlockSize { get; }
    public int LogicalSectorSize { get; }
    public long ChunkRatio { get; }
    public long DataBlockCount { get; }
    public long SectorBitmapBlockCount { get; }
    public long TotalEntries { get; }

    /// <summary>Bytes of BAT on disk.</summary>
    public long ByteLength => TotalEntries * 8;

    /// <summary>Sectors of one payload block, and so bits of its part of a sector bitmap.</summary>
    public long SectorsPerBlock => BlockSize / LogicalSectorSize;

    public long PayloadIndex(long block) => block + block / ChunkRatio;

    public long BitmapIndex(long chunk) => chunk * (ChunkRatio + 1) + ChunkRatio;

    /// <summary>True when BAT index <paramref name="index"/> holds a sector bitmap entry.</summary>
    public bool IsBitmapIndex(long index) => index % (ChunkRatio + 1) == ChunkRatio;

    /// <summary>Where the bits of <paramref name="block"/> start inside its chunk's sector bitmap block, in bytes.</summary>
    public long BitmapByteOffset(long block) => block % ChunkRatio * SectorsPerBlock / 8;

    public static void Validate(long blockSize, int logicalSectorSize)
    {
        if (!VhdxFormat.IsPowerOfTwo(blockSize) || blockSize < VhdxFormat.MinBlockSize || blockSize > VhdxFormat.MaxBlockSize)
        {
            throw new ArgumentException($"A VHDX block size must be a power of two from 1 MiB to 256 MiB, not {blockSize}.");
        }
        if (logicalSectorSize != 512 && logicalSectorSize != 4096)
        {
            throw new ArgumentException($"A VHDX logical sector size must be 512 or 4096, not {logicalSectorSize}.");
        }
    }
}
