using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>Reads MFT records by number through $MFT's own $DATA runs, and assembles files from base and extension records.</summary>
internal sealed class MasterFileTable
{
    // $ATTRIBUTE_LIST values beyond this are not something Windows writes (it needs ~100k fragments); refuse rather than allocate.
    private const int MaxAttributeListBytes = 4 * 1024 * 1024;
    private const int MaxExtensionRecords = 4096;
    private const int CacheLimit = 8192;

    private readonly VolumeReader _volume;
    private readonly NtfsBootSector _boot;
    private readonly Dictionary<long, NtfsFile> _cache = new();
    private AttributeStream? _mftData;
    private IReadOnlyList<DataRun> _mftRuns = Array.Empty<DataRun>();

    public MasterFileTable(VolumeReader volume, NtfsBootSector boot)
    {
        _volume = volume;
        _boot = boot;
    }

    public long RecordCount { get; private set; }

    public long ClusterSize => _boot.ClusterSize;

    public int RecordSize => _boot.MftRecordSize;

    /// <summary>The runs of $MFT's $DATA (all extents), as last loaded.</summary>
    public IReadOnlyList<DataRun> Runs => _mftRuns;

    /// <summary>Forgets a cached file after its records changed.</summary>
    public void Invalidate(long number) => _cache.Remove(number);

    /// <summary>Decoded directory index records, shared by lookups and edits (see <see cref="IndexNodeCache"/>).</summary>
    public IndexNodeCache IndexNodes { get; } = new();

    /// <summary>Forgets every cached file and index node and maps $MFT again (after $MFT itself grew, an edit was undone
    /// or staged changes were committed or dropped).</summary>
    public void Reload()
    {
        _cache.Clear();
        IndexNodes.Clear();
        Load();
    }

    /// <summary>The byte offset in the volume of a position in $MFT (-1 when unmapped).</summary>
    public long VolumeOffsetOfRecord(long number) => VolumeOffsetOf(number * _boot.MftRecordSize);

    public void Load()
    {
        // Record 0 is found through the boot sector; its base $DATA extent maps at least the records that hold its own
        // extension records, after which the whole table can be mapped.
        long offset = _boot.MftLcn * _boot.ClusterSize;
        byte[] data = new byte[_boot.MftRecordSize];
        _volume.Read(offset, data, "MFT record 0");
        FileRecord record0 = FileRecord.ReadFrom(data, 0, offset, _boot.TotalClusters, _volume.FilePath);
        AttributeRecord firstData = record0.Attributes.FirstOrDefault(a => a.Type == AttributeType.Data && a.Name.Length == 0 && !a.IsResident)
            ?? throw new CorruptDataException("NTFS", "MFT record 0", offset, "$MFT has no non-resident $DATA attribute", _volume.FilePath);
        if (firstData.StartVcn != 0)
        {
            throw new CorruptDataException("NTFS", "MFT record 0", firstData.VolumeOffset, "$MFT's first $DATA extent does not start at VCN 0", _volume.FilePath);
        }
        if (firstData.LastVcn + 1 < (firstData.DataSize + _boot.ClusterSize - 1) / _boot.ClusterSize)
        {
            // The rest of the runlist is in extension records: read them through what the first extent maps.
            long mapped = (firstData.LastVcn + 1) * _boot.ClusterSize;
            SetMftData(AttributeRecord.CreateNonResident(AttributeType.Data, string.Empty, firstData.Id, firstData.Flags, firstData.Runs,
                mapped, mapped, Math.Min(mapped, firstData.InitializedSize)));
        }
        else
        {
            SetMftData(firstData);
        }
        NtfsFile mft = Assemble(record0);
        AttributeRecord fullData = mft.Find(AttributeType.Data)!;
        SetMftData(fullData);
        _cache[0] = mft;
    }

    private void SetMftData(AttributeRecord data)
    {
        _mftData = new AttributeStream(_volume, data, _boot.ClusterSize);
        _mftRuns = data.Runs;
        long mappedBytes = (data.LastVcn + 1) * _boot.ClusterSize;
        RecordCount = Math.Min(data.InitializedSize, mappedBytes) / _boot.MftRecordSize;
    }

    /// <summary>Reads and parses one raw record (fixups applied), without following its attribute list.</summary>
    public FileRecord ReadRecord(long number)
    {
        if (number < 0 || number >= RecordCount)
        {
            throw new CorruptDataException("NTFS", $"MFT record {number}", -1, $"the record number is outside $MFT's {RecordCount} records", _volume.FilePath);
        }
        long position = number * _boot.MftRecordSize;
        byte[] data = new byte[_boot.MftRecordSize];
        _mftData!.ReadAt(position, data);
        long volumeOffset = VolumeOffsetOf(position);
        return FileRecord.ReadFrom(data, number, volumeOffset, _boot.TotalClusters, _volume.FilePath);
    }

    /// <summary>Reads a record's bytes as stored (fixups not applied).</summary>
    public void ReadRawRecord(long number, byte[] buffer)
    {
        if (number < 0 || number >= RecordCount)
        {
            throw new CorruptDataException("NTFS", $"MFT record {number}", -1, $"the record number is outside $MFT's {RecordCount} records", _volume.FilePath);
        }
        _mftData!.ReadAt(number * _boot.MftRecordSize, buffer);
    }

    /// <summary>The base record <paramref name="number"/> with all its attributes; throws when it is not an in-use base record.</summary>
    public NtfsFile GetFile(long number)
    {
        if (_cache.TryGetValue(number, out NtfsFile? cached))
        {
            return cached;
        }
        FileRecord record = ReadRecord(number);
        if (!record.InUse)
        {
            throw new CorruptDataException("NTFS", $"MFT record {number}", VolumeOffsetOf(number * _boot.MftRecordSize), "the record is referenced but not in use", _volume.FilePath);
        }
        if (record.IsExtension)
        {
            throw new CorruptDataException("NTFS", $"MFT record {number}", VolumeOffsetOf(number * _boot.MftRecordSize),
                $"the record is an extension of record {record.BaseRecordNumber}, not a file", _volume.FilePath);
        }
        NtfsFile file = Assemble(record);
        if (_cache.Count >= CacheLimit)
        {
            _cache.Clear();
        }
        _cache[number] = file;
        return file;
    }

    private NtfsFile Assemble(FileRecord record)
    {
        AttributeRecord? list = record.Attributes.FirstOrDefault(a => a.Type == AttributeType.AttributeList);
        if (list is null)
        {
            return new NtfsFile(record, NtfsFile.Merge(record.Attributes, _volume.FilePath));
        }
        if (list.DataSize > MaxAttributeListBytes)
        {
            throw new CorruptDataException("NTFS", $"MFT record {record.RecordNumber} $ATTRIBUTE_LIST", list.VolumeOffset,
                $"the list is {list.DataSize} bytes; at most {MaxAttributeListBytes} are accepted", _volume.FilePath);
        }
        byte[] value = list.IsResident ? list.Value : ReadAll(list);
        List<AttributeListEntry> entries = AttributeListEntry.ReadAll(value, record.RecordNumber, list.VolumeOffset, _volume.FilePath);
        var all = new List<AttributeRecord>(record.Attributes.Where(a => a.Type != AttributeType.AttributeList));
        var seen = new HashSet<long> { record.RecordNumber };
        foreach (long extension in entries.Select(e => e.RecordNumber).Distinct())
        {
            if (!seen.Add(extension))
            {
                continue;
            }
            if (seen.Count > MaxExtensionRecords)
            {
                throw new CorruptDataException("NTFS", $"MFT record {record.RecordNumber} $ATTRIBUTE_LIST", list.VolumeOffset, "the list names too many extension records", _volume.FilePath);
            }
            FileRecord ext = ReadRecord(extension);
            if (!ext.InUse || !ext.IsExtension || ext.BaseRecordNumber != record.RecordNumber)
            {
                throw new CorruptDataException("NTFS", $"MFT record {extension}", VolumeOffsetOf(extension * _boot.MftRecordSize),
                    $"$ATTRIBUTE_LIST of record {record.RecordNumber} names this record, but its base record is {ext.BaseRecordNumber}{(ext.InUse ? string.Empty : " and it is not in use")}", _volume.FilePath);
            }
            all.AddRange(ext.Attributes);
        }
        return new NtfsFile(record, NtfsFile.Merge(all, _volume.FilePath));
    }

    public AttributeStream OpenAttribute(AttributeRecord attribute) => new(_volume, attribute, _boot.ClusterSize);

    public byte[] ReadAll(AttributeRecord attribute)
    {
        if (attribute.IsResident)
        {
            return attribute.Value;
        }
        using AttributeStream stream = OpenAttribute(attribute);
        byte[] data = new byte[attribute.DataSize];
        stream.ReadAt(0, data);
        return data;
    }

    // The byte offset in the volume of a position in $MFT, for error messages; -1 when unmapped.
    private long VolumeOffsetOf(long mftPosition)
    {
        long vcn = mftPosition / _boot.ClusterSize;
        foreach (DataRun run in _mftRuns)
        {
            if (vcn >= run.Vcn && vcn < run.Vcn + run.Length && !run.IsSparse)
            {
                return ((run.Lcn + (vcn - run.Vcn)) * _boot.ClusterSize) + (mftPosition % _boot.ClusterSize);
            }
        }
        return -1;
    }
}
