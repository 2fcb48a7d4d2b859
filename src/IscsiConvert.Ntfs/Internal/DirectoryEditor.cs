using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Edits an index on the volume — a directory's $I30, or a view index such as $Secure's $SII and $SDH: loads the B-tree
/// into an <see cref="IndexTree"/>, applies an insert or removal there, and writes back what changed — $INDEX_ROOT in
/// the file's record, the INDX records of $INDEX_ALLOCATION (grown when the tree needs more nodes) and the $BITMAP of
/// nodes in use. Directory keys are $FILE_NAME values; view index keys are opaque bytes ordered by the given collation.
/// </summary>
internal sealed class DirectoryEditor
{
    private const string DirectoryIndexName = "$I30";

    // Room kept in a record for $INDEX_ALLOCATION (non-resident, named, a few runs) and $BITMAP (resident, named) when
    // the root grows into a large index and they must be added.
    private const int AllocationAttributeReserve = 0x60;
    private const int BitmapAttributeReserve = 0x30;

    private readonly VolumeWriter _writer;
    private readonly UpCaseTable _upcase;
    private ushort _updateSequence = 1;

    public DirectoryEditor(VolumeWriter writer, UpCaseTable upcase)
    {
        _writer = writer;
        _upcase = upcase;
    }

    /// <summary>$I30 order: names compared through the volume's $UpCase, exact case breaking ties.</summary>
    private Comparison<IndexEntry> Compare => _compare ??= IndexTree.FileNameCollation(_upcase);

    private Comparison<IndexEntry>? _compare;

    public void Insert(long directory, IndexEntry entry) => Edit(directory, DirectoryIndex, tree => tree.Insert(entry));

    /// <summary>Removes the entry whose key is exactly <paramref name="key"/>'s; false when there is none.</summary>
    public bool Remove(long directory, IndexEntry key)
    {
        bool removed = false;
        Edit(directory, DirectoryIndex, tree => removed = tree.Remove(key));
        return removed;
    }

    /// <summary>Adds an entry to the view index <paramref name="index"/> of MFT record <paramref name="file"/>.</summary>
    public void InsertView(long file, ViewIndex index, IndexEntry entry) => Edit(file, index, tree => tree.Insert(entry));

    /// <summary>Every entry of the view index <paramref name="index"/> of MFT record <paramref name="file"/>, in key order (nothing is written).</summary>
    public IReadOnlyList<IndexEntry> EnumerateView(long file, ViewIndex index)
    {
        IReadOnlyList<IndexEntry> entries = Array.Empty<IndexEntry>();
        Edit(file, index, tree => entries = tree.Enumerate(), persist: false);
        return entries;
    }

    private ViewIndex DirectoryIndex => _directoryIndex ??= new ViewIndex(DirectoryIndexName, Compare, FileNameKeys: true);

    private ViewIndex? _directoryIndex;

    private void Edit(long directory, ViewIndex index, Action<IndexTree> edit, bool persist = true)
    {
        string indexName = index.Name;
        FileRecord record = _writer.ReadRecord(directory);
        string structure = $"MFT record {directory} {indexName}";
        int rootIndex = record.Attributes.FindIndex(a => a.Type == AttributeType.IndexRoot && a.Name == indexName);
        if (rootIndex < 0 || !record.Attributes[rootIndex].IsResident)
        {
            throw new UnsupportedFormatException($"{structure}: the directory's index root is not in its base record; editing it is not supported.", _writer.FilePath);
        }
        AttributeRecord root = record.Attributes[rootIndex];
        IndexRoot header = IndexRoot.ReadFrom(root.Value, structure, root.VolumeOffset, _writer.FilePath);
        sbyte clustersPerRecord = unchecked((sbyte)root.Value[0x0C]);
        List<IndexEntry> rootEntries = IndexNode.ReadEntries(root.Value, IndexRoot.NodeHeaderOffset, structure, root.VolumeOffset, _writer.FilePath, index.FileNameKeys);
        AttributeRecord? allocation = record.Attributes.FirstOrDefault(a => a.Type == AttributeType.IndexAllocation && a.Name == indexName);
        AttributeRecord? bitmap = record.Attributes.FirstOrDefault(a => a.Type == AttributeType.Bitmap && a.Name == indexName);
        bool hasAttributeList = record.Attributes.Any(a => a.Type == AttributeType.AttributeList);
        if (hasAttributeList && (allocation is null) != (_writer.Mft.GetFile(directory).Find(AttributeType.IndexAllocation, indexName) is null))
        {
            throw new UnsupportedFormatException($"{structure}: the directory's index allocation is in an extension record; editing it is not supported.", _writer.FilePath);
        }
        if (bitmap is { IsResident: false })
        {
            throw new UnsupportedFormatException($"{structure}: a non-resident index bitmap is not supported.", _writer.FilePath);
        }

        int recordSize = header.IndexRecordSize;
        long vcnUnit = recordSize >= _writer.ClusterSize ? _writer.ClusterSize : UpdateSequence.Stride;
        int vcnsPerRecord = (int)(recordSize / vcnUnit);
        IReadOnlyList<DataRun> allocationRuns = allocation?.Runs ?? Array.Empty<DataRun>();
        long allocationSize = allocation?.DataSize ?? 0;
        List<IndexEntry> LoadNode(long vcn)
        {
            string nodeStructure = $"{structure} index record VCN {vcn}";
            long position = vcn * vcnUnit;
            if (vcn < 0 || position > allocationSize - recordSize)
            {
                throw new CorruptDataException("NTFS", nodeStructure, -1, $"the node lies outside the {allocationSize}-byte $INDEX_ALLOCATION", _writer.FilePath);
            }
            byte[] data = new byte[recordSize];
            _writer.ReadThroughRuns(allocationRuns, position, data, nodeStructure);
            return IndexRecord.ReadFrom(data, vcn, nodeStructure, -1, _writer.FilePath, index.FileNameKeys);
        }

        int recordBytesWithoutRoot = record.UsedSize(_writer.RecordSize) - root.Raw.Length;
        int rootAttributeOverhead = AttributeRecord.Align8(0x18 + (2 * indexName.Length)) + IndexRoot.NodeHeaderOffset;
        int reserve = (allocation is null ? AllocationAttributeReserve : 0) + (bitmap is null ? BitmapAttributeReserve : 0);
        int maxRootNodeBytes = _writer.RecordSize - recordBytesWithoutRoot - rootAttributeOverhead - reserve;
        var bits = new List<bool>();
        if (bitmap is not null)
        {
            for (int i = 0; i < bitmap.Value.Length * 8; i++)
            {
                bits.Add((bitmap.Value[i >> 3] & (1 << (i & 7))) != 0);
            }
        }

        var tree = new IndexTree(rootEntries, recordSize, vcnsPerRecord, LoadNode, bits, index.Compare, Math.Max(IndexTree.MinimumRootNodeBytes, maxRootNodeBytes), structure);
        edit(tree);
        if (!persist)
        {
            return;
        }

        // Settle the layout: $INDEX_ALLOCATION must span the highest node in use, and growing its runlist — and the
        // $BITMAP value with it, 8 bytes per 64 records — takes room from the root in the same record; when the root no
        // longer fits, the tree moves root entries down a level (which may need more records, so settle again). Room is
        // measured with the attributes exactly as they will be written, so the record always fits when the loop ends.
        AttributeRecord? newAllocation = allocation;
        AttributeRecord? newBitmap = bitmap;
        for (int attempt = 0; ; attempt++)
        {
            long neededBytes = (long)tree.RecordCount * recordSize;
            if (neededBytes > 0 && (newAllocation is null || newAllocation.DataSize < neededBytes))
            {
                newAllocation = GrowAllocation(record, indexName, newAllocation, neededBytes, recordSize, vcnUnit);
            }
            if (newAllocation is not null)
            {
                newBitmap = BitmapAttribute(indexName, bitmap?.Id ?? 0, tree.Bitmap, newAllocation.DataSize / recordSize);
            }
            int withoutRoot = recordBytesWithoutRoot - (allocation?.Raw.Length ?? 0) + (newAllocation?.Raw.Length ?? 0)
                - (bitmap?.Raw.Length ?? 0) + (newBitmap?.Raw.Length ?? 0);
            int room = _writer.RecordSize - withoutRoot - rootAttributeOverhead;
            if (IndexNode.NodeSize(tree.RootEntries) <= room)
            {
                break;
            }
            if (attempt >= 8 || room < IndexTree.MinimumRootNodeBytes)
            {
                throw new UnsupportedFormatException($"{structure}: the directory's index attributes no longer fit its MFT record (its index allocation is too fragmented).", _writer.FilePath);
            }
            tree.SetRootCapacity(room);
        }
        allocation = newAllocation;
        foreach (KeyValuePair<long, List<IndexEntry>> node in tree.DirtyNodes)
        {
            byte[] encoded = IndexRecord.Encode(recordSize, node.Key, node.Value, NextUpdateSequence());
            _writer.WriteThroughRuns(allocation!.Runs, node.Key * vcnUnit, encoded);
        }

        // A freed node keeps its bytes on disk; emptied, its old entries are slack that tools report as deleted names
        // instead of live ones (sleuthkit reads every INDX record, whatever the bitmap says).
        foreach (long vcn in tree.FreedNodes)
        {
            if (!tree.DirtyNodes.ContainsKey(vcn) && allocation is not null && (vcn * vcnUnit) + recordSize <= allocation.DataSize)
            {
                byte[] empty = IndexRecord.Encode(recordSize, vcn, new[] { IndexEntry.Last() }, NextUpdateSequence());
                _writer.WriteThroughRuns(allocation.Runs, vcn * vcnUnit, empty);
            }
        }

        byte[] rootValue = IndexRoot.Encode(header.IndexedAttributeType, header.CollationRule, recordSize, clustersPerRecord, tree.RootEntries);
        SetAttribute(record, AttributeRecord.CreateResident(AttributeType.IndexRoot, indexName, root.Id, rootValue));
        if (allocation is not null)
        {
            SetAttribute(record, allocation);
            ushort bitmapId = bitmap?.Id ?? record.TakeAttributeId();
            SetAttribute(record, BitmapAttribute(indexName, bitmapId, tree.Bitmap, allocation.DataSize / recordSize));
        }
        if (record.UsedSize(_writer.RecordSize) > _writer.RecordSize)
        {
            throw new UnsupportedFormatException($"{structure}: the directory's index attributes no longer fit its MFT record.", _writer.FilePath);
        }
        _writer.WriteRecord(record);
    }

    // Grows $INDEX_ALLOCATION to at least neededBytes, by a quarter of its size at a time (fewer, longer runs), and
    // writes the new records as empty INDX records so that every record in the allocation is well-formed.
    private AttributeRecord GrowAllocation(FileRecord record, string indexName, AttributeRecord? allocation, long neededBytes, int recordSize, long vcnUnit)
    {
        long clusterSize = _writer.ClusterSize;
        long haveBytes = allocation?.DataSize ?? 0;
        long targetBytes = Math.Max(neededBytes, haveBytes + Math.Max(4L * recordSize, haveBytes / 4));
        targetBytes = ((targetBytes + recordSize - 1) / recordSize) * recordSize;
        long haveClusters = allocation is null ? 0 : allocation.LastVcn + 1;
        long needClusters = (targetBytes + clusterSize - 1) / clusterSize;
        var runs = new List<DataRun>(allocation?.Runs ?? Array.Empty<DataRun>());
        if (needClusters > haveClusters)
        {
            long hint = runs.Count > 0 ? runs[runs.Count - 1].Lcn + runs[runs.Count - 1].Length : -1;
            runs.AddRange(_writer.AllocateRuns(haveClusters, needClusters - haveClusters, hint));
            runs = VolumeWriter.MergeRuns(runs);
        }
        ushort id = allocation?.Id ?? record.TakeAttributeId();
        for (long position = haveBytes; position + recordSize <= targetBytes; position += recordSize)
        {
            _writer.WriteThroughRuns(runs, position, IndexRecord.Encode(recordSize, position / vcnUnit, new[] { IndexEntry.Last() }, NextUpdateSequence()));
        }
        return AttributeRecord.CreateNonResident(AttributeType.IndexAllocation, indexName, id, 0, runs, needClusters * clusterSize, targetBytes, targetBytes);
    }

    // The index's $BITMAP: one bit per INDX record in use, in whole 8-byte words covering every allocated record.
    private static AttributeRecord BitmapAttribute(string indexName, ushort id, bool[] inUse, long allocatedRecords)
    {
        byte[] value = new byte[Math.Max(8, ((Math.Max(allocatedRecords, inUse.Length) + 63) / 64) * 8)];
        for (int i = 0; i < inUse.Length; i++)
        {
            if (inUse[i])
            {
                value[i >> 3] |= (byte)(1 << (i & 7));
            }
        }
        return AttributeRecord.CreateResident(AttributeType.Bitmap, indexName, id, value);
    }

    /// <summary>Replaces the attribute of the same type and name, or inserts it in type order, then name order (NTFS
    /// keeps a record's attributes sorted by both; ntfs-3g stops looking for a name once it has passed where it would be:
    /// $Secure's $INDEX_ALLOCATION $SDH must come before $SII's).</summary>
    public static void SetAttribute(FileRecord record, AttributeRecord attribute)
    {
        int existing = record.Attributes.FindIndex(a => a.Type == attribute.Type && a.Name == attribute.Name);
        if (existing >= 0)
        {
            record.Attributes[existing] = attribute;
            return;
        }
        string name = attribute.Name.ToUpperInvariant();
        int at = record.Attributes.FindIndex(a => a.Type > attribute.Type
            || (a.Type == attribute.Type && string.CompareOrdinal(a.Name.ToUpperInvariant(), name) > 0));
        record.Attributes.Insert(at < 0 ? record.Attributes.Count : at, attribute);
    }

    private ushort NextUpdateSequence()
    {
        _updateSequence = (ushort)(_updateSequence == 0xFFFE ? 1 : _updateSequence + 1);
        return _updateSequence;
    }
}

/// <summary>An index of a file: its attribute name, key order, and whether its keys are $FILE_NAME values ($I30) or opaque
/// (view indexes such as $SII and $SDH).</summary>
internal sealed record ViewIndex(string Name, Comparison<IndexEntry> Compare, bool FileNameKeys = false)
{
    /// <summary>$Secure's $SII: security id → $SDS entry (COLLATION_NTOFS_ULONG).</summary>
    public static ViewIndex SecurityIds { get; } = new("$SII", IndexTree.CompareUInt32Keys);

    /// <summary>$Secure's $SDH: descriptor hash and security id → $SDS entry (COLLATION_NTOFS_SECURITY_HASH).</summary>
    public static ViewIndex SecurityHashes { get; } = new("$SDH", IndexTree.CompareSecurityHashKeys);
}
