using System;
using System.Collections.Generic;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Storage;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The value of an attribute as a read-only stream: resident bytes, or runs of clusters (holes read as zeros; bytes
/// past the initialized size read as zeros), or LZNT1 compression units.
/// </summary>
internal sealed class AttributeStream : SparseStream
{
    private readonly VolumeReader _volume;
    private readonly AttributeRecord _attribute;
    private readonly long _clusterSize;
    private readonly DataRun[] _runs;
    private readonly string _structure;
    private readonly long _unitClusters;
    private long _cachedUnit = -1;
    private byte[]? _unitBuffer;

    public AttributeStream(VolumeReader volume, AttributeRecord attribute, long clusterSize)
    {
        _volume = volume;
        _attribute = attribute;
        _clusterSize = clusterSize;
        _runs = new List<DataRun>(attribute.Runs).ToArray();
        _structure = $"MFT record {attribute.RecordNumber} attribute 0x{attribute.Type:X}{(attribute.Name.Length > 0 ? " " + attribute.Name : string.Empty)} data";
        if (attribute.IsCompressed && !attribute.IsResident)
        {
            if (attribute.CompressionUnit == 0)
            {
                throw new CorruptDataException("NTFS", _structure, attribute.VolumeOffset, "a compressed attribute has no compression unit", volume.FilePath);
            }
            _unitClusters = 1L << attribute.CompressionUnit;
            if (_unitClusters * clusterSize > 1 << 20)
            {
                throw new UnsupportedFormatException($"Compression units of {_unitClusters * clusterSize} bytes are not supported (NTFS compresses only with clusters up to 4 KiB).", volume.FilePath);
            }
        }
        if (!attribute.IsResident && _unitClusters == 0 && attribute.DataSize > (attribute.LastVcn + 1) * clusterSize)
        {
            throw new CorruptDataException("NTFS", _structure, attribute.VolumeOffset,
                $"the data size {attribute.DataSize} exceeds the {(attribute.LastVcn + 1) * clusterSize} bytes its runs map", volume.FilePath);
        }
        if (attribute.IsEncrypted)
        {
            throw new UnsupportedFormatException($"{_structure} is EFS-encrypted; it cannot be read without the user's key.", volume.FilePath);
        }
    }

    public override long Length => _attribute.DataSize;

#if NET
    // Stream's own span read rents a pool array of the request's size and copies through it: a hive read whole
    // (11 MiB) left a 16 MiB array in the shared pool for the rest of the process.
    public override int Read(Span<byte> buffer)
    {
        int n = ReadAt(Position, buffer);
        Position += n;
        return n;
    }
#endif

    protected override bool IsWritable => false;

    protected override void WriteCore(long position, ReadOnlySpan<byte> data) => throw new NotSupportedException("NTFS files are opened read-only.");

    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(start + length, Math.Min(Length, _attribute.IsResident ? Length : _attribute.InitializedSize));
        if (_attribute.IsResident || _unitClusters > 0)
        {
            if (end > start)
            {
                yield return new StreamExtent(start, end - start);
            }
            yield break;
        }
        foreach (DataRun run in _runs)
        {
            if (run.IsSparse)
            {
                continue;
            }
            long s = Math.Max(start, run.Vcn * _clusterSize);
            long e = Math.Min(end, (run.Vcn + run.Length) * _clusterSize);
            if (e > s)
            {
                yield return new StreamExtent(s, e - s);
            }
        }
    }

    protected override void ReadCore(long position, Span<byte> buffer)
    {
        if (_attribute.IsResident)
        {
            _attribute.Value.AsSpan((int)position, buffer.Length).CopyTo(buffer);
            return;
        }
        long initialized = _attribute.InitializedSize;
        if (position + buffer.Length > initialized)
        {
            int zeroFrom = (int)Math.Max(0, initialized - position);
            buffer.Slice(zeroFrom).Clear();
            buffer = buffer.Slice(0, zeroFrom);
        }
        if (_unitClusters > 0)
        {
            ReadCompressed(position, buffer);
        }
        else
        {
            ReadMapped(position, buffer);
        }
    }

    private void ReadMapped(long position, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            long vcn = position / _clusterSize;
            int index = FindRun(vcn);
            long runEnd = index < 0 ? (vcn + 1) * _clusterSize : (_runs[index].Vcn + _runs[index].Length) * _clusterSize;
            int count = (int)Math.Min(buffer.Length, runEnd - position);
            Span<byte> part = buffer.Slice(0, count);
            if (index < 0)
            {
                throw new CorruptDataException("NTFS", _structure, _attribute.VolumeOffset, $"no run maps VCN {vcn}, though the data is {Length} bytes", _volume.FilePath);
            }
            if (_runs[index].IsSparse)
            {
                part.Clear();
            }
            else
            {
                long lcn = _runs[index].Lcn + (vcn - _runs[index].Vcn);
                _volume.Read((lcn * _clusterSize) + (position % _clusterSize), part, _structure);
            }
            buffer = buffer.Slice(count);
            position += count;
        }
    }

    private void ReadCompressed(long position, Span<byte> buffer)
    {
        long unitBytes = _unitClusters * _clusterSize;
        while (buffer.Length > 0)
        {
            long unit = position / unitBytes;
            byte[] data = LoadUnit(unit, (int)unitBytes);
            int inUnit = (int)(position - (unit * unitBytes));
            int count = Math.Min(buffer.Length, data.Length - inUnit);
            data.AsSpan(inUnit, count).CopyTo(buffer);
            buffer = buffer.Slice(count);
            position += count;
        }
    }

    // A compression unit whose clusters are all stored is not compressed; one that ends in a hole holds LZNT1 data in
    // its stored clusters; one that is all hole is zeros.
    private byte[] LoadUnit(long unit, int unitBytes)
    {
        if (_cachedUnit == unit && _unitBuffer is not null)
        {
            return _unitBuffer;
        }
        byte[] raw = new byte[unitBytes];
        long firstVcn = unit * _unitClusters;
        long stored = 0;
        for (long c = 0; c < _unitClusters; c++)
        {
            int index = FindRun(firstVcn + c);
            if (index < 0 || _runs[index].IsSparse)
            {
                break;
            }
            long lcn = _runs[index].Lcn + (firstVcn + c - _runs[index].Vcn);
            _volume.Read(lcn * _clusterSize, raw.AsSpan((int)(c * _clusterSize), (int)_clusterSize), _structure);
            stored++;
        }
        byte[] result;
        if (stored == _unitClusters)
        {
            result = raw;
        }
        else if (stored == 0)
        {
            result = new byte[unitBytes];
        }
        else
        {
            result = new byte[unitBytes];
            Lznt1.Decompress(raw.AsSpan(0, (int)(stored * _clusterSize)), result, _structure, _attribute.VolumeOffset, _volume.FilePath);
        }
        _cachedUnit = unit;
        _unitBuffer = result;
        return result;
    }

    private int FindRun(long vcn) => RunList.IndexOf(_runs, vcn);
}
