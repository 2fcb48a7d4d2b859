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

    // Node bytes a root is given once its directory has an attribute list: a few entries (Windows keeps the root of a
    // large directory small), the rest of the tree in INDX records.
    private const int ListModeRootNodeBytes = 0x100;

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

    /// <summary>
    /// Replaces the entry whose key equals <paramref name="entry"/>'s (a file's $FILE_NAME refreshed with new sizes and
    /// times: same name, so same place in the tree), or adds it when there is none: one edit of the index instead of a
    /// removal and an insert.
    /// </summary>
    public void Update(long directory, IndexEntry entry) => Edit(directory, DirectoryIndex, tree =>
    {
        if (!tree.Update(entry))
        {
            tree.Insert(entry);
        }
    });

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
        try
        {
            EditCore(directory, index, edit, persist);
        }
        catch
        {
            // Part of the edit may be staged and cached; the caller rolls the staged part back, and the cache must not
            // keep anything of it either.
            _writer.Mft.IndexNodes.Forget(directory);
            throw;
        }
    }

    private void EditCore(long directory, ViewIndex index, Action<IndexTree> edit, bool persist)
    {
        string indexName = index.Name;
        FileRecords file = FileRecords.Load(_writer, directory);
        string structure = $"MFT record {directory} {indexName}";
        AttributeRecord root = file.Find(AttributeType.IndexRoot, indexName)
            ?? throw new CorruptDataException("NTFS", structure, -1, "the file has no $INDEX_ROOT for the index", _writer.FilePath);
        if (!root.IsResident)
        {
            throw new CorruptDataException("NTFS", structure, root.VolumeOffset, "$INDEX_ROOT is not resident", _writer.FilePath);
        }
        IndexRoot header = IndexRoot.ReadFrom(root.Value, structure, root.VolumeOffset, _writer.FilePath);
        sbyte clustersPerRecord = unchecked((sbyte)root.Value[0x0C]);
        List<IndexEntry> rootEntries = IndexNode.ReadEntries(root.Value, IndexRoot.NodeHeaderOffset, structure, root.VolumeOffset, _writer.FilePath, index.FileNameKeys);
        AttributeRecord? allocation = file.Find(AttributeType.IndexAllocation, indexName);
        AttributeRecord? bitmap = file.Find(AttributeType.Bitmap, indexName);
        byte[] bitmapValue = bitmap is null ? Array.Empty<byte>() : bitmap.IsResident ? bitmap.Value : new byte[bitmap.DataSize];
        if (bitmap is { IsResident: false })
        {
            _writer.ReadThroughRuns(bitmap.Runs, 0, bitmapValue, $"{structure} $BITMAP");
        }

        int recordSize = header.IndexRecordSize;
        long vcnUnit = recordSize >= _writer.ClusterSize ? _writer.ClusterSize : UpdateSequence.Stride;
        int vcnsPerRecord = (int)(recordSize / vcnUnit);
        IReadOnlyList<DataRun> allocationRuns = allocation?.Runs ?? Array.Empty<DataRun>();
        long allocationSize = allocation?.DataSize ?? 0;
        // A directory's nodes come from (and go back to) the cache the lookups share; view indexes are read each time.
        IndexNodeCache? cache = indexName == DirectoryIndexName && index.FileNameKeys ? _writer.Mft.IndexNodes : null;
        List<IndexEntry> LoadNode(long vcn)
        {
            string nodeStructure = $"{structure} index record VCN {vcn}";
            long position = vcn * vcnUnit;
            if (vcn < 0 || position > allocationSize - recordSize)
            {
                throw new CorruptDataException("NTFS", nodeStructure, -1, $"the node lies outside the {allocationSize}-byte $INDEX_ALLOCATION", _writer.FilePath);
            }
            if (cache is not null && cache.TryGet(directory, vcn, out List<IndexEntry> cached))
            {
                return cached; // the tree copies what it is given
            }
            byte[] data = new byte[recordSize];
            _writer.ReadThroughRuns(allocationRuns, position, data, nodeStructure);
            List<IndexEntry> node = IndexRecord.ReadFrom(data, vcn, nodeStructure, -1, _writer.FilePath, index.FileNameKeys);
            cache?.Put(directory, vcn, node);
            return node;
        }

        // Without an attribute list the index attributes share the base record and the root gets the room the others
        // leave; with one, the root is kept small and the layout places each attribute where it fits.
        int rootAttributeOverhead = AttributeRecord.Align8(0x18 + (2 * indexName.Length)) + IndexRoot.NodeHeaderOffset;
        int listRootCapacity = Math.Min(_writer.RecordSize - FileRecord.FirstAttributePosition(_writer.RecordSize) - 8 - rootAttributeOverhead,
            Math.Max(ListModeRootNodeBytes, IndexNode.NodeSize(rootEntries)));
        bool listMode = file.HasAttributeList;
        int recordBytesWithoutRoot = file.Base.UsedSize(_writer.RecordSize) - root.Raw.Length;
        int reserve = (allocation is null ? AllocationAttributeReserve : 0) + (bitmap is null ? BitmapAttributeReserve : 0);
        int maxRootNodeBytes = listMode ? listRootCapacity : _writer.RecordSize - recordBytesWithoutRoot - rootAttributeOverhead - reserve;
        bool[] bits = new bool[bitmapValue.Length * 8];
        for (int i = 0; i < bits.Length; i++)
        {
            bits[i] = (bitmapValue[i >> 3] & (1 << (i & 7))) != 0;
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
        // measured with the attributes exactly as they will be written. When the base record cannot hold them all, the
        // file gets an attribute list and the root a size of its own.
        AttributeRecord? originalAllocation = allocation;
        AttributeRecord? newAllocation = allocation;
        AttributeRecord? newBitmap = bitmap;

        // Most inserts and updates change one leaf: the root, $INDEX_ALLOCATION and $BITMAP stay as they are, and then
        // neither the bitmap nor the directory's records are written again (in a directory of 100,000 names the
        // bitmap has thousands of bits, and its records a long runlist behind an attribute list).
        bool BitmapChanged() => tree.BitmapChanged || bitmap is null || !ReferenceEquals(newAllocation, originalAllocation);
        for (int attempt = 0; ; attempt++)
        {
            long neededBytes = (long)tree.RecordCount * recordSize;
            if (neededBytes > 0 && (newAllocation is null || newAllocation.DataSize < neededBytes))
            {
                newAllocation = GrowAllocation(file, indexName, newAllocation, neededBytes, recordSize, vcnUnit);
            }
            if (newAllocation is not null && BitmapChanged())
            {
                newBitmap = BitmapAttribute(indexName, newBitmap?.Id ?? 0, BitmapValue(tree.Bitmap, newAllocation.DataSize / recordSize), newBitmap);
            }
            if (listMode)
            {
                break;
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
                listMode = true;
                tree.SetRootCapacity(listRootCapacity);
                continue;
            }
            tree.SetRootCapacity(room);
        }
        allocation = newAllocation;
        foreach (KeyValuePair<long, List<IndexEntry>> node in tree.DirtyNodes)
        {
            byte[] encoded = IndexRecord.Encode(recordSize, node.Key, node.Value, NextUpdateSequence());
            _writer.WriteThroughRuns(allocation!.Runs, node.Key * vcnUnit, encoded);
            cache?.Put(directory, node.Key, new List<IndexEntry>(node.Value));
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
            cache?.Forget(directory, vcn);
        }

        bool allocationChanged = !ReferenceEquals(allocation, originalAllocation);
        bool bitmapChanged = allocation is not null && BitmapChanged();
        if (!tree.RootChanged && !allocationChanged && !bitmapChanged)
        {
            return;
        }
        byte[] rootValue = IndexRoot.Encode(header.IndexedAttributeType, header.CollationRule, recordSize, clustersPerRecord, tree.RootEntries);
        // The attribute flags stay: on a compressed folder's $INDEX_ROOT the compressed flag says new files are compressed.
        file.Set(AttributeRecord.CreateResident(AttributeType.IndexRoot, indexName, root.Id, rootValue, flags: root.Flags));
        if (allocation is not null && allocationChanged)
        {
            file.Set(allocation);
        }
        if (allocation is not null && bitmapChanged)
        {
            byte[] value = BitmapValue(tree.Bitmap, allocation.DataSize / recordSize);
            AttributeRecord finalBitmap = BitmapAttribute(indexName, bitmap?.Id ?? file.NewAttributeId(), value, newBitmap);
            if (!finalBitmap.IsResident)
            {
                _writer.WriteThroughRuns(finalBitmap.Runs, 0, value);
            }
            file.Set(finalBitmap);
        }
        file.Save();
    }

    // Grows $INDEX_ALLOCATION to at least neededBytes, by a quarter of its size at a time (fewer, longer runs), and
    // writes the new records as empty INDX records so that every record in the allocation is well-formed.
    private AttributeRecord GrowAllocation(FileRecords file, string indexName, AttributeRecord? allocation, long neededBytes, int recordSize, long vcnUnit)
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
        ushort id = allocation?.Id ?? file.NewAttributeId();
        for (long position = haveBytes; position + recordSize <= targetBytes; position += recordSize)
        {
            _writer.WriteThroughRuns(runs, position, IndexRecord.Encode(recordSize, position / vcnUnit, new[] { IndexEntry.Last() }, NextUpdateSequence()));
            if (indexName == DirectoryIndexName)
            {
                _writer.Mft.IndexNodes.Forget(file.Base.RecordNumber, position / vcnUnit);
            }
        }
        return AttributeRecord.CreateNonResident(AttributeType.IndexAllocation, indexName, id, 0, runs, needClusters * clusterSize, targetBytes, targetBytes);
    }

    // The index's $BITMAP value: one bit per INDX record in use, in whole 8-byte words covering every allocated record.
    private static byte[] BitmapValue(bool[] inUse, long allocatedRecords)
    {
        byte[] value = new byte[Math.Max(8, ((Math.Max(allocatedRecords, inUse.Length) + 63) / 64) * 8)];
        for (int i = 0; i < inUse.Length; i++)
        {
            if (inUse[i])
            {
                value[i >> 3] |= (byte)(1 << (i & 7));
            }
        }
        return value;
    }

    // The $BITMAP attribute for a value: resident while it is small, else (or when it already was) non-resident, its
    // clusters grown to hold the value; the caller writes a non-resident value through the runs.
    private AttributeRecord BitmapAttribute(string indexName, ushort id, byte[] value, AttributeRecord? current)
    {
        int residentLength = AttributeRecord.Align8(0x18 + (2 * indexName.Length)) + AttributeRecord.Align8(value.Length);
        if (current is not { IsResident: false } && residentLength <= (_writer.RecordSize - FileRecord.FirstAttributePosition(_writer.RecordSize)) / 2)
        {
            return AttributeRecord.CreateResident(AttributeType.Bitmap, indexName, id, value);
        }
        long clusterSize = _writer.ClusterSize;
        var runs = new List<DataRun>(current is { IsResident: false } ? current.Runs : Array.Empty<DataRun>());
        long have = runs.Count == 0 ? 0 : runs[runs.Count - 1].Vcn + runs[runs.Count - 1].Length;
        long need = (value.Length + clusterSize - 1) / clusterSize;
        if (need > have)
        {
            long hint = runs.Count > 0 ? runs[runs.Count - 1].Lcn + runs[runs.Count - 1].Length : -1;
            runs.AddRange(_writer.AllocateRuns(have, need - have, hint));
            runs = VolumeWriter.MergeRuns(runs);
            have = need;
        }
        return AttributeRecord.CreateNonResident(AttributeType.Bitmap, indexName, id, 0, runs, have * clusterSize, value.Length, value.Length);
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
