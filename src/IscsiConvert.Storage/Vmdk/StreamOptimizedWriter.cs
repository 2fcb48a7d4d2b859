using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>
/// Writes a new streamOptimized extent front to back: each grain is deflated behind a grain marker as soon as the
/// writer moves past it; grain tables, the grain directory, the footer and the end-of-stream marker follow the last
/// grain. Writes must move forward grain by grain (as conversion does); going back to an earlier grain is refused.
/// </summary>
/// <remarks>
/// <see cref="Flush"/> writes the tables, footer and end-of-stream marker after the grains without committing them,
/// so the file is a complete image after every flush, and further grains simply overwrite that tail.
/// </remarks>
internal sealed class StreamOptimizedWriter : VmdkExtent
{
    /// <summary>Sectors before the first grain: header, descriptor, padding to a 64 KiB boundary as VMware does.</summary>
    public const int OverheadSectors = 128;

    private readonly FileStream _file;
    private readonly SparseExtentHeader _header;
    private readonly long _grainBytes;
    private readonly int _gtes;
    private readonly Dictionary<int, uint[]> _tables = new();
    private readonly byte[] _grain;
    private long _currentGrain = -1;
    private bool _currentDirty;
    private long _dataEnd;

    public StreamOptimizedWriter(long length, FileStream file, SparseExtentHeader header)
        : base(0, length)
    {
        _file = file;
        _header = header;
        _grainBytes = (long)header.GrainSize * 512;
        _gtes = (int)header.GtesPerGt;
        _grain = new byte[_grainBytes];
        _dataEnd = (long)header.Overhead * 512;
    }

    public override long StoredBytes => _file.Length;

    public override void Read(long offset, Span<byte> buffer)
    {
        // Only the grain being assembled can be read back; earlier grains are compressed and not re-read.
        while (buffer.Length > 0)
        {
            long grain = offset / _grainBytes;
            long inGrain = offset % _grainBytes;
            int n = (int)Math.Min(buffer.Length, _grainBytes - inGrain);
            if (grain == _currentGrain)
            {
                _grain.AsSpan((int)inGrain, n).CopyTo(buffer);
            }
            else if (grain > _currentGrain)
            {
                buffer.Slice(0, n).Clear();
            }
            else
            {
                throw new NotSupportedException("A streamOptimized VMDK being created cannot read back grains it has already compressed; reopen the image after creating it.");
            }
            offset += n;
            buffer = buffer.Slice(n);
        }
    }

    public override void Write(long offset, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            long grain = offset / _grainBytes;
            long inGrain = offset % _grainBytes;
            int n = (int)Math.Min(data.Length, _grainBytes - inGrain);
            if (grain < _currentGrain)
            {
                throw new NotSupportedException($"streamOptimized VMDK images are written sequentially: grain {grain} lies before grain {_currentGrain}, which was already written. Write in ascending order (as disk conversion does), or create a monolithicSparse image.");
            }
            if (grain > _currentGrain)
            {
                EmitCurrent();
                _currentGrain = grain;
                Array.Clear(_grain, 0, _grain.Length);
            }
            data.Slice(0, n).CopyTo(_grain.AsSpan((int)inGrain));
            _currentDirty = true;
            offset += n;
            data = data.Slice(n);
        }
    }

    public override IEnumerable<StreamExtent> GetExtents(long offset, long length)
    {
        var result = new List<StreamExtent>();
        long end = offset + length;
        for (long grain = offset / _grainBytes; grain * _grainBytes < end; grain++)
        {
            bool stored = grain == _currentGrain ? _currentDirty
                : _tables.TryGetValue((int)(grain / _gtes), out uint[]? t) && t[grain % _gtes] != 0;
            if (stored)
            {
                long s = Math.Max(offset, grain * _grainBytes);
                long e = Math.Min(end, (grain + 1) * _grainBytes);
                result.Add(new StreamExtent(s, e - s));
            }
        }
        return result;
    }

    /// <summary>Writes the pending grain, tables, directory, footer and end-of-stream marker after the committed grains.</summary>
    public override void Flush()
    {
        long end = _dataEnd;
        uint pendingGte = 0;
        int pendingGd = -1;
        int pendingGt = -1;
        if (_currentGrain >= 0 && _currentDirty && !StreamExtensions.IsAllZero(_grain))
        {
            pendingGte = (uint)(end / 512);
            end = WriteGrain(end, _currentGrain);
            pendingGd = (int)(_currentGrain / _gtes);
            pendingGt = (int)(_currentGrain % _gtes);
        }
        ulong tableCoverage = _header.GrainSize * _header.GtesPerGt;
        int entries = (int)((_header.Capacity + tableCoverage - 1) / tableCoverage);
        uint[] directory = new uint[entries];
        int tableSectors = (_gtes * 4 + 511) / 512;
        byte[] tableBytes = new byte[tableSectors * 512];
        byte[] sector = new byte[512];
        for (int gd = 0; gd < entries; gd++)
        {
            _tables.TryGetValue(gd, out uint[]? table);
            if (table is null && gd != pendingGd)
            {
                continue;
            }
            Array.Clear(tableBytes, 0, tableBytes.Length);
            for (int i = 0; table is not null && i < _gtes; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(tableBytes.AsSpan(i * 4), table[i]);
            }
            if (gd == pendingGd)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(tableBytes.AsSpan(pendingGt * 4), pendingGte);
            }
            StreamMarker.WriteMetadata(sector, (ulong)tableSectors, StreamMarker.TypeGrainTable);
            _file.WriteAt(end, sector);
            directory[gd] = (uint)((end + 512) / 512);
            _file.WriteAt(end + 512, tableBytes);
            end += 512 + tableBytes.Length;
        }
        int directorySectors = (entries * 4 + 511) / 512;
        byte[] directoryBytes = new byte[directorySectors * 512];
        for (int gd = 0; gd < entries; gd++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(directoryBytes.AsSpan(gd * 4), directory[gd]);
        }
        StreamMarker.WriteMetadata(sector, (ulong)directorySectors, StreamMarker.TypeGrainDirectory);
        _file.WriteAt(end, sector);
        _file.WriteAt(end + 512, directoryBytes);
        ulong directorySector = (ulong)((end + 512) / 512);
        end += 512 + directoryBytes.Length;

        StreamMarker.WriteMetadata(sector, 1, StreamMarker.TypeFooter);
        _file.WriteAt(end, sector);
        SparseExtentHeader footer = _header.Clone();
        footer.GrainDirectoryOffset = directorySector;
        footer.WriteTo(sector);
        _file.WriteAt(end + 512, sector);
        StreamMarker.WriteMetadata(sector, 0, StreamMarker.TypeEndOfStream);
        _file.WriteAt(end + 1024, sector);
        end += 1536;
        _file.SetLength(end);
        _file.Flush(flushToDisk: true);
    }

    public override void Dispose()
    {
        _file.Dispose();
    }

    private void EmitCurrent()
    {
        if (_currentGrain < 0 || !_currentDirty || StreamExtensions.IsAllZero(_grain))
        {
            return;
        }
        uint gte = (uint)(_dataEnd / 512);
        _dataEnd = WriteGrain(_dataEnd, _currentGrain);
        int gd = (int)(_currentGrain / _gtes);
        if (!_tables.TryGetValue(gd, out uint[]? table))
        {
            table = new uint[_gtes];
            _tables[gd] = table;
        }
        table[_currentGrain % _gtes] = gte;
        _currentDirty = false;
    }

    /// <summary>Writes the grain marker and compressed grain at <paramref name="at"/>; returns the next sector boundary.</summary>
    private long WriteGrain(long at, long grain)
    {
        if (at / 512 > uint.MaxValue)
        {
            throw new IOException("The streamOptimized VMDK is full: grain sectors must stay below 2^32.");
        }
        byte[] compressed = Zlib.Compress(_grain);
        long total = StreamMarker.GrainHeaderSize + compressed.Length;
        byte[] record = new byte[(total + 511) / 512 * 512];
        StreamMarker.WriteGrain(record, (ulong)grain * _header.GrainSize, (uint)compressed.Length);
        compressed.CopyTo(record, StreamMarker.GrainHeaderSize);
        _file.WriteAt(at, record);
        return at + record.Length;
    }
}
