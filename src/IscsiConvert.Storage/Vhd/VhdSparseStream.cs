using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;
using IscsiConvert.Storage.Journal;

namespace IscsiConvert.Storage.Vhd;

/// <summary>
/// The content of a dynamic or differencing VHD. Each block is a sector bitmap followed by the block's data, found
/// through the BAT. In a dynamic disk an unallocated block reads as zeros and the bitmap is not consulted (as qemu
/// and Windows read it); in a differencing disk the bitmap says, sector by sector, whether the data is here (bit set)
/// or in the parent (bit clear), and unallocated blocks are wholly the parent's.
/// </summary>
internal sealed class VhdSparseStream : BlockMappedStream
{
    private const int SectorSize = 512;
    /// <summary>Bitmaps are cached up to this many bytes in all (16 MiB: 32768 blocks at the default block size).</summary>
    private const int MaxCachedBitmapBytes = 16 * 1024 * 1024;

    private readonly FileStream _file;
    private readonly string? _path;
    private readonly VhdFooter _footer;
    private readonly uint[] _bat;
    private readonly long _tableOffset;
    private readonly int _bitmapSize;
    private readonly SparseStream? _parent;
    private readonly bool _writable;
    private readonly Dictionary<long, byte[]> _bitmaps = new();
    private long _footerOffset;

    public VhdSparseStream(FileStream file, string? path, VhdMetadata metadata, SparseStream? parent, bool writable)
        : base(metadata.VirtualSize, metadata.Header!.BlockSize)
    {
        _file = file;
        _path = path;
        _footer = metadata.Footer;
        _bat = metadata.Bat;
        _tableOffset = (long)metadata.Header.TableOffset;
        _bitmapSize = metadata.Header.BitmapSize;
        _footerOffset = metadata.FooterOffset;
        _parent = parent;
        _writable = writable;
    }

    private bool IsDifferencing => _parent is not null;

    protected override bool IsWritable => _writable;

    /// <summary>Bytes of virtual disk stored in this file: the allocated blocks.</summary>
    public long AllocatedBytes
    {
        get
        {
            long total = 0;
            for (long b = 0; b < _bat.Length; b++)
            {
                if (_bat[b] != VhdMetadata.Unallocated)
                {
                    total += Math.Min(BlockSize, VirtualLength - b * BlockSize);
                }
            }
            return total;
        }
    }

    protected override bool IsBlockAllocated(long blockIndex) =>
        _bat[blockIndex] != VhdMetadata.Unallocated
        || (_parent is not null && HasAny(_parent.GetExtents(blockIndex * BlockSize, BlockLength(blockIndex))));

    protected override IEnumerable<StreamExtent> GetBlockExtents(long blockIndex)
    {
        long blockStart = blockIndex * BlockSize;
        long blockLength = BlockLength(blockIndex);
        bool allocated = _bat[blockIndex] != VhdMetadata.Unallocated;
        if (_parent is null)
        {
            return allocated ? new[] { new StreamExtent(blockStart, blockLength) } : Array.Empty<StreamExtent>();
        }
        IEnumerable<StreamExtent> inherited = _parent.GetExtents(blockStart, blockLength);
        return allocated ? ExtentMath.Union(OwnSectors(blockIndex, blockStart, blockLength), inherited) : inherited;
    }

    protected override void ReadFromBlock(long blockIndex, long offsetInBlock, Span<byte> buffer)
    {
        long blockStart = blockIndex * BlockSize;
        uint entry = _bat[blockIndex];
        if (entry == VhdMetadata.Unallocated)
        {
            ReadInherited(blockStart + offsetInBlock, buffer);
            return;
        }
        long dataStart = (long)entry * SectorSize + _bitmapSize;
        if (_parent is null)
        {
            ReadOwn(dataStart + offsetInBlock, buffer);
            return;
        }
        byte[] bitmap = GetBitmap(blockIndex, entry);
        long pos = offsetInBlock;
        long end = offsetInBlock + buffer.Length;
        while (pos < end)
        {
            long sector = pos / SectorSize;
            bool here = IsSet(bitmap, sector);
            long runEnd = (sector + 1) * SectorSize;
            while (runEnd < end && IsSet(bitmap, runEnd / SectorSize) == here)
            {
                runEnd += SectorSize;
            }
            runEnd = Math.Min(runEnd, end);
            Span<byte> part = buffer.Slice((int)(pos - offsetInBlock), (int)(runEnd - pos));
            if (here)
            {
                ReadOwn(dataStart + pos, part);
            }
            else
            {
                ReadInherited(blockStart + pos, part);
            }
            pos = runEnd;
        }
    }

    protected override void WriteToBlock(long blockIndex, long offsetInBlock, ReadOnlySpan<byte> data)
    {
        uint entry = _bat[blockIndex];
        if (entry == VhdMetadata.Unallocated)
        {
            AllocateBlock(blockIndex, offsetInBlock, data);
            return;
        }
        long dataStart = (long)entry * SectorSize + _bitmapSize;
        if (_parent is null)
        {
            _file.WriteAt(dataStart + offsetInBlock, data);
            return;
        }
        WriteDifferencing(blockIndex, entry, dataStart, offsetInBlock, data);
    }

    /// <summary>
    /// Stores a new block. The order keeps the file valid at every step should the process or machine stop:
    /// (1) the bitmap and data go where the footer is, (2) the footer is written at the new end, (3) both are
    /// flushed to the device, and only then (4) the BAT entry points at the block. Before (4) the block is
    /// unreferenced and the old content stands (a torn footer is recovered from the copy in sector 0).
    /// Only the bitmap and the written sectors are written: the rest of the block lies past the old end of the
    /// file, so it reads as zeros (and stays a hole on file systems that have them).
    /// </summary>
    private void AllocateBlock(long blockIndex, long offsetInBlock, ReadOnlySpan<byte> data)
    {
        long at = (_footerOffset + SectorSize - 1) / SectorSize * SectorSize;
        long sector = at / SectorSize;
        if (sector >= VhdMetadata.Unallocated)
        {
            throw new IOException($"The VHD '{_path}' cannot grow further: block offsets are 32-bit sector numbers.");
        }
        byte[] bitmap = new byte[_bitmapSize];
        long blockStart = blockIndex * BlockSize;
        long first = offsetInBlock / SectorSize;
        long last = (offsetInBlock + data.Length - 1) / SectorSize;
        long dataStart = at + _bitmapSize;
        byte[] footer = new byte[VhdFooter.Size];
        _footer.WriteTo(footer);
        long newFooterOffset = dataStart + BlockSize;
        if (_parent is null)
        {
            // Every sector of a dynamic disk's block is "stored" (zeros where nothing was written), as qemu marks them.
            // The data goes as it is: the block lies past the old end of the file, so the rest of its sectors read as
            // zeros without being written (no copy into whole sectors: a conversion writes 1 MiB chunks).
            bitmap.AsSpan().Fill(0xFF);
            _file.WriteAt(at, bitmap);
            _file.WriteAt(dataStart + offsetInBlock, data);
            _file.WriteAt(newFooterOffset, footer);
            JournaledFileStream.FlushForOrdering(_file);
            MapBlock(blockIndex, sector, newFooterOffset);
            return;
        }
        byte[] sectors = new byte[(last - first + 1) * SectorSize];
        int headGap = (int)(offsetInBlock - first * SectorSize);
        {
            // Sectors only partly written take the rest of their bytes from the parent.
            ReadInherited(blockStart + first * SectorSize, sectors.AsSpan(0, SectorSize));
            if (last != first)
            {
                ReadInherited(blockStart + last * SectorSize, sectors.AsSpan(sectors.Length - SectorSize, SectorSize));
            }
            for (long s = first; s <= last; s++)
            {
                bitmap[s / 8] |= (byte)(0x80 >> (int)(s % 8));
            }
        }
        data.CopyTo(sectors.AsSpan(headGap));

        _file.WriteAt(at, bitmap);
        _file.WriteAt(dataStart + first * SectorSize, sectors);
        _file.WriteAt(newFooterOffset, footer);
        JournaledFileStream.FlushForOrdering(_file);
        MapBlock(blockIndex, sector, newFooterOffset);
        CacheBitmap(blockIndex, bitmap);
    }

    // Step (4) of AllocateBlock: the BAT entry points at the block, now that it and the new footer are in place.
    private void MapBlock(long blockIndex, long sector, long newFooterOffset)
    {
        Span<byte> entry = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)sector);
        _file.WriteAt(_tableOffset + blockIndex * 4, entry);
        _bat[blockIndex] = (uint)sector;
        _footerOffset = newFooterOffset;
    }

    /// <summary>
    /// Writes into an allocated block of a differencing disk: whole sectors are written with the parent's bytes
    /// filling what the caller did not supply, then the bitmap bits are set (data first, so a torn write leaves
    /// the bits clear and the parent's data showing).
    /// </summary>
    private void WriteDifferencing(long blockIndex, uint entry, long dataStart, long offsetInBlock, ReadOnlySpan<byte> data)
    {
        byte[] bitmap = GetBitmap(blockIndex, entry);
        long blockStart = blockIndex * BlockSize;
        long first = offsetInBlock / SectorSize;
        long last = (offsetInBlock + data.Length - 1) / SectorSize;
        long alignedStart = first * SectorSize;
        byte[] sectors = new byte[(last - first + 1) * SectorSize];
        long headGap = offsetInBlock - alignedStart;
        long tailGap = sectors.Length - headGap - data.Length;
        if (headGap > 0)
        {
            FillSector(bitmap, first, dataStart, blockStart, sectors.AsSpan(0, SectorSize));
        }
        if (tailGap > 0 && (last != first || headGap == 0))
        {
            FillSector(bitmap, last, dataStart, blockStart, sectors.AsSpan(sectors.Length - SectorSize, SectorSize));
        }
        data.CopyTo(sectors.AsSpan((int)headGap));
        _file.WriteAt(dataStart + alignedStart, sectors);

        int firstByte = (int)(first / 8);
        int lastByte = (int)(last / 8);
        bool changed = false;
        for (long s = first; s <= last; s++)
        {
            if (!IsSet(bitmap, s))
            {
                bitmap[s / 8] |= (byte)(0x80 >> (int)(s % 8));
                changed = true;
            }
        }
        if (changed)
        {
            _file.WriteAt((long)entry * SectorSize + firstByte, bitmap.AsSpan(firstByte, lastByte - firstByte + 1));
        }
    }

    private void FillSector(byte[] bitmap, long sector, long dataStart, long blockStart, Span<byte> destination)
    {
        if (IsSet(bitmap, sector))
        {
            ReadOwn(dataStart + sector * SectorSize, destination);
        }
        else
        {
            ReadInherited(blockStart + sector * SectorSize, destination);
        }
    }

    private IEnumerable<StreamExtent> OwnSectors(long blockIndex, long blockStart, long blockLength)
    {
        byte[] bitmap = GetBitmap(blockIndex, _bat[blockIndex]);
        long sectors = (blockLength + SectorSize - 1) / SectorSize;
        var result = new List<StreamExtent>();
        long s = 0;
        while (s < sectors)
        {
            if (!IsSet(bitmap, s))
            {
                s++;
                continue;
            }
            long runStart = s;
            while (s < sectors && IsSet(bitmap, s))
            {
                s++;
            }
            long start = blockStart + runStart * SectorSize;
            long end = Math.Min(blockStart + blockLength, blockStart + s * SectorSize);
            result.Add(new StreamExtent(start, end - start));
        }
        return result;
    }

    private void ReadOwn(long fileOffset, Span<byte> buffer)
    {
        // Validation guarantees the block lies in the file, so a short read means the file shrank under us.
        ImageFile.ReadExactly(_file, fileOffset, buffer, VhdFields.FormatName, "block data", _path);
    }

    private void ReadInherited(long position, Span<byte> buffer)
    {
        int n = _parent is null ? 0 : _parent.ReadAt(position, buffer);
        buffer.Slice(n).Clear();
    }

    private byte[] GetBitmap(long blockIndex, uint entry)
    {
        if (_bitmaps.TryGetValue(blockIndex, out byte[]? cached))
        {
            return cached;
        }
        byte[] bitmap = new byte[_bitmapSize];
        ImageFile.ReadExactly(_file, (long)entry * SectorSize, bitmap, VhdFields.FormatName, $"sector bitmap of block {blockIndex}", _path);
        CacheBitmap(blockIndex, bitmap);
        return bitmap;
    }

    private void CacheBitmap(long blockIndex, byte[] bitmap)
    {
        if ((long)_bitmaps.Count * _bitmapSize >= MaxCachedBitmapBytes)
        {
            _bitmaps.Clear(); // bounded memory on huge disks; bitmaps are re-read on demand
        }
        _bitmaps[blockIndex] = bitmap;
    }

    private long BlockLength(long blockIndex) => Math.Min(BlockSize, VirtualLength - blockIndex * BlockSize);

    /// <summary>Bit 7 of byte 0 is the block's first sector.</summary>
    private static bool IsSet(byte[] bitmap, long sector) => (bitmap[sector / 8] & (0x80 >> (int)(sector % 8))) != 0;

    private static bool HasAny(IEnumerable<StreamExtent> extents)
    {
        foreach (StreamExtent _ in extents)
        {
            return true;
        }
        return false;
    }

    public override void Flush()
    {
        if (_writable)
        {
            _file.Flush(flushToDisk: true);
        }
    }
}
