using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// The hive bins data in memory: bounds-checked access to cells, a first-fit allocator over free cells that grows the
/// hive with new bins, and dirty tracking per 4 KiB page so that a save writes only what changed.
/// Cell offsets are relative to the start of the hive bins data, as on disk.
/// </summary>
internal sealed class HiveStorage
{
    public const int PageSize = 4096;
    public const string FormatName = "regf";
    private const int CellAlignment = 8;

    // Cap on the hive bins data: Windows limits a hive to 2 GiB; refusing larger keeps every int offset exact.
    public const int MaxLength = int.MaxValue - PageSize * 2;

    private byte[] _data;
    private int _length;
    private readonly List<int> _binStarts = new();
    private ulong[] _cellStarts;           // one bit per 8-byte slot: set where an (allocated or free) cell begins
    private readonly SortedDictionary<int, int> _free = new();
    private bool[] _dirty;

    private HiveStorage(byte[] data, int length, string? filePath)
    {
        _data = data;
        _length = length;
        FilePath = filePath;
        _cellStarts = new ulong[(length / CellAlignment / 64) + 1];
        _dirty = new bool[(length / PageSize) + 1];
    }

    public string? FilePath { get; }

    public int Length => _length;

    public bool LengthChanged { get; private set; }

    public IReadOnlyList<int> BinStarts => _binStarts;

    /// <summary>The raw bytes; callers that write must go through the mutating methods so that pages become dirty.</summary>
    public ReadOnlySpan<byte> Data => _data.AsSpan(0, _length);

    /// <summary>Validates every bin header and cell boundary; the free cells become the allocator's free list.</summary>
    public static HiveStorage Load(byte[] data, int length, string? filePath)
    {
        if (length < 0 || length > data.Length || length > MaxLength)
        {
            throw new CorruptDataException(FormatName, "hive bins data", BaseBlock.HiveBinsDataSizeOffset, $"size {length} is out of range", filePath);
        }
        var s = new HiveStorage(data, length, filePath);
        int pos = 0;
        while (pos < length)
        {
            s.ScanBin(pos, out int size);
            pos += size;
        }
        if (s._binStarts.Count == 0)
        {
            throw new CorruptDataException(FormatName, "hive bins data", BaseBlock.Size, "the hive has no hive bin", filePath);
        }
        return s;
    }

    private void ScanBin(int pos, out int size)
    {
        ReadOnlySpan<byte> d = _data;
        if ((long)pos + HiveBin.HeaderSize > _length)
        {
            throw Corrupt("hive bin", pos, $"truncated: {_length - pos} bytes left, a bin header needs {HiveBin.HeaderSize}");
        }
        uint sig = BinaryPrimitives.ReadUInt32LittleEndian(d.Slice(pos));
        if (sig != HiveBin.Signature)
        {
            throw Corrupt("hive bin", pos, $"signature is 0x{sig:X8}, expected \"hbin\"");
        }
        int declaredOffset = BinaryPrimitives.ReadInt32LittleEndian(d.Slice(pos + HiveBin.OffsetOffset));
        if (declaredOffset != pos)
        {
            throw Corrupt("hive bin", pos, $"offset field is {declaredOffset}, expected {pos}");
        }
        size = BinaryPrimitives.ReadInt32LittleEndian(d.Slice(pos + HiveBin.SizeOffset));
        if (size < HiveBin.Alignment || size % HiveBin.Alignment != 0 || (long)pos + size > _length)
        {
            throw Corrupt("hive bin", pos, $"size {size} is not a positive multiple of 4096 within the hive bins data ({_length - pos} bytes left)");
        }
        _binStarts.Add(pos);
        int end = pos + size;
        int cell = pos + HiveBin.HeaderSize;
        while (cell < end)
        {
            if (end - cell < 4)
            {
                throw Corrupt("cell", cell, "cell header crosses the end of its bin");
            }
            int raw = BinaryPrimitives.ReadInt32LittleEndian(d.Slice(cell));
            if (raw == 0 || raw == int.MinValue)
            {
                throw Corrupt("cell", cell, $"size field is {raw}");
            }
            int cellSize = raw < 0 ? -raw : raw;
            if (cellSize < CellAlignment || cellSize % CellAlignment != 0 || cellSize > end - cell)
            {
                throw Corrupt("cell", cell, $"size {cellSize} is not a multiple of 8 that fits its bin (bin ends at 0x{end + BaseBlock.Size:X})");
            }
            SetStart(cell, true);
            if (raw > 0)
            {
                _free[cell] = cellSize;
            }
            cell += cellSize;
        }
    }

    public CorruptDataException Corrupt(string structure, long cellOffset, string problem) =>
        new(FormatName, structure, cellOffset + BaseBlock.Size, problem, FilePath);

    private bool IsStart(int off) => (_cellStarts[off / CellAlignment / 64] & (1UL << (off / CellAlignment % 64))) != 0;

    private void SetStart(int off, bool value)
    {
        int slot = off / CellAlignment;
        if (value)
        {
            _cellStarts[slot / 64] |= 1UL << (slot % 64);
        }
        else
        {
            _cellStarts[slot / 64] &= ~(1UL << (slot % 64));
        }
    }

    /// <summary>True when <paramref name="offset"/> is the start of an allocated cell.</summary>
    public bool IsAllocatedCell(int offset) =>
        offset >= 0 && offset < _length && offset % CellAlignment == 0 && IsStart(offset)
        && BinaryPrimitives.ReadInt32LittleEndian(_data.AsSpan(offset)) < 0;

    /// <summary>The data of an allocated cell (without its 4-byte size), after checking that the offset is one.</summary>
    public ReadOnlySpan<byte> Cell(int offset, string structure)
    {
        if (offset < 0 || offset >= _length || offset % CellAlignment != 0 || !IsStart(offset))
        {
            throw Corrupt(structure, offset, $"cell offset 0x{offset:X} does not point to the start of a cell");
        }
        int raw = BinaryPrimitives.ReadInt32LittleEndian(_data.AsSpan(offset));
        if (raw >= 0)
        {
            throw Corrupt(structure, offset, "cell is not allocated (it is free space)");
        }
        return _data.AsSpan(offset + 4, -raw - 4);
    }

    /// <summary>Reads an allocated cell whose data must hold at least <paramref name="minLength"/> bytes.</summary>
    public ReadOnlySpan<byte> Cell(int offset, string structure, int minLength)
    {
        ReadOnlySpan<byte> c = Cell(offset, structure);
        if (c.Length < minLength)
        {
            throw Corrupt(structure, offset, $"cell holds {c.Length} bytes, the structure needs {minLength}");
        }
        return c;
    }

    /// <summary>The writable data of an allocated cell; marks its pages dirty.</summary>
    public Span<byte> WritableCell(int offset)
    {
        int len = Cell(offset, "cell").Length;
        MarkDirty(offset, len + 4);
        return _data.AsSpan(offset + 4, len);
    }

    public void WriteInt32(int cellOffset, int fieldOffset, int value) =>
        BinaryPrimitives.WriteInt32LittleEndian(WritableCellSlice(cellOffset, fieldOffset, 4), value);

    public void WriteUInt16(int cellOffset, int fieldOffset, ushort value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(WritableCellSlice(cellOffset, fieldOffset, 2), value);

    public void WriteInt64(int cellOffset, int fieldOffset, long value) =>
        BinaryPrimitives.WriteInt64LittleEndian(WritableCellSlice(cellOffset, fieldOffset, 8), value);

    private Span<byte> WritableCellSlice(int cellOffset, int fieldOffset, int length)
    {
        ReadOnlySpan<byte> c = Cell(cellOffset, "cell", fieldOffset + length);
        _ = c;
        MarkDirty(cellOffset + 4 + fieldOffset, length);
        return _data.AsSpan(cellOffset + 4 + fieldOffset, length);
    }

    public void MarkDirty(int offset, int length)
    {
        if (length <= 0)
        {
            return;
        }
        int first = offset / PageSize;
        int last = (offset + length - 1) / PageSize;
        EnsureDirtyCapacity(last);
        for (int p = first; p <= last; p++)
        {
            _dirty[p] = true;
        }
    }

    public void MarkAllDirty() => MarkDirty(0, _length);

    public bool IsPageDirty(int page) => page < _dirty.Length && _dirty[page];

    /// <summary>The dirty 4 KiB pages as runs of adjacent pages (offset and length in the hive bins data), in order.</summary>
    public List<(int Offset, int Length)> DirtyRuns()
    {
        var runs = new List<(int, int)>();
        int pages = (_length + PageSize - 1) / PageSize;
        for (int p = 0; p < pages; p++)
        {
            if (!IsPageDirty(p))
            {
                continue;
            }
            int start = p * PageSize;
            int end = start;
            while (p < pages && IsPageDirty(p))
            {
                end = Math.Min(_length, (p + 1) * PageSize);
                p++;
            }
            runs.Add((start, end - start));
        }
        return runs;
    }

    public void ClearDirty()
    {
        Array.Clear(_dirty, 0, _dirty.Length);
        LengthChanged = false;
    }

    private void EnsureDirtyCapacity(int page)
    {
        if (page >= _dirty.Length)
        {
            Array.Resize(ref _dirty, Math.Max(page + 1, _dirty.Length * 2));
        }
    }

    /// <summary>Allocates a cell for <paramref name="dataSize"/> bytes, zero-filled; returns its offset.</summary>
    public int Allocate(int dataSize)
    {
        if (dataSize < 0 || dataSize > MaxLength / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(dataSize));
        }
        int need = Align(dataSize + 4, CellAlignment);
        int found = -1;
        int foundSize = 0;
        foreach (KeyValuePair<int, int> f in _free)
        {
            if (f.Value >= need)
            {
                found = f.Key;
                foundSize = f.Value;
                break;
            }
        }
        if (found < 0)
        {
            found = AddBin(need);
            foundSize = _free[found];
        }
        _free.Remove(found);
        int take = foundSize - need >= CellAlignment ? need : foundSize;
        if (take < foundSize)
        {
            int rest = found + take;
            BinaryPrimitives.WriteInt32LittleEndian(_data.AsSpan(rest), foundSize - take);
            SetStart(rest, true);
            _free[rest] = foundSize - take;
            MarkDirty(rest, 4);
        }
        BinaryPrimitives.WriteInt32LittleEndian(_data.AsSpan(found), -take);
        _data.AsSpan(found + 4, take - 4).Clear();
        MarkDirty(found, take);
        return found;
    }

    /// <summary>Frees an allocated cell and merges it with free neighbours in the same bin.</summary>
    public void Free(int offset)
    {
        int len = Cell(offset, "cell").Length + 4;
        BinaryPrimitives.WriteInt32LittleEndian(_data.AsSpan(offset), len);
        MarkDirty(offset, 4);
        _free[offset] = len;
        Coalesce(BinOf(offset));
    }

    private int BinOf(int offset)
    {
        int i = _binStarts.BinarySearch(offset);
        return i >= 0 ? _binStarts[i] : _binStarts[~i - 1];
    }

    private void Coalesce(int bin)
    {
        int end = BinaryPrimitives.ReadInt32LittleEndian(_data.AsSpan(bin + HiveBin.SizeOffset)) + bin;
        int cell = bin + HiveBin.HeaderSize;
        int runStart = -1;
        int runSize = 0;
        while (cell < end)
        {
            int raw = BinaryPrimitives.ReadInt32LittleEndian(_data.AsSpan(cell));
            int size = raw < 0 ? -raw : raw;
            if (raw > 0)
            {
                if (runStart < 0)
                {
                    runStart = cell;
                    runSize = size;
                }
                else
                {
                    runSize += size;
                    SetStart(cell, false);
                    _free.Remove(cell);
                    BinaryPrimitives.WriteInt32LittleEndian(_data.AsSpan(runStart), runSize);
                    _free[runStart] = runSize;
                    MarkDirty(runStart, 4);
                }
            }
            else
            {
                runStart = -1;
            }
            cell += size;
        }
    }

    /// <summary>Appends a bin big enough for a cell of <paramref name="cellSize"/> bytes; returns its free cell.</summary>
    private int AddBin(int cellSize)
    {
        long binSize = Align((long)cellSize + HiveBin.HeaderSize, HiveBin.Alignment);
        if (_length + binSize > MaxLength)
        {
            throw new InvalidOperationException("The hive would grow beyond 2 GiB.");
        }
        int start = _length;
        int newLength = start + (int)binSize;
        if (newLength > _data.Length)
        {
            Array.Resize(ref _data, (int)Math.Min(MaxLength, Math.Max(newLength, (long)_data.Length * 3 / 2)));
        }
        int words = (newLength / CellAlignment / 64) + 1;
        if (words > _cellStarts.Length)
        {
            Array.Resize(ref _cellStarts, Math.Max(words, _cellStarts.Length * 2));
        }
        _data.AsSpan(start, (int)binSize).Clear();
        HiveBin.WriteHeader(_data.AsSpan(start), start, (int)binSize);
        int cell = start + HiveBin.HeaderSize;
        BinaryPrimitives.WriteInt32LittleEndian(_data.AsSpan(cell), (int)binSize - HiveBin.HeaderSize);
        SetStart(cell, true);
        _free[cell] = (int)binSize - HiveBin.HeaderSize;
        _binStarts.Add(start);
        _length = newLength;
        LengthChanged = true;
        MarkDirty(start, (int)binSize);
        return cell;
    }

    /// <summary>Every cell in order: offset, size, allocated.</summary>
    public IEnumerable<(int Offset, int Size, bool Allocated)> EnumerateCells()
    {
        foreach (int bin in _binStarts)
        {
            int end = bin + BinaryPrimitives.ReadInt32LittleEndian(_data.AsSpan(bin + HiveBin.SizeOffset));
            int cell = bin + HiveBin.HeaderSize;
            while (cell < end)
            {
                int raw = BinaryPrimitives.ReadInt32LittleEndian(_data.AsSpan(cell));
                int size = raw < 0 ? -raw : raw;
                yield return (cell, size, raw < 0);
                cell += size;
            }
        }
    }

    public void SetFirstBinTimestamp(long fileTime)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_data.AsSpan(HiveBin.TimestampOffset), fileTime);
        MarkDirty(HiveBin.TimestampOffset, 8);
    }

    private static int Align(int v, int a) => (v + a - 1) / a * a;

    private static long Align(long v, long a) => (v + a - 1) / a * a;
}
