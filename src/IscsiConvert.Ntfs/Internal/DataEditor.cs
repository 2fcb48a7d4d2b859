using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Changes the length and content of a file's data stream ($DATA, unnamed or named): small values stay resident in the
/// MFT record, larger ones move to clusters; growth allocates clusters next to the last run (fragmenting only when the
/// volume has no gap large enough); truncation frees clusters. Bytes between the initialized size and a write are
/// zeroed first, as NTFS requires, so old cluster contents never show through. Sparse streams grow by a hole, and a
/// write into a hole allocates clusters for just the clusters it covers; LZNT1-compressed streams are edited a
/// compression unit at a time (<see cref="CompressedDataEditor"/>).
/// </summary>
internal sealed class DataEditor
{
    private readonly VolumeWriter _writer;
    private readonly CompressedDataEditor _compressed;

    public DataEditor(VolumeWriter writer)
    {
        _writer = writer;
        _compressed = new CompressedDataEditor(writer);
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
        RefuseEncrypted(fileRecord, data);
        if (data.IsCompressed)
        {
            file.Set(_compressed.SetLength(data, length));
        }
        else
        {
            file.Set(ResizeNonResident(data, length));
        }
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

        RefuseEncrypted(fileRecord, data);
        if (data.IsCompressed)
        {
            file.Set(_compressed.Write(data, position, bytes));
            file.Save();
            return;
        }

        // Clusters past the initialized size hold whatever was there before: zero the gap up to this write first.
        long initialized = data.InitializedSize;
        if (position > initialized)
        {
            ZeroRange(data.Runs, initialized, position - initialized);
        }
        IReadOnlyList<DataRun> runs = data.Runs;
        if (data.IsSparse)
        {
            runs = FillHoles(runs, position, end);
        }
        _writer.WriteThroughRuns(runs, position, bytes);
        if (end > initialized || !ReferenceEquals(runs, data.Runs))
        {
            file.Set(Rebuild(data, runs, data.AllocatedSize, data.DataSize, Math.Max(end, initialized)));
            file.Save();
        }
    }

    private void RefuseEncrypted(long fileRecord, AttributeRecord data)
    {
        if (data.IsEncrypted)
        {
            throw new UnsupportedFormatException($"MFT record {fileRecord}: writing an EFS-encrypted stream is not supported.", _writer.FilePath);
        }
    }

    // A write into holes of a sparse stream gets clusters for the clusters it covers (cluster granularity, as ntfs-3g
    // allocates); what the write leaves of those clusters is zeroed, since the hole read as zeros.
    private IReadOnlyList<DataRun> FillHoles(IReadOnlyList<DataRun> runs, long position, long end)
    {
        long firstVcn = position / ClusterSize;
        long endVcn = (end + ClusterSize - 1) / ClusterSize;
        List<DataRun> result = runs.ToList();
        bool changed = false;
        foreach (DataRun hole in runs.Where(r => r.IsSparse && r.Vcn < endVcn && r.Vcn + r.Length > firstVcn))
        {
            long from = Math.Max(hole.Vcn, firstVcn);
            long to = Math.Min(hole.Vcn + hole.Length, endVcn);
            List<DataRun> fresh = _writer.AllocateRuns(from, to - from, NextLcnBefore(result, from));
            result = Splice(result, from, to - from, fresh, out _);
            changed = true;
            foreach (DataRun run in fresh)
            {
                long a = run.Vcn * ClusterSize;
                long b = (run.Vcn + run.Length) * ClusterSize;
                if (a < position)
                {
                    ZeroRange(fresh, a, Math.Min(b, position) - a);
                }
                if (b > end)
                {
                    long z = Math.Max(a, end);
                    ZeroRange(fresh, z, b - z);
                }
            }
        }
        return changed ? VolumeWriter.MergeRuns(result) : runs;
    }

    /// <summary>The cluster after the last stored cluster before <paramref name="vcn"/> (where new clusters for it
    /// continue the file best), or -1.</summary>
    internal static long NextLcnBefore(IReadOnlyList<DataRun> runs, long vcn)
    {
        for (int i = runs.Count - 1; i >= 0; i--)
        {
            DataRun run = runs[i];
            if (run.Vcn >= vcn || run.IsSparse)
            {
                continue;
            }
            return run.Lcn + Math.Min(run.Length, vcn - run.Vcn);
        }
        return -1;
    }

    /// <summary>
    /// The runlist with VCNs <paramref name="vcn"/>..+<paramref name="count"/> replaced by <paramref name="replacement"/>
    /// (which maps exactly that range); <paramref name="removed"/> gets the runs cut out (to free). Runs stay in VCN order.
    /// </summary>
    internal static List<DataRun> Splice(IReadOnlyList<DataRun> runs, long vcn, long count, IReadOnlyList<DataRun> replacement, out List<DataRun> removed)
    {
        long end = vcn + count;
        var result = new List<DataRun>();
        removed = new List<DataRun>();
        bool inserted = false;
        foreach (DataRun run in runs)
        {
            long runEnd = run.Vcn + run.Length;
            if (runEnd <= vcn || run.Vcn >= end)
            {
                if (run.Vcn >= end && !inserted)
                {
                    result.AddRange(replacement);
                    inserted = true;
                }
                result.Add(run);
                continue;
            }
            if (run.Vcn < vcn)
            {
                result.Add(new DataRun(run.Vcn, run.Lcn, vcn - run.Vcn));
            }
            long cutFrom = Math.Max(run.Vcn, vcn);
            long cutTo = Math.Min(runEnd, end);
            removed.Add(new DataRun(cutFrom, run.IsSparse ? -1 : run.Lcn + (cutFrom - run.Vcn), cutTo - cutFrom));
            if (runEnd > end)
            {
                if (!inserted)
                {
                    result.AddRange(replacement);
                    inserted = true;
                }
                result.Add(new DataRun(end, run.IsSparse ? -1 : run.Lcn + (end - run.Vcn), runEnd - end));
            }
        }
        if (!inserted)
        {
            result.AddRange(replacement);
        }
        return result;
    }

    // A resident value that no longer fits the base record moves to clusters.
    private void ReplaceResident(FileRecords file, AttributeRecord data, byte[] value)
    {
        file.Set(AttributeRecord.CreateResident(data.Type, data.Name, data.Id, value, data.ResidentFlags, data.Flags));
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
        if (data.IsCompressed)
        {
            ToCompressedClusters(file, data, value, length);
            return;
        }
        long clusters = (length + ClusterSize - 1) / ClusterSize;
        List<DataRun> runs = VolumeWriter.MergeRuns(_writer.AllocateRuns(0, clusters, HintFor()));
        _writer.WriteThroughRuns(runs, 0, value);
        file.Set(AttributeRecord.CreateNonResident(data.Type, data.Name, data.Id, 0, runs, clusters * ClusterSize, length, value.Length));
        file.Save();
    }

    // A resident stream marked compressed (a file made in a compressed folder) becomes an LZNT1-compressed stream, as
    // Windows and ntfs-3g store it: 16-cluster compression units, the value written through the unit editor (each unit
    // compressed when that saves a cluster), the rest of the length holes.
    private void ToCompressedClusters(FileRecords file, AttributeRecord data, byte[] value, long length)
    {
        if (ClusterSize > 4096)
        {
            throw new UnsupportedFormatException($"MFT record {file.Base.RecordNumber}: NTFS compresses only with clusters of at most 4 KiB; this volume's are {ClusterSize} bytes.", _writer.FilePath);
        }
        AttributeRecord empty = AttributeRecord.CreateNonResident(data.Type, data.Name, data.Id, AttributeRecord.FlagCompressed, Array.Empty<DataRun>(), 0, 0, 0,
            StandardCompressionUnit, 0);
        AttributeRecord sized = _compressed.SetLength(empty, length);
        file.Set(value.Length == 0 ? sized : _compressed.Write(sized, 0, value));
        file.Save();
    }

    // 2^4 clusters per compression unit: what Windows uses (with clusters of up to 4 KiB).
    private const int StandardCompressionUnit = 4;

    // Growth allocates clusters (a sparse stream grows by a hole instead); truncation frees the clusters past the end.
    private AttributeRecord ResizeNonResident(AttributeRecord data, long length)
    {
        long haveClusters = data.LastVcn + 1;
        long needClusters = (length + ClusterSize - 1) / ClusterSize;
        List<DataRun> runs = data.Runs.ToList();
        if (needClusters > haveClusters && data.IsSparse)
        {
            runs.Add(new DataRun(haveClusters, -1, needClusters - haveClusters));
        }
        else if (needClusters > haveClusters)
        {
            long hint = runs.Count > 0 && !runs[runs.Count - 1].IsSparse ? runs[runs.Count - 1].Lcn + runs[runs.Count - 1].Length : HintFor();
            runs.AddRange(_writer.AllocateRuns(haveClusters, needClusters - haveClusters, hint));
        }
        else if (needClusters < haveClusters)
        {
            runs = Truncate(runs, needClusters);
        }
        runs = VolumeWriter.MergeRuns(runs);
        long initialized = Math.Min(data.InitializedSize, length);
        return Rebuild(data, runs, needClusters * ClusterSize, length, initialized);
    }

    /// <summary>The runs cut at <paramref name="clusters"/> clusters; the clusters past it are freed.</summary>
    internal List<DataRun> Truncate(IReadOnlyList<DataRun> runs, long clusters)
    {
        long have = runs.Count == 0 ? 0 : runs[runs.Count - 1].Vcn + runs[runs.Count - 1].Length;
        if (have <= clusters)
        {
            return runs.ToList();
        }
        List<DataRun> kept = Splice(runs, clusters, have - clusters, Array.Empty<DataRun>(), out List<DataRun> freed);
        _writer.FreeRuns(freed);
        return kept;
    }

    // The attribute again with new runs and sizes; a sparse or compressed one also gets its compressed size (the bytes
    // of the clusters its runs store).
    private AttributeRecord Rebuild(AttributeRecord data, IReadOnlyList<DataRun> runs, long allocated, long size, long initialized) =>
        Rebuild(data, runs, allocated, size, initialized, ClusterSize);

    internal static AttributeRecord Rebuild(AttributeRecord data, IReadOnlyList<DataRun> runs, long allocated, long size, long initialized, long clusterSize)
    {
        long stored = AttributeRecord.HasCompressedSize(data.Flags) ? runs.Where(r => !r.IsSparse).Sum(r => r.Length) * clusterSize : 0;
        return AttributeRecord.CreateNonResident(data.Type, data.Name, data.Id, data.Flags, runs, allocated, size, initialized, data.CompressionUnit, stored);
    }

    // Zeros what the range covers of stored clusters (holes read as zeros already).
    private void ZeroRange(IReadOnlyList<DataRun> runs, long position, long length)
    {
        byte[] zeros = new byte[(int)Math.Min(length, 1 << 20)];
        long end = position + length;
        foreach (DataRun run in runs.Where(r => !r.IsSparse))
        {
            long from = Math.Max(position, run.Vcn * ClusterSize);
            long to = Math.Min(end, (run.Vcn + run.Length) * ClusterSize);
            while (from < to)
            {
                int n = (int)Math.Min(to - from, zeros.Length);
                _writer.WriteThroughRuns(runs, from, zeros.AsSpan(0, n));
                from += n;
            }
        }
    }

    // No better place is known: continue where the last allocation ended (keeps files written together contiguous).
    private static long HintFor() => -1;

    /// <summary>The file's records and the stream, whole (all its extents joined).</summary>
    private (FileRecords File, AttributeRecord Data) Locate(long fileRecord, string stream)
    {
        FileRecords file = FileRecords.Load(_writer, fileRecord);
        AttributeRecord data = file.Find(AttributeType.Data, stream) ?? throw new InvalidOperationException($"MFT record {fileRecord} has no such data stream.");
        return (file, data);
    }
}
