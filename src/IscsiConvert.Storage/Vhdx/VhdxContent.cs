using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// The virtual disk of a VHDX file: payload blocks located through the BAT, sector bitmaps for differencing disks.
/// </summary>
/// <remarks>
/// Crash safety without the log: every metadata change is ordered so that the on-disk image is valid at every
/// instant, holding the old or the new data. A new block is placed past the end of the file, its data written and
/// flushed, and only then is the BAT entry (a single 8-byte write within one sector) pointed at it and flushed. For
/// differencing disks a new block first becomes partially present with no bits set (so it still reads as the parent),
/// and then the bits for the data already written and flushed are set. A crash before the BAT write leaves an unreferenced tail on the file and the old
/// data; after it, the new data. docs/formats/vhdx.md explains why this was chosen over writing through the log.
/// </remarks>
internal sealed class VhdxContent : BlockMappedStream
{
    private readonly VhdxFile _file;
    private readonly VhdxBatGeometry _geometry;
    private readonly ulong[] _bat;
    private readonly long _batOffset;
    private readonly bool _differencing;
    private readonly SparseStream? _parent;
    private readonly bool _writable;
    private readonly int _sectorSize;
    private long _fileEnd;

    public VhdxContent(VhdxFile file, VhdxBatGeometry geometry, ulong[] bat, long batOffset, VhdxMetadata metadata, SparseStream? parent, long fileEnd, bool writable)
        : base(metadata.VirtualDiskSize, geometry.BlockSize)
    {
        _file = file;
        _geometry = geometry;
        _bat = bat;
        _batOffset = batOffset;
        _differencing = metadata.HasParent;
        _parent = parent;
        _writable = writable;
        _sectorSize = metadata.LogicalSectorSize;
        _fileEnd = VhdxFormat.AlignUp(Math.Max(fileEnd, file.Length), VhdxFormat.MiB);
    }

    /// <summary>Runs before the first change to the file (the header update of a write session).</summary>
    public Action? BeforeFirstWrite { get; set; }

    /// <summary>Bytes of payload blocks stored in this file.</summary>
    public long StoredBytes
    {
        get
        {
            long total = 0;
            for (long b = 0; b < _geometry.DataBlockCount; b++)
            {
                if (IsPresent(State(b)))
                {
                    total += Math.Min(BlockSize, VirtualLength - b * BlockSize);
                }
            }
            return total;
        }
    }

    /// <inheritdoc/>
    protected override bool IsWritable => _writable;

    private PayloadBlockState State(long block) => (PayloadBlockState)VhdxBatEntry.State(_bat[_geometry.PayloadIndex(block)]);

    private long BlockOffset(long block) => VhdxBatEntry.FileOffset(_bat[_geometry.PayloadIndex(block)]);

    private static bool IsPresent(PayloadBlockState s) => s is PayloadBlockState.FullyPresent or PayloadBlockState.PartiallyPresent;

    /// <summary>True when reads of a block without data of its own go to the parent (differencing, not zeroed).</summary>
    private bool Inherits(PayloadBlockState s) => _differencing && s is PayloadBlockState.NotPresent or PayloadBlockState.Undefined;

    /// <inheritdoc/>
    protected override bool IsBlockAllocated(long blockIndex) => IsPresent(State(blockIndex));

    /// <inheritdoc/>
    protected override IEnumerable<StreamExtent> GetBlockExtents(long blockIndex)
    {
        PayloadBlockState state = State(blockIndex);
        long start = blockIndex * BlockSize;
        long length = Math.Min(BlockSize, VirtualLength - start);
        if (state == PayloadBlockState.FullyPresent)
        {
            return new[] { new StreamExtent(start, length) };
        }
        var own = new List<StreamExtent>();
        if (state == PayloadBlockState.PartiallyPresent)
        {
            own.AddRange(BitmapRuns(blockIndex, 0, length / _sectorSize, wantSet: true));
        }
        if (_parent is not null && (state == PayloadBlockState.PartiallyPresent || Inherits(state)))
        {
            return ExtentMath.Union(own, _parent.GetExtents(start, length));
        }
        return own;
    }

    /// <summary>Runs of sectors [first, first+count) of a block whose bitmap bit equals <paramref name="wantSet"/>, as disk extents.</summary>
    private IEnumerable<StreamExtent> BitmapRuns(long block, long first, long count, bool wantSet)
    {
        byte[] bits = ReadBitmap(block, first, count, out int bitShift);
        long runStart = -1;
        long blockStart = block * BlockSize;
        for (long k = 0; k <= count; k++)
        {
            bool match = k < count && ((bits[(k + bitShift) >> 3] >> (int)((k + bitShift) & 7)) & 1) == (wantSet ? 1 : 0);
            if (match && runStart < 0)
            {
                runStart = k;
            }
            else if (!match && runStart >= 0)
            {
                yield return new StreamExtent(blockStart + (first + runStart) * _sectorSize, (k - runStart) * _sectorSize);
                runStart = -1;
            }
        }
    }

    /// <summary>Reads the bitmap bytes covering sectors [first, first+count) of a block; bit k of the result is at k + bitShift.</summary>
    private byte[] ReadBitmap(long block, long first, long count, out int bitShift)
    {
        ulong entry = _bat[_geometry.BitmapIndex(block / _geometry.ChunkRatio)];
        long byteStart = first / 8;
        long byteEnd = (first + count + 7) / 8;
        byte[] bits = new byte[byteEnd - byteStart];
        bitShift = (int)(first % 8);
        if (VhdxBatEntry.State(entry) == (int)SectorBitmapState.Present)
        {
            _file.Read(VhdxBatEntry.FileOffset(entry) + _geometry.BitmapByteOffset(block) + byteStart, bits);
        }
        return bits;
    }

    /// <inheritdoc/>
    protected override void ReadFromBlock(long blockIndex, long offsetInBlock, Span<byte> buffer)
    {
        PayloadBlockState state = State(blockIndex);
        long diskPos = blockIndex * BlockSize + offsetInBlock;
        switch (state)
        {
            case PayloadBlockState.FullyPresent:
                _file.Read(BlockOffset(blockIndex) + offsetInBlock, buffer);
                return;
            case PayloadBlockState.PartiallyPresent:
                ReadPartial(blockIndex, offsetInBlock, buffer);
                return;
            default:
                if (Inherits(state) && _parent is not null)
                {
                    ReadParent(diskPos, buffer);
                }
                else
                {
                    buffer.Clear();
                }
                return;
        }
    }

    private void ReadParent(long diskPos, Span<byte> buffer)
    {
        if (_parent is null)
        {
            // A differencing child opened for a report without its missing parent: what the parent held reads as zeros.
            buffer.Clear();
            return;
        }
        int n = _parent.ReadAt(diskPos, buffer);
        buffer.Slice(n).Clear();
    }

    /// <summary>Reads part of a partially present block: sectors whose bitmap bit is set come from this file, the rest from the parent.</summary>
    private void ReadPartial(long block, long offsetInBlock, Span<byte> buffer)
    {
        long firstSector = offsetInBlock / _sectorSize;
        long lastSector = (offsetInBlock + buffer.Length - 1) / _sectorSize;
        long count = lastSector - firstSector + 1;
        byte[] bits = ReadBitmap(block, firstSector, count, out int shift);
        long blockStart = block * BlockSize;
        long fileBlock = BlockOffset(block);
        long k = 0;
        while (k < count)
        {
            bool set = ((bits[(k + shift) >> 3] >> (int)((k + shift) & 7)) & 1) != 0;
            long run = 1;
            while (k + run < count && (((bits[(k + run + shift) >> 3] >> (int)((k + run + shift) & 7)) & 1) != 0) == set)
            {
                run++;
            }
            long s = Math.Max((firstSector + k) * _sectorSize, offsetInBlock);
            long t = Math.Min((firstSector + k + run) * _sectorSize, offsetInBlock + buffer.Length);
            Span<byte> part = buffer.Slice((int)(s - offsetInBlock), (int)(t - s));
            if (set)
            {
                _file.Read(fileBlock + s, part);
            }
            else
            {
                ReadParent(blockStart + s, part);
            }
            k += run;
        }
    }

    /// <inheritdoc/>
    protected override void WriteToBlock(long blockIndex, long offsetInBlock, ReadOnlySpan<byte> data)
    {
        BeforeFirstWrite?.Invoke();
        PayloadBlockState state = State(blockIndex);
        if (state == PayloadBlockState.FullyPresent)
        {
            _file.Write(BlockOffset(blockIndex) + offsetInBlock, data);
            return;
        }
        long blockLength = Math.Min(BlockSize, VirtualLength - blockIndex * BlockSize);
        bool wholeBlock = offsetInBlock == 0 && data.Length == blockLength;
        if (state == PayloadBlockState.PartiallyPresent)
        {
            WriteSectors(blockIndex, BlockOffset(blockIndex), offsetInBlock, data);
            _file.FlushForOrdering();
            SetBits(blockIndex, offsetInBlock, data.Length);
            _file.FlushForOrdering();
            return;
        }

        // Allocate a new block past the end of the file: fresh file space reads as zeros.
        long fileOffset = Allocate(BlockSize);
        if (!Inherits(state) || wholeBlock)
        {
            // Non-differencing, or a zeroed block (which must not show the parent), or a write of the whole block.
            _file.Write(fileOffset + offsetInBlock, data);
            _file.FlushForOrdering();
            SetBatEntry(_geometry.PayloadIndex(blockIndex), VhdxBatEntry.Make((int)PayloadBlockState.FullyPresent, fileOffset));
            return;
        }
        WriteSectors(blockIndex, fileOffset, offsetInBlock, data);
        _file.FlushForOrdering();
        EnsureBitmapBlock(blockIndex / _geometry.ChunkRatio);
        ClearBits(blockIndex);
        // The block becomes partially present with no sector of its own yet (so it still reads as the parent), and
        // only then do its bits point at the new data. Bits are thus never set for a block that is not present, which
        // keeps every intermediate state unambiguous even for readers (libvhdi) that consult the bitmap regardless
        // of the block state.
        SetBatEntry(_geometry.PayloadIndex(blockIndex), VhdxBatEntry.Make((int)PayloadBlockState.PartiallyPresent, fileOffset));
        SetBits(blockIndex, offsetInBlock, data.Length);
        _file.FlushForOrdering();
    }

    /// <summary>
    /// Writes data into a partially present (or new) block of a differencing disk. Sectors are the unit of the bitmap,
    /// so a sector only partly covered by the write, and not yet present, is completed with the parent's bytes.
    /// </summary>
    private void WriteSectors(long block, long fileBlock, long offsetInBlock, ReadOnlySpan<byte> data)
    {
        long alignedStart = offsetInBlock / _sectorSize * _sectorSize;
        long alignedEnd = VhdxFormat.AlignUp(offsetInBlock + data.Length, _sectorSize);
        if (alignedStart == offsetInBlock && alignedEnd == offsetInBlock + data.Length)
        {
            _file.Write(fileBlock + offsetInBlock, data);
            return;
        }
        byte[] merged = new byte[alignedEnd - alignedStart];
        // Read the current content of the edge sectors (own data where the bit is set, the parent's otherwise).
        ReadFromBlock(block, alignedStart, merged.AsSpan(0, _sectorSize));
        ReadFromBlock(block, alignedEnd - _sectorSize, merged.AsSpan(merged.Length - _sectorSize, _sectorSize));
        data.CopyTo(merged.AsSpan((int)(offsetInBlock - alignedStart)));
        _file.Write(fileBlock + alignedStart, merged);
    }

    private void SetBits(long block, long offsetInBlock, int length)
    {
        long bitmapBase = BitmapBase(block);
        long first = offsetInBlock / _sectorSize;
        long last = (offsetInBlock + length - 1) / _sectorSize;
        byte[] bits = new byte[last / 8 - first / 8 + 1];
        _file.Read(bitmapBase + first / 8, bits);
        for (long s = first; s <= last; s++)
        {
            bits[s / 8 - first / 8] |= (byte)(1 << (int)(s % 8));
        }
        _file.Write(bitmapBase + first / 8, bits);
    }

    /// <summary>Clears a block's bits before the block becomes partially present (bits from other tools may linger).</summary>
    private void ClearBits(long block)
    {
        byte[] bits = new byte[_geometry.SectorsPerBlock / 8];
        _file.Read(BitmapBase(block), bits);
        if (!Shared.StreamExtensions.IsAllZero(bits))
        {
            Array.Clear(bits, 0, bits.Length);
            _file.Write(BitmapBase(block), bits);
            _file.FlushForOrdering();
        }
    }

    private long BitmapBase(long block) =>
        VhdxBatEntry.FileOffset(_bat[_geometry.BitmapIndex(block / _geometry.ChunkRatio)]) + _geometry.BitmapByteOffset(block);

    private void EnsureBitmapBlock(long chunk)
    {
        long index = _geometry.BitmapIndex(chunk);
        if (VhdxBatEntry.State(_bat[index]) == (int)SectorBitmapState.Present)
        {
            return;
        }
        long offset = Allocate(VhdxFormat.SectorBitmapBlockSize);
        _file.FlushForOrdering(); // the zeroed bitmap exists before the BAT says so
        SetBatEntry(index, VhdxBatEntry.Make((int)SectorBitmapState.Present, offset));
    }

    /// <summary>Reserves whole MiB at the end of the file; the file grows at once, so the space reads as zeros.</summary>
    private long Allocate(long length)
    {
        long offset = _fileEnd;
        _fileEnd = offset + VhdxFormat.AlignUp(length, VhdxFormat.MiB);
        _file.SetLength(_fileEnd);
        return offset;
    }

    private void SetBatEntry(long index, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _file.Write(_batOffset + index * 8, bytes);
        _file.FlushForOrdering();
        _bat[index] = value;
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        if (_writable)
        {
            _file.FlushDurable();
        }
    }
}
