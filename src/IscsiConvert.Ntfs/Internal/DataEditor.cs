using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Changes the length and content of a file's data stream ($DATA, unnamed or named): small values stay resident in the
/// MFT record, larger ones move to clusters; growth allocates clusters next to the last run (fragmenting only when the
/// volume has no gap large enough); truncation frees clusters. Bytes between the initialized size and a write are
/// zeroed first, as NTFS requires, so old cluster contents never show through.
/// </summary>
internal sealed class DataEditor
{
    private readonly VolumeWriter _writer;

    public DataEditor(VolumeWriter writer)
    {
        _writer = writer;
    }

    private long ClusterSize => _writer.ClusterSize;

    /// <summary>The stream's current attribute (whole, all extents), or null.</summary>
    public AttributeRecord? Find(long fileRecord, string stream) =>
        _writer.Mft.GetFile(fileRecord).Find(AttributeType.Data, stream);

    /// <summary>Sets the stream's length; new bytes read as zeros.</summary>
    public void SetLength(long fileRecord, string stream, long length)
    {
        if (length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }
        (FileRecords file, AttributeRecord data) = Locate(fileRecord, stream);
        if (data.IsResident)
        {
            if (length == data.Value.Length)
            {
                return;
            }
            if (length > _writer.RecordSize)
            {
                // Too big for any record: straight to clusters, keeping only the old bytes as initialized data (the
                // rest reads as zeros without staging zeros).
                ToClusters(file, data, data.Value, length);
                return;
            }
            byte[] value = new byte[length];
            data.Value.AsSpan(0, (int)Math.Min(length, data.Value.Length)).CopyTo(value);
            ReplaceResident(file, data, value);
            return;
        }
        file.Set(ResizeNonResident(fileRecord, data, length));
        file.Save();
    }

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="position"/>, growing the stream if the write ends past it.</summary>
    public void Write(long fileRecord, string stream, long position, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            return;
        }
        long end = position + bytes.Length;
        AttributeRecord current = Find(fileRecord, stream) ?? throw new InvalidOperationException("The stream does not exist.");
        if (end > current.DataSize)
        {
            SetLength(fileRecord, stream, end);
        }
        (FileRecords file, AttributeRecord data) = Locate(fileRecord, stream);
        if (data.IsResident)
        {
            byte[] value = (byte[])data.Value.Clone();
            bytes.CopyTo(value.AsSpan((int)position));
            ReplaceResident(file, data, value);
            return;
        }

        // Clusters past the initialized size hold whatever was there before: zero the gap up to this write first.
        long initialized = data.InitializedSize;
        if (position > initialized)
        {
            ZeroRange(data.Runs, initialized, position - initialized);
        }
        _writer.WriteThroughRuns(data.Runs, position, bytes);
        if (end > initialized)
        {
            file.Set(Rebuild(data, data.Runs, data.AllocatedSize, data.DataSize, Math.Max(end, initialized)));
            file.Save();
        }
    }

    // A resident value that no longer fits the base record moves to clusters.
    private void ReplaceResident(FileRecords file, AttributeRecord data, byte[] value)
    {
        file.Set(AttributeRecord.CreateResident(data.Type, data.Name, data.Id, value, data.ResidentFlags));
        if (file.FitsBaseRecord())
        {
            file.Save();
            return;
        }
        ToClusters(file, data, value, value.Length);
    }

    // A resident stream moves to clusters for a length of `length` bytes: the value's bytes are written and
    // initialized, the rest of the length reads as zeros without being staged.
    private void ToClusters(FileRecords file, AttributeRecord data, byte[] value, long length)
    {
        long clusters = (length + ClusterSize - 1) / ClusterSize;
        List<DataRun> runs = VolumeWriter.MergeRuns(_writer.AllocateRuns(0, clusters, HintFor(file.Base.RecordNumber)));
        _writer.WriteThroughRuns(runs, 0, value);
        file.Set(AttributeRecord.CreateNonResident(data.Type, data.Name, data.Id, 0, runs, clusters * ClusterSize, length, value.Length));
        file.Save();
    }

    private AttributeRecord ResizeNonResident(long fileRecord, AttributeRecord data, long length)
    {
        if (data.IsCompressed || data.IsEncrypted || (data.Flags & AttributeRecord.FlagSparse) != 0)
        {
            throw new UnsupportedFormatException($"MFT record {fileRecord}: changing the size of a compressed, sparse or encrypted stream is not supported.", _writer.FilePath);
        }
        long haveClusters = data.LastVcn + 1;
        long needClusters = (length + ClusterSize - 1) / ClusterSize;
        List<DataRun> runs = data.Runs.ToList();
        if (needClusters > haveClusters)
        {
            long hint = runs.Count > 0 && !runs[runs.Count - 1].IsSparse ? runs[runs.Count - 1].Lcn + runs[runs.Count - 1].Length : HintFor(fileRecord);
            runs.AddRange(_writer.AllocateRuns(haveClusters, needClusters - haveClusters, hint));
        }
        else if (needClusters < haveClusters)
        {
            var kept = new List<DataRun>();
            var freed = new List<DataRun>();
            foreach (DataRun run in runs)
            {
                if (run.Vcn + run.Length <= needClusters)
                {
                    kept.Add(run);
                }
                else if (run.Vcn >= needClusters)
                {
                    freed.Add(run);
                }
                else
                {
                    long keep = needClusters - run.Vcn;
                    kept.Add(new DataRun(run.Vcn, run.Lcn, keep));
                    freed.Add(new DataRun(needClusters, run.IsSparse ? -1 : run.Lcn + keep, run.Length - keep));
                }
            }
            _writer.FreeRuns(freed);
            runs = kept;
        }
        runs = VolumeWriter.MergeRuns(runs);
        long initialized = Math.Min(data.InitializedSize, length);
        return Rebuild(data, runs, needClusters * ClusterSize, length, initialized);
    }

    private static AttributeRecord Rebuild(AttributeRecord data, IReadOnlyList<DataRun> runs, long allocated, long size, long initialized) =>
        AttributeRecord.CreateNonResident(data.Type, data.Name, data.Id, data.Flags, runs, allocated, size, initialized);

    private void ZeroRange(IReadOnlyList<DataRun> runs, long position, long length)
    {
        byte[] zeros = new byte[(int)Math.Min(length, 1 << 20)];
        while (length > 0)
        {
            int n = (int)Math.Min(length, zeros.Length);
            _writer.WriteThroughRuns(runs, position, zeros.AsSpan(0, n));
            position += n;
            length -= n;
        }
    }

    // No better place is known: continue where the last allocation ended (keeps files written together contiguous).
    private static long HintFor(long recordNumber) => -1;

    /// <summary>The file's records and the stream, whole (all its extents joined).</summary>
    private (FileRecords File, AttributeRecord Data) Locate(long fileRecord, string stream)
    {
        FileRecords file = FileRecords.Load(_writer, fileRecord);
        AttributeRecord data = file.Find(AttributeType.Data, stream) ?? throw new InvalidOperationException($"MFT record {fileRecord} has no such data stream.");
        return (file, data);
    }
}
