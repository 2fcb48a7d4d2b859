using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Cross-checks a volume's metadata, read-only: $MFTMirr against $MFT, the MFT bitmap against records in use, the
/// cluster bitmap against the runs of every file (clusters in use but free, clusters used twice), and every directory
/// index against the names of the files it lists. Problems are collected, not thrown.
/// </summary>
internal sealed class VolumeVerifier
{
    private const int MaxProblems = 1000;
    private const long MftRecord = 0;
    private const long MftMirrRecord = 1;
    private const long BitmapRecord = 6;

    private readonly MasterFileTable _mft;
    private readonly NtfsBootSector _boot;
    private readonly Func<NtfsFile, DirectoryIndex> _index;
    private readonly List<NtfsProblem> _problems = new();

    public VolumeVerifier(MasterFileTable mft, NtfsBootSector boot, Func<NtfsFile, DirectoryIndex> index)
    {
        _mft = mft;
        _boot = boot;
        _index = index;
    }

    public IReadOnlyList<NtfsProblem> Run()
    {
        Guard(-1, CheckMirror);
        BitArray? mftBitmap = Guard(MftRecord, () => ReadBitmap(_mft.GetFile(MftRecord).Find(AttributeType.Bitmap), "$MFT:$BITMAP"));
        BitArray? clusterBitmap = Guard(BitmapRecord, () => ReadBitmap(_mft.GetFile(BitmapRecord).Find(AttributeType.Data), "$Bitmap"));
        var used = new BitArray((int)Math.Min(int.MaxValue, _boot.TotalClusters));
        for (long r = 0; r < _mft.RecordCount && _problems.Count < MaxProblems; r++)
        {
            long record = r;
            Guard(record, () => CheckRecord(record, mftBitmap, clusterBitmap, used));
        }
        return _problems;
    }

    private void CheckMirror()
    {
        NtfsFile mirror = _mft.GetFile(MftMirrRecord);
        AttributeRecord data = mirror.Find(AttributeType.Data) ?? throw new CorruptDataException("NTFS", "MFT record 1", -1, "$MFTMirr has no data", null);
        int records = (int)Math.Min(16, data.DataSize / _boot.MftRecordSize);
        using AttributeStream mirrorStream = _mft.OpenAttribute(data);
        byte[] a = new byte[_boot.MftRecordSize];
        byte[] b = new byte[_boot.MftRecordSize];
        for (int i = 0; i < records; i++)
        {
            _mft.ReadRawRecord(i, a);
            mirrorStream.ReadAt((long)i * _boot.MftRecordSize, b);
            if (!a.AsSpan().SequenceEqual(b))
            {
                Add(i, "$MFTMirr does not match $MFT for this record");
            }
        }
    }

    private BitArray ReadBitmap(AttributeRecord? attribute, string what)
    {
        if (attribute is null)
        {
            throw new CorruptDataException("NTFS", what, -1, "the bitmap is missing", null);
        }
        return new BitArray(_mft.ReadAll(attribute));
    }

    private void CheckRecord(long r, BitArray? mftBitmap, BitArray? clusterBitmap, BitArray used)
    {
        FileRecord record;
        try
        {
            record = _mft.ReadRecord(r);
        }
        catch (CorruptDataException ex) when (mftBitmap is null || r >= mftBitmap.Length || !mftBitmap[(int)r])
        {
            _ = ex; // an unused record may hold anything
            return;
        }
        if (!record.InUse)
        {
            return;
        }
        if (mftBitmap is not null && (r >= mftBitmap.Length || !mftBitmap[(int)r]))
        {
            Add(r, "the record is in use but free in $MFT's bitmap");
        }
        if (record.IsExtension)
        {
            return; // its attributes are checked with its base record
        }
        NtfsFile file = _mft.GetFile(r);
        // A non-resident $ATTRIBUTE_LIST is not among the file's attributes (the reader joins what it names), but its
        // clusters are the file's as much as its data's.
        IEnumerable<AttributeRecord> lists = file.Record.Attributes.Where(a => a.Type == AttributeType.AttributeList);
        foreach (AttributeRecord attribute in file.Attributes.Concat(lists).Where(a => !a.IsResident))
        {
            foreach (DataRun run in attribute.Runs.Where(x => !x.IsSparse))
            {
                for (long c = run.Lcn; c < run.Lcn + run.Length && c < used.Length; c++)
                {
                    if (clusterBitmap is not null && (c >= clusterBitmap.Length || !clusterBitmap[(int)c]))
                    {
                        Add(r, $"cluster {c} (attribute 0x{attribute.Type:X}{(attribute.Name.Length > 0 ? " " + attribute.Name : string.Empty)}) is in use but free in $Bitmap");
                    }
                    if (used[(int)c])
                    {
                        Add(r, $"cluster {c} (attribute 0x{attribute.Type:X}) is also used by another file (cross-linked)");
                    }
                    used[(int)c] = true;
                    if (_problems.Count >= MaxProblems)
                    {
                        return;
                    }
                }
            }
        }
        if (record.IsDirectory && file.Find(AttributeType.IndexRoot, "$I30") is not null)
        {
            foreach (IndexEntry entry in _index(file).Enumerate())
            {
                if (entry.FileRecordNumber == r && entry.Key!.Name == ".")
                {
                    continue;
                }
                NtfsFile child;
                try
                {
                    child = _mft.GetFile(entry.FileRecordNumber);
                }
                catch (CorruptDataException ex)
                {
                    Add(r, $"index entry \"{entry.Key!.Name}\" names record {entry.FileRecordNumber}: {ex.Problem}");
                    continue;
                }
                if (!child.FileNames.Any(f => f.ParentRecordNumber == r && string.Equals(f.Name, entry.Key!.Name, StringComparison.Ordinal)))
                {
                    Add(r, $"index entry \"{entry.Key!.Name}\" names record {entry.FileRecordNumber}, which has no such $FILE_NAME in this directory");
                }
            }
        }
    }

    private T? Guard<T>(long record, Func<T> check)
        where T : class
    {
        try
        {
            return check();
        }
        catch (CorruptDataException ex)
        {
            Add(record, ex.Message);
            return null;
        }
    }

    private void Guard(long record, Action check) => Guard<object>(record, () =>
    {
        check();
        return new object();
    });

    private void Add(long record, string message)
    {
        if (_problems.Count < MaxProblems)
        {
            _problems.Add(new NtfsProblem(record, message));
        }
    }
}
