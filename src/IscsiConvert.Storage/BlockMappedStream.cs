using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage;

/// <summary>
/// The shape shared by every sparse container (dynamic VHD, VHDX, hosted-sparse VMDK, QCOW2): the virtual disk is cut
/// into equal blocks, and each block is either stored somewhere in the file or not. This base splits reads and writes
/// at block boundaries and merges allocated blocks into extents; a format supplies the per-block operations.
/// </summary>
internal abstract class BlockMappedStream : SparseStream
{
    protected BlockMappedStream(long length, long blockSize)
    {
        if (blockSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize));
        }
        VirtualLength = length;
        BlockSize = blockSize;
    }

    /// <summary>Bytes per block.</summary>
    protected long BlockSize { get; }

    /// <summary>The virtual disk size.</summary>
    protected long VirtualLength { get; }

    /// <inheritdoc/>
    public override long Length => VirtualLength;

    /// <summary>Reads part of one block; <paramref name="offsetInBlock"/> + buffer length never crosses the block end.</summary>
    protected abstract void ReadFromBlock(long blockIndex, long offsetInBlock, Span<byte> buffer);

    /// <summary>Writes part of one block, allocating it if needed.</summary>
    protected abstract void WriteToBlock(long blockIndex, long offsetInBlock, ReadOnlySpan<byte> data);

    /// <summary>Lists the allocated extents inside one block, relative to the disk; by default the whole block if <see cref="IsBlockAllocated"/>.</summary>
    protected virtual IEnumerable<StreamExtent> GetBlockExtents(long blockIndex)
    {
        if (IsBlockAllocated(blockIndex))
        {
            long start = blockIndex * BlockSize;
            yield return new StreamExtent(start, Math.Min(BlockSize, VirtualLength - start));
        }
    }

    /// <summary>True when the block (or, for differencing disks, its parent's copy) holds data.</summary>
    protected abstract bool IsBlockAllocated(long blockIndex);

    /// <inheritdoc/>
    protected override void ReadCore(long position, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            long block = position / BlockSize;
            long inBlock = position % BlockSize;
            int n = (int)Math.Min(buffer.Length, BlockSize - inBlock);
            ReadFromBlock(block, inBlock, buffer.Slice(0, n));
            position += n;
            buffer = buffer.Slice(n);
        }
    }

    /// <inheritdoc/>
    protected override void WriteCore(long position, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            long block = position / BlockSize;
            long inBlock = position % BlockSize;
            int n = (int)Math.Min(data.Length, BlockSize - inBlock);
            WriteToBlock(block, inBlock, data.Slice(0, n));
            position += n;
            data = data.Slice(n);
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(VirtualLength, start + length);
        if (start >= end)
        {
            return Array.Empty<StreamExtent>();
        }
        return ExtentMath.Merge(EnumerateClipped(start, end));
    }

    private IEnumerable<StreamExtent> EnumerateClipped(long start, long end)
    {
        for (long block = start / BlockSize; block * BlockSize < end; block++)
        {
            foreach (StreamExtent e in GetBlockExtents(block))
            {
                long s = Math.Max(e.Start, start);
                long t = Math.Min(e.End, end);
                if (t > s)
                {
                    yield return new StreamExtent(s, t - s);
                }
            }
        }
    }
}
