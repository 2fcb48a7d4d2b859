using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>
/// A hosted sparse extent ("KDMV"): the extent is cut into grains; a grain directory (GD) points to grain tables (GT),
/// whose entries (GTE) give the sector of each grain. GTE 0 means "not stored here" (the parent's bytes, or zeros), GTE 1
/// means "zeros" when the header says zeroed-grain entries are used. streamOptimized extents store each grain
/// deflate-compressed behind a grain marker and can only be read.
/// </summary>
/// <remarks>
/// Writes append the grain at the end of the file first and then set its entry, in the grain table and after it in the
/// redundant grain table: a crash between the steps leaves an unreferenced grain (leaked space), never an entry that
/// points at unwritten data.
/// </remarks>
internal sealed class SparseExtent : VmdkExtent
{
    /// <summary>The largest grain accepted: 65536 sectors (32 MiB); VMware uses 128 (64 KiB).</summary>
    public const ulong MaxGrainSectors = 65536;

    /// <summary>The largest extent accepted: 2^37 sectors (64 TiB), beyond VMware's 62 TB limit.</summary>
    public const ulong MaxCapacitySectors = 1UL << 37;

    private const uint MaxGtesPerGt = 4096;
    private const ulong MaxGrainDirectoryEntries = 1UL << 22;
    private const int MaxCachedTables = 4096;

    private readonly FileStream _file;
    private readonly string _path;
    private readonly SparseExtentHeader _header;
    private readonly VmdkBacking _backing;
    private readonly bool _writable;
    private readonly bool _ownsFile;
    private readonly uint[] _directory;
    private readonly uint[]? _redundantDirectory;
    private readonly Dictionary<int, uint[]> _tables = new();
    private readonly long _grainBytes;
    private readonly long _tableCoverage;
    private readonly int _tableBytes;
    private byte[]? _inflated;
    private long _inflatedGrain = -1;
    private byte[]? _compressed;
    private uint[]? _zeroTable;

    private SparseExtent(long start, long length, FileStream file, string path, SparseExtentHeader header, uint[] directory, uint[]? redundantDirectory, VmdkBacking backing, bool writable, bool ownsFile)
        : base(start, length)
    {
        _file = file;
        _path = path;
        _header = header;
        _directory = directory;
        _redundantDirectory = redundantDirectory;
        _backing = backing;
        _writable = writable;
        _ownsFile = ownsFile;
        _grainBytes = (long)header.GrainSize * 512;
        _tableCoverage = _grainBytes * header.GtesPerGt;
        _tableBytes = checked((int)header.GtesPerGt * 4);
    }

    public SparseExtentHeader Header => _header;

    public bool IsStreamOptimized => _header.HasCompressedGrains;

    public override long StoredBytes => _file.Length;

    /// <summary>Reads and validates the header at offset 0 (signature, version, flags, sizes — in that order).</summary>
    public static SparseExtentHeader ReadHeader(FileStream file, string path)
    {
        Span<byte> sector = stackalloc byte[SparseExtentHeader.Size];
        ImageFile.ReadExactly(file, 0, sector, "VMDK", "sparse extent header", path);
        if (!SparseExtentHeader.HasMagic(sector))
        {
            throw new CorruptDataException("VMDK", "sparse extent header", 0, $"the signature is 0x{BinaryPrimitives.ReadUInt32LittleEndian(sector):X8}, expected 0x{SparseExtentHeader.Magic:X8} (\"KDMV\")", path);
        }
        SparseExtentHeader header = SparseExtentHeader.ReadFrom(sector);
        Validate(header, path, 0, "sparse extent header");
        return header;
    }

    /// <summary>Opens the extent's tables. For a streamOptimized file whose header defers the grain directory to the end, the footer is read.</summary>
    public static SparseExtent Open(long start, long length, FileStream file, string path, SparseExtentHeader header, VmdkBacking backing, bool writable, bool ownsFile)
    {
        if (header.GrainDirectoryOffset == SparseExtentHeader.GrainDirectoryAtEnd)
        {
            header = ReadFooter(file, path);
        }
        if (length > (long)header.Capacity * 512)
        {
            throw new CorruptDataException("VMDK", "sparse extent header", 0, $"the descriptor gives the extent {length / 512} sectors but its header holds only {header.Capacity}", path);
        }
        ulong tableCoverage = header.GrainSize * header.GtesPerGt;
        ulong entries = (header.Capacity + tableCoverage - 1) / tableCoverage;
        if (entries > MaxGrainDirectoryEntries)
        {
            throw new CorruptDataException("VMDK", "sparse extent header", 0, $"the extent would need {entries} grain directory entries (at most {MaxGrainDirectoryEntries} are accepted)", path);
        }
        bool compressed = header.HasCompressedGrains;
        uint[] directory = ReadDirectory(file, path, header.GrainDirectoryOffset, (int)entries, "grain directory");
        uint[]? redundant = null;
        if (writable && !compressed && header.HasRedundantGrainTable && header.RedundantGrainDirectoryOffset != 0)
        {
            redundant = ReadDirectory(file, path, header.RedundantGrainDirectoryOffset, (int)entries, "redundant grain directory");
        }
        var extent = new SparseExtent(start, length, file, path, header, directory, redundant, backing, writable, ownsFile);
        // New grains are appended at the end of the file: with pointers past that end (a truncated file) an appended
        // grain would land where an old one is said to be, so a damaged extent is refused for writing before any write.
        if (writable && extent.FindTruncation() is { } truncated)
        {
            throw truncated;
        }
        return extent;
    }

    /// <summary>
    /// Walks the grain directory and every grain table (4 bytes per grain, a small read even on a large disk) for the
    /// first grain table or grain that lies past the end of the file. Each table is walked once: a hostile directory
    /// pointing every entry at one table stays as cheap as the file is small. Tables that lie one after another in the
    /// file (as qemu-img and VMware lay them out) are read together, up to 1 MiB at a time, without entering the table
    /// cache: a read-write open of a 64 GiB extent made 2,048 reads of 2 KiB here.
    /// </summary>
    public override CorruptDataException? FindTruncation()
    {
        const int MaxBatchBytes = 1 << 20;
        long fileLength = _file.Length;
        long sectorsPerTable = _tableBytes / 512;
        int maxTables = _tableBytes % 512 == 0 ? Math.Max(1, MaxBatchBytes / _tableBytes) : 1; // tables start on sectors
        var walked = new HashSet<uint>();
        byte[]? batch = null;
        int gd = 0;
        while (gd < _directory.Length)
        {
            uint gtSector = _directory[gd];
            if (gtSector == 0 || IsZeroGrain(gtSector) || !walked.Add(gtSector))
            {
                gd++;
                continue;
            }
            long at = (long)gtSector * 512;
            if (at > fileLength - _tableBytes)
            {
                return new CorruptDataException("VMDK", $"grain table {gd}", at, $"the table's {_tableBytes} bytes extend past the end of the file ({fileLength} bytes): the file is truncated", _path);
            }
            // The following directory entries whose tables come next in the file, inside it, and not walked yet.
            int count = 1;
            while (count < maxTables && gd + count < _directory.Length
                && _directory[gd + count] == gtSector + (count * sectorsPerTable)
                && at + ((count + 1L) * _tableBytes) <= fileLength
                && walked.Add(_directory[gd + count]))
            {
                count++;
            }
            batch ??= new byte[Math.Min(maxTables, _directory.Length) * _tableBytes];
            Span<byte> raw = batch.AsSpan(0, count * _tableBytes);
            ImageFile.ReadExactly(_file, at, raw, "VMDK", $"grain table {gd}", _path);
            for (int t = 0; t < count; t++)
            {
                int index = gd + t;
                for (int gt = 0; gt < _header.GtesPerGt; gt++)
                {
                    uint gte = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice((t * _tableBytes) + (gt * 4)));
                    long grain = ((long)index * _header.GtesPerGt) + gt;
                    if (gte < 2 || grain * _grainBytes >= (long)_header.Capacity * 512)
                    {
                        continue;
                    }
                    long needed = IsStreamOptimized ? StreamMarker.GrainHeaderSize : UsedGrainBytes(grain);
                    if ((long)gte * 512 > fileLength - needed)
                    {
                        return new CorruptDataException("VMDK", $"grain table {index} entry {gt}", GteOffset(index, gt), $"grain {grain} at sector {gte} lies past the end of the file ({fileLength} bytes): the file is truncated", _path);
                    }
                }
            }
            gd += count;
        }
        return null;
    }

    public override void Read(long offset, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            long grain = offset / _grainBytes;
            long inGrain = offset % _grainBytes;
            int n = (int)Math.Min(buffer.Length, _grainBytes - inGrain);
            int run = IsStreamOptimized ? 0 : StoredRun(grain, inGrain, buffer.Length);
            if (run > n)
            {
                // Grains stored one after another in the file: one read for all of them.
                uint gte = LookupGte(grain);
                int got = _file.ReadAtMost(((long)gte * 512) + inGrain, buffer.Slice(0, run));
                buffer.Slice(got, run - got).Clear();
                n = run;
            }
            else
            {
                ReadGrain(grain, inGrain, buffer.Slice(0, n));
            }
            offset += n;
            buffer = buffer.Slice(n);
        }
    }

    /// <summary>
    /// The bytes from (<paramref name="grain"/>, <paramref name="inGrain"/>) that lie in grains stored back to back in the
    /// file (each validated), up to <paramref name="max"/>; 0 when the first grain is not stored here.
    /// </summary>
    private int StoredRun(long grain, long inGrain, int max)
    {
        uint first = LookupGte(grain);
        if (first == 0 || IsZeroGrain(first))
        {
            return 0;
        }
        long total = 0;
        uint expected = first;
        for (long g = grain; total < max; g++)
        {
            if (g * _grainBytes >= Length)
            {
                break;
            }
            uint gte = LookupGte(g);
            if (gte != expected)
            {
                break;
            }
            CheckGrainInFile(g, (int)(g / _header.GtesPerGt), (int)(g % _header.GtesPerGt), gte);
            total += (g == grain ? _grainBytes - inGrain : _grainBytes);
            expected = gte + (uint)_header.GrainSize;
            if (expected < gte)
            {
                break; // wrapped: a hostile table
            }
        }
        return (int)Math.Min(total, max);
    }

    private uint LookupGte(long grain)
    {
        uint[]? table = GetTable((int)(grain / _header.GtesPerGt));
        return table is null ? 0 : table[grain % _header.GtesPerGt];
    }

    public override void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (IsStreamOptimized)
        {
            throw new NotSupportedException("streamOptimized VMDK images hold compressed grains and cannot be written in place; convert the image to monolithicSparse to modify it.");
        }
        if (!_writable)
        {
            throw new NotSupportedException("This VMDK extent is read-only (RDONLY in the descriptor).");
        }
        while (data.Length > 0)
        {
            long grain = offset / _grainBytes;
            long inGrain = offset % _grainBytes;
            int n = inGrain == 0 ? AppendRun(grain, data) : 0;
            if (n == 0)
            {
                n = (int)Math.Min(data.Length, _grainBytes - inGrain);
                WriteGrain(grain, inGrain, data.Slice(0, n));
            }
            offset += n;
            data = data.Slice(n);
        }
    }

    /// <summary>
    /// Appends a run of whole, unallocated, non-zero grains of one grain table with one data write and one entry write
    /// per table (the same order as <see cref="WriteGrain"/>: data first, then the entries). Returns the bytes written,
    /// 0 when the run would be shorter than two grains (the single-grain path handles those).
    /// </summary>
    private int AppendRun(long grain, ReadOnlySpan<byte> data)
    {
        int gdIndex = (int)(grain / _header.GtesPerGt);
        int gtIndex = (int)(grain % _header.GtesPerGt);
        uint[]? table = GetTable(gdIndex);
        if (table is not null && ReferenceEquals(table, _zeroTable))
        {
            return 0;
        }
        int count = 0;
        while (gtIndex + count < _header.GtesPerGt
            && (count + 1) * _grainBytes <= data.Length
            && ((grain + count + 1) * _grainBytes) <= Length
            && (table is null || table[gtIndex + count] == 0)
            && (_backing.HasParent || !StreamExtensions.IsAllZero(data.Slice((int)(count * _grainBytes), (int)_grainBytes))))
        {
            count++;
        }
        if (count < 2)
        {
            return 0;
        }
        table ??= AllocateTable(gdIndex, zeroed: false);
        long at = AppendPosition();
        long bytes = count * _grainBytes;
        if ((at + bytes) / 512 > uint.MaxValue)
        {
            return 0; // let the single-grain path report the full extent
        }
        _file.WriteAt(at, data.Slice(0, (int)bytes));
        byte[] entries = new byte[count * 4];
        for (int i = 0; i < count; i++)
        {
            uint gte = (uint)(at / 512) + (uint)(i * (long)_header.GrainSize);
            BinaryPrimitives.WriteUInt32LittleEndian(entries.AsSpan(i * 4), gte);
        }
        _file.WriteAt(((long)_directory[gdIndex] * 512) + (gtIndex * 4L), entries);
        if (_redundantDirectory is not null && _redundantDirectory[gdIndex] != 0)
        {
            _file.WriteAt(((long)_redundantDirectory[gdIndex] * 512) + (gtIndex * 4L), entries);
        }
        for (int i = 0; i < count; i++)
        {
            table[gtIndex + i] = BinaryPrimitives.ReadUInt32LittleEndian(entries.AsSpan(i * 4));
        }
        return (int)bytes;
    }

    public override IEnumerable<StreamExtent> GetExtents(long offset, long length)
    {
        var result = new List<StreamExtent>();
        long end = offset + length;
        long pos = offset;
        long pendingBacking = -1; // start of a run of unallocated grains, whose bytes come from the parent
        while (pos < end)
        {
            int gdIndex = (int)(pos / _tableCoverage);
            uint[]? table = GetTable(gdIndex);
            if (table is null)
            {
                long tableEnd = Math.Min(end, (gdIndex + 1) * _tableCoverage);
                if (pendingBacking < 0)
                {
                    pendingBacking = pos;
                }
                pos = tableEnd;
                continue;
            }
            long grain = pos / _grainBytes;
            long grainEnd = Math.Min(end, (grain + 1) * _grainBytes);
            uint gte = table[grain % _header.GtesPerGt];
            if (gte == 0)
            {
                if (pendingBacking < 0)
                {
                    pendingBacking = pos;
                }
            }
            else
            {
                FlushBacking(result, ref pendingBacking, pos);
                if (!IsZeroGrain(gte))
                {
                    result.Add(new StreamExtent(Start + pos, grainEnd - pos));
                }
            }
            pos = grainEnd;
        }
        FlushBacking(result, ref pendingBacking, end);
        return result;
    }

    public override void Flush()
    {
        if (_writable)
        {
            _file.Flush(flushToDisk: true);
        }
    }

    public override void Dispose()
    {
        if (_ownsFile)
        {
            _file.Dispose();
        }
    }

    internal static void Validate(SparseExtentHeader header, string path, long offset, string structure)
    {
        if (header.Version < 1 || header.Version > 3)
        {
            throw new CorruptDataException("VMDK", structure, offset, $"version {header.Version} is not 1, 2 or 3", path);
        }
        if ((header.Flags & SparseExtentHeader.FlagValidNewLineTest) != 0 && !header.NewLineCharactersIntact)
        {
            throw new CorruptDataException("VMDK", structure, offset + 73, "the newline-detection bytes are altered (was the file copied in text mode?)", path);
        }
        if (header.GrainSize == 0 || header.GrainSize > MaxGrainSectors || (header.GrainSize & (header.GrainSize - 1)) != 0)
        {
            throw new CorruptDataException("VMDK", structure, offset + 20, $"grain size {header.GrainSize} sectors is not a power of two from 1 to {MaxGrainSectors}", path);
        }
        if (header.Capacity == 0 || header.Capacity > MaxCapacitySectors)
        {
            throw new CorruptDataException("VMDK", structure, offset + 12, $"capacity {header.Capacity} sectors is not between 1 and {MaxCapacitySectors}", path);
        }
        if (header.GtesPerGt == 0 || header.GtesPerGt > MaxGtesPerGt)
        {
            throw new CorruptDataException("VMDK", structure, offset + 44, $"{header.GtesPerGt} entries per grain table is not between 1 and {MaxGtesPerGt} (VMware uses 512)", path);
        }
        if (header.HasCompressedGrains)
        {
            if (header.CompressAlgorithm != SparseExtentHeader.CompressionDeflate)
            {
                throw new UnsupportedFormatException($"VMDK compression algorithm {header.CompressAlgorithm} is not supported (only 1, deflate)", path);
            }
            if (!header.HasMarkers)
            {
                throw new UnsupportedFormatException("VMDK compressed grains without markers are not supported", path);
            }
        }
    }

    /// <summary>Reads the footer of a streamOptimized file: footer marker, header copy, end-of-stream marker — the last three sectors.</summary>
    private static SparseExtentHeader ReadFooter(FileStream file, string path)
    {
        long length = file.Length;
        if (length < 4 * 512)
        {
            throw new CorruptDataException("VMDK", "footer", length, "the header defers the grain directory to the footer, but the file is too short to have one", path);
        }
        long markerAt = (length / 512 * 512) - (3 * 512);
        Span<byte> three = stackalloc byte[3 * 512];
        ImageFile.ReadExactly(file, markerAt, three, "VMDK", "footer", path);
        StreamMarker footerMarker = StreamMarker.ReadFrom(three);
        if (!footerMarker.IsMetadata || footerMarker.Type != StreamMarker.TypeFooter)
        {
            throw new CorruptDataException("VMDK", "footer marker", markerAt, $"expected a footer marker (size 0, type {StreamMarker.TypeFooter}), found size {footerMarker.DataSize} type {footerMarker.Type}", path);
        }
        StreamMarker eos = StreamMarker.ReadFrom(three.Slice(1024));
        if (!eos.IsMetadata || eos.Type != StreamMarker.TypeEndOfStream || eos.Value != 0)
        {
            throw new CorruptDataException("VMDK", "end-of-stream marker", markerAt + 1024, $"expected an end-of-stream marker (all zeros), found value {eos.Value} size {eos.DataSize} type {eos.Type}", path);
        }
        ReadOnlySpan<byte> footer = three.Slice(512, 512);
        if (!SparseExtentHeader.HasMagic(footer))
        {
            throw new CorruptDataException("VMDK", "footer", markerAt + 512, "the footer does not start with \"KDMV\"", path);
        }
        SparseExtentHeader header = SparseExtentHeader.ReadFrom(footer);
        Validate(header, path, markerAt + 512, "footer");
        if (header.GrainDirectoryOffset == SparseExtentHeader.GrainDirectoryAtEnd)
        {
            throw new CorruptDataException("VMDK", "footer", markerAt + 512, "the footer, too, defers the grain directory to the end", path);
        }
        return header;
    }

    private static uint[] ReadDirectory(FileStream file, string path, ulong sector, int entries, string structure)
    {
        ulong fileLength = (ulong)file.Length;
        ulong bytes = (ulong)entries * 4;
        if (sector == 0 || sector > fileLength / 512 || sector * 512 > fileLength - bytes)
        {
            long at = sector > long.MaxValue / 512 ? -1 : (long)sector * 512;
            throw new CorruptDataException("VMDK", structure, at, $"{entries} entries at sector {sector} lie outside the file ({fileLength} bytes)", path);
        }
        byte[] raw = new byte[bytes];
        ImageFile.ReadExactly(file, (long)sector * 512, raw, "VMDK", structure, path);
        uint[] result = new uint[entries];
        for (int i = 0; i < entries; i++)
        {
            result[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
        }
        return result;
    }

    private bool IsZeroGrain(uint gte) => gte == 1 && _header.HasZeroedGrainEntries;

    private void FlushBacking(List<StreamExtent> result, ref long pendingStart, long pos)
    {
        if (pendingStart >= 0 && pos > pendingStart)
        {
            result.AddRange(_backing.GetExtents(Start + pendingStart, pos - pendingStart));
        }
        pendingStart = -1;
    }

    /// <summary>The grain table for a directory entry, or null when the entry is 0 (no table: all its grains unallocated).
    /// With zeroed-grain entries, a directory entry of 1 stands for a table whose grains all read as zeros.</summary>
    private uint[]? GetTable(int gdIndex)
    {
        uint gtSector = _directory[gdIndex];
        if (gtSector == 0)
        {
            return null;
        }
        if (IsZeroGrain(gtSector))
        {
            _zeroTable ??= CreateZeroTable();
            return _zeroTable;
        }
        if (_tables.TryGetValue(gdIndex, out uint[]? cached))
        {
            return cached;
        }
        uint[] table = ReadTable(gtSector, $"grain table {gdIndex}");
        if (_tables.Count >= MaxCachedTables)
        {
            _tables.Clear(); // bounded memory on huge disks; tables are re-read on demand
        }
        _tables[gdIndex] = table;
        return table;
    }

    private uint[] CreateZeroTable()
    {
        uint[] table = new uint[_header.GtesPerGt];
        table.AsSpan().Fill(1);
        return table;
    }

    private uint[] ReadTable(uint gtSector, string structure)
    {
        long at = (long)gtSector * 512;
        if (at > _file.Length - _tableBytes)
        {
            throw new CorruptDataException("VMDK", structure, at, $"the table's {_tableBytes} bytes extend past the end of the file ({_file.Length} bytes)", _path);
        }
        byte[] raw = new byte[_tableBytes];
        ImageFile.ReadExactly(_file, at, raw, "VMDK", structure, _path);
        uint[] table = new uint[_header.GtesPerGt];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
        }
        return table;
    }

    private void ReadGrain(long grain, long inGrain, Span<byte> buffer)
    {
        int gdIndex = (int)(grain / _header.GtesPerGt);
        int gtIndex = (int)(grain % _header.GtesPerGt);
        uint[]? table = GetTable(gdIndex);
        uint gte = table is null ? 0 : table[gtIndex];
        if (gte == 0)
        {
            _backing.Read(Start + (grain * _grainBytes) + inGrain, buffer);
            return;
        }
        if (IsZeroGrain(gte))
        {
            buffer.Clear();
            return;
        }
        if (IsStreamOptimized)
        {
            byte[] inflated = Inflate(grain, gdIndex, gtIndex, gte);
            inflated.AsSpan((int)inGrain, buffer.Length).CopyTo(buffer);
            return;
        }
        CheckGrainInFile(grain, gdIndex, gtIndex, gte);
        int n = _file.ReadAtMost(((long)gte * 512) + inGrain, buffer);
        buffer.Slice(n).Clear();
    }

    /// <summary>The bytes of the grain that lie inside the extent (the last grain may be cut short by the capacity).</summary>
    private long UsedGrainBytes(long grain) => Math.Min(_grainBytes, ((long)_header.Capacity * 512) - (grain * _grainBytes));

    private void CheckGrainInFile(long grain, int gdIndex, int gtIndex, uint gte)
    {
        long at = (long)gte * 512;
        long needed = UsedGrainBytes(grain);
        if (gte < 2 || at > _file.Length - needed)
        {
            throw new CorruptDataException("VMDK", $"grain table {gdIndex} entry {gtIndex}", GteOffset(gdIndex, gtIndex), $"grain {grain} at sector {gte} lies {(gte < 2 ? "inside the header" : "past the end of the file")} ({_file.Length} bytes)", _path);
        }
    }

    private long GteOffset(int gdIndex, int gtIndex) => ((long)_directory[gdIndex] * 512) + (gtIndex * 4L);

    private byte[] Inflate(long grain, int gdIndex, int gtIndex, uint gte)
    {
        _inflated ??= new byte[_grainBytes];
        if (_inflatedGrain == grain)
        {
            return _inflated;
        }
        _inflatedGrain = -1;
        long at = (long)gte * 512;
        string structure = $"grain marker for grain {grain}";
        if (gte < 1 || at > _file.Length - StreamMarker.GrainHeaderSize)
        {
            throw new CorruptDataException("VMDK", $"grain table {gdIndex} entry {gtIndex}", GteOffset(gdIndex, gtIndex), $"grain {grain} at sector {gte} lies past the end of the file ({_file.Length} bytes)", _path);
        }
        Span<byte> markerBytes = stackalloc byte[StreamMarker.GrainHeaderSize];
        ImageFile.ReadExactly(_file, at, markerBytes, "VMDK", structure, _path);
        StreamMarker marker = StreamMarker.ReadFrom(markerBytes);
        ulong expectedLba = (ulong)grain * _header.GrainSize;
        if (marker.Value != expectedLba)
        {
            throw new CorruptDataException("VMDK", structure, at, $"the marker names sector {marker.Value}, expected {expectedLba}", _path);
        }
        long maxCompressed = _grainBytes + (_grainBytes / 8) + 4096; // deflate's worst case is a few bytes per 16 KiB
        if (marker.DataSize == 0 || marker.DataSize > maxCompressed || at + StreamMarker.GrainHeaderSize > _file.Length - marker.DataSize)
        {
            throw new CorruptDataException("VMDK", structure, at, $"compressed size {marker.DataSize} is 0, larger than {maxCompressed}, or runs past the end of the file", _path);
        }
        if (_compressed is null || _compressed.Length < marker.DataSize)
        {
            _compressed = new byte[marker.DataSize];
        }
        ImageFile.ReadExactly(_file, at + StreamMarker.GrainHeaderSize, _compressed.AsSpan(0, (int)marker.DataSize), "VMDK", structure, _path);
        int produced;
        try
        {
            produced = Zlib.Decompress(_compressed, (int)marker.DataSize, _inflated);
        }
        catch (InvalidDataException ex)
        {
            throw new CorruptDataException("VMDK", $"compressed grain {grain}", at + StreamMarker.GrainHeaderSize, ex.Message, _path, ex);
        }
        _inflated.AsSpan(produced).Clear(); // a short last grain inflates to less than a full grain
        _inflatedGrain = grain;
        return _inflated;
    }

    private void WriteGrain(long grain, long inGrain, ReadOnlySpan<byte> data)
    {
        int gdIndex = (int)(grain / _header.GtesPerGt);
        int gtIndex = (int)(grain % _header.GtesPerGt);
        uint[]? table = GetTable(gdIndex);
        uint gte = table is null ? 0 : table[gtIndex];
        if (gte != 0 && !IsZeroGrain(gte))
        {
            CheckGrainInFile(grain, gdIndex, gtIndex, gte);
            if (gte < _header.Overhead)
            {
                // Writing there would overwrite the header, descriptor or tables: refuse before writing anything.
                throw new CorruptDataException("VMDK", $"grain table {gdIndex} entry {gtIndex}", GteOffset(gdIndex, gtIndex), $"grain {grain} at sector {gte} lies inside the metadata area (the first {_header.Overhead} sectors)", _path);
            }
            _file.WriteAt(((long)gte * 512) + inGrain, data);
            return;
        }
        if (gte == 0 && !_backing.HasParent && StreamExtensions.IsAllZero(data))
        {
            return; // the grain already reads as zeros
        }
        // Build the whole grain: what it reads as now (parent or zeros), with the new bytes over it.
        byte[] whole = new byte[_grainBytes];
        if (data.Length < _grainBytes && gte == 0)
        {
            _backing.Read(Start + (grain * _grainBytes), whole.AsSpan(0, (int)UsedGrainBytes(grain)));
        }
        data.CopyTo(whole.AsSpan((int)inGrain));
        if (table is null || ReferenceEquals(table, _zeroTable))
        {
            table = AllocateTable(gdIndex, zeroed: table is not null);
        }
        long at = AppendPosition();
        if (at / 512 > uint.MaxValue)
        {
            throw new IOException($"The VMDK extent '{_path}' is full: grain sectors must stay below 2^32 (2 TiB of file).");
        }
        _file.WriteAt(at, whole);
        uint newGte = (uint)(at / 512);
        SetEntry(_directory[gdIndex], gtIndex, newGte);
        if (_redundantDirectory is not null && _redundantDirectory[gdIndex] != 0)
        {
            SetEntry(_redundantDirectory[gdIndex], gtIndex, newGte);
        }
        table[gtIndex] = newGte;
    }

    private void SetEntry(uint gtSector, int gtIndex, uint value)
    {
        Span<byte> entry = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, value);
        _file.WriteAt(((long)gtSector * 512) + (gtIndex * 4L), entry);
    }

    private long AppendPosition() => (_file.Length + 511) / 512 * 512;

    /// <summary>Appends a grain table (and its redundant twin), then points the directories at them. The new table is empty,
    /// or for a directory entry of 1 ("all grains zeroed") filled with zeroed-grain entries so the grains still read as zeros.</summary>
    private uint[] AllocateTable(int gdIndex, bool zeroed)
    {
        long tableSpan = (_tableBytes + 511L) / 512 * 512;
        long at = AppendPosition();
        long redundantAt = _redundantDirectory is null ? 0 : at + tableSpan;
        long end = at + tableSpan + (_redundantDirectory is null ? 0 : tableSpan);
        if (end / 512 > uint.MaxValue)
        {
            throw new IOException($"The VMDK extent '{_path}' is full: table sectors must stay below 2^32.");
        }
        _file.SetLength(end);
        uint[] table = zeroed ? CreateZeroTable() : new uint[_header.GtesPerGt];
        if (zeroed)
        {
            byte[] raw = new byte[_tableBytes];
            for (int i = 0; i < table.Length; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(i * 4), 1);
            }
            _file.WriteAt(at, raw);
            if (_redundantDirectory is not null)
            {
                _file.WriteAt(redundantAt, raw);
            }
        }
        Span<byte> entry = stackalloc byte[4];
        if (_redundantDirectory is not null)
        {
            _redundantDirectory[gdIndex] = (uint)(redundantAt / 512);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, _redundantDirectory[gdIndex]);
            _file.WriteAt(((long)_header.RedundantGrainDirectoryOffset * 512) + (gdIndex * 4L), entry);
        }
        _directory[gdIndex] = (uint)(at / 512);
        BinaryPrimitives.WriteUInt32LittleEndian(entry, _directory[gdIndex]);
        _file.WriteAt(((long)_header.GrainDirectoryOffset * 512) + (gdIndex * 4L), entry);
        _tables[gdIndex] = table;
        return table;
    }

    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "sparse extent {0} ({1} sectors)", _path, _header.Capacity);
}
