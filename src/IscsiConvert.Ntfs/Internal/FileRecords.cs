using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// A file's attributes as one editable set, wherever its MFT records hold them: the base record and the extension records
/// its $ATTRIBUTE_LIST names. Callers replace whole attributes (a non-resident one with its complete runlist); <see
/// cref="Save"/> lays the set out again. Everything that fits the base record goes there alone (an attribute list that
/// is no longer needed goes away, its extension records are freed). Otherwise $STANDARD_INFORMATION and the
/// $ATTRIBUTE_LIST stay in the base record, the other attributes fill it in type order, the rest go to extension records
/// (the file's own first, new ones when those are full) pointing back to the base record, runlists too long for one
/// record are split into extents by VCN, and the list — one entry per attribute and extent, sorted by type, name and
/// lowest VCN — moves to clusters when it would crowd the base record.
/// </summary>
internal sealed class FileRecords
{
    private readonly VolumeWriter _writer;
    private readonly FileRecord _base;
    private readonly List<FileRecord> _extensions;
    private readonly AttributeRecord? _list;
    private readonly List<Slot> _slots;

    private FileRecords(VolumeWriter writer, FileRecord baseRecord, List<FileRecord> extensions, AttributeRecord? list, List<Slot> slots)
    {
        _writer = writer;
        _base = baseRecord;
        _extensions = extensions;
        _list = list;
        _slots = slots;
    }

    /// <summary>One attribute of the file: its extents as stored, or the whole attribute that replaces them.</summary>
    private sealed class Slot
    {
        public Slot(List<AttributeRecord> extents, AttributeRecord merged)
        {
            Extents = extents;
            Current = merged;
        }

        public List<AttributeRecord> Extents { get; }

        /// <summary>The attribute whole (extents joined); the replacement once <see cref="Changed"/>.</summary>
        public AttributeRecord Current { get; set; }

        public bool Changed { get; set; }
    }

    /// <summary>The base record as loaded (header fields such as flags and link count are written back from it).</summary>
    public FileRecord Base => _base;

    /// <summary>The extension records the file's attribute list names (in record order).</summary>
    public IReadOnlyList<FileRecord> ExtensionRecords => _extensions;

    /// <summary>True when the file has an $ATTRIBUTE_LIST (some of its attributes may live in extension records).</summary>
    public bool HasAttributeList => _list is not null;

    private int RecordSize => _writer.RecordSize;

    // The bytes of attributes an empty record holds (after its header and update sequence array, before the end marker).
    private int EmptyRecordRoom => RecordSize - FileRecord.FirstAttributePosition(RecordSize) - 8;

    /// <summary>Reads base record <paramref name="number"/> and every extension record its attribute list names.</summary>
    public static FileRecords Load(VolumeWriter writer, long number)
    {
        FileRecord baseRecord = writer.ReadRecord(number);
        if (!baseRecord.InUse || baseRecord.IsExtension)
        {
            throw new CorruptDataException("NTFS", $"MFT record {number}", -1, "the record is not an in-use base record", writer.FilePath);
        }
        AttributeRecord? list = baseRecord.Attributes.FirstOrDefault(a => a.Type == AttributeType.AttributeList);
        var stored = new List<AttributeRecord>(baseRecord.Attributes.Where(a => a.Type != AttributeType.AttributeList));
        var extensions = new List<FileRecord>();
        if (list is not null)
        {
            byte[] value = list.IsResident ? list.Value : new byte[list.DataSize];
            if (!list.IsResident)
            {
                writer.ReadThroughRuns(list.Runs, 0, value, $"MFT record {number} $ATTRIBUTE_LIST");
            }
            foreach (long extension in AttributeListEntry.ReadAll(value, number, list.VolumeOffset, writer.FilePath).Select(e => e.RecordNumber).Where(r => r != number).Distinct().OrderBy(r => r))
            {
                FileRecord record = writer.ReadRecord(extension);
                if (!record.InUse || !record.IsExtension || record.BaseRecordNumber != number)
                {
                    throw new CorruptDataException("NTFS", $"MFT record {extension}", -1,
                        $"$ATTRIBUTE_LIST of record {number} names this record, but its base record is {record.BaseRecordNumber}{(record.InUse ? string.Empty : " and it is not in use")}", writer.FilePath);
                }
                extensions.Add(record);
                stored.AddRange(record.Attributes);
            }
        }

        // Resident attributes are one slot each (a file has several $FILE_NAMEs); a non-resident one is all its extents.
        var slots = new List<Slot>();
        foreach (IGrouping<(uint, string), AttributeRecord> group in stored.GroupBy(a => (a.Type, a.Name)))
        {
            List<AttributeRecord> extents = group.ToList();
            if (extents.Any(a => a.IsResident))
            {
                slots.AddRange(extents.Select(a => new Slot(new List<AttributeRecord> { a }, a)));
                continue;
            }
            extents.Sort((x, y) => x.StartVcn.CompareTo(y.StartVcn));
            AttributeRecord merged = NtfsFile.Merge(extents.Select(a => a.WithId(a.Id)), writer.FilePath).Single();
            slots.Add(new Slot(extents, merged));
        }
        return new FileRecords(writer, baseRecord, extensions, list, slots);
    }

    /// <summary>The attribute of this type and name, whole (all extents joined), or null.</summary>
    public AttributeRecord? Find(uint type, string name = "") =>
        _slots.FirstOrDefault(s => s.Current.Type == type && s.Current.Name == name)?.Current;

    /// <summary>Replaces the attribute of the same type and name (or adds it): resident, or non-resident from VCN 0 with
    /// its whole runlist.</summary>
    public void Set(AttributeRecord attribute)
    {
        if (!attribute.IsResident && attribute.StartVcn != 0)
        {
            throw new ArgumentException("A replacement attribute is whole (from VCN 0).", nameof(attribute));
        }
        Slot? slot = _slots.FirstOrDefault(s => s.Current.Type == attribute.Type && s.Current.Name == attribute.Name);
        if (slot is not null && ReferenceEquals(slot.Current, attribute))
        {
            return; // the attribute as loaded: nothing changed
        }
        if (!attribute.IsResident)
        {
            // Encoded again from its runs: a joined attribute's raw bytes are only its first extent's.
            attribute = AttributeRecord.CreateNonResident(attribute.Type, attribute.Name, attribute.Id, attribute.Flags, attribute.Runs,
                attribute.AllocatedSize, attribute.DataSize, attribute.InitializedSize, attribute.CompressionUnit, attribute.CompressedSize);
        }
        if (slot is null)
        {
            slot = new Slot(new List<AttributeRecord>(), attribute);
            _slots.Add(slot);
        }
        slot.Current = attribute;
        slot.Changed = true;
    }

    /// <summary>Removes the resident attributes <paramref name="match"/> picks (e.g. one link's $FILE_NAMEs); returns how many.</summary>
    public int RemoveResident(Func<AttributeRecord, bool> match)
    {
        // Save lays every record out again from the slots left, so a removed slot simply is not written.
        return _slots.RemoveAll(s => s.Current.IsResident && match(s.Current));
    }

    /// <summary>An attribute id no attribute of the base record uses (a new attribute's).</summary>
    public ushort NewAttributeId()
    {
        ushort id = (ushort)Math.Max(_base.NextAttributeId, (_list?.Id ?? -1) + 1);
        foreach (Slot s in _slots)
        {
            id = (ushort)Math.Max(id, s.Current.Id + 1);
        }
        _base.NextAttributeId = (ushort)(id + 1);
        return id;
    }

    /// <summary>True when every attribute, each as one extent, fits the base record without an attribute list.</summary>
    public bool FitsBaseRecord() => FitsBaseRecord(Pieces(refuseOversized: false));

    private bool FitsBaseRecord(List<Piece> pieces) =>
        pieces.All(p => p.Attribute.IsResident || p.Attribute.StartVcn == 0) && pieces.Sum(p => p.Attribute.Raw.Length) <= EmptyRecordRoom;

    /// <summary>Stages the file's records: laid out again as the type describes, the attribute list rebuilt.</summary>
    public void Save()
    {
        List<Piece> pieces = Pieces(refuseOversized: true);
        if (FitsBaseRecord(pieces))
        {
            _base.Attributes.Clear();
            _base.Attributes.AddRange(pieces.Select(p => p.Attribute).OrderBy(a => a, PieceOrder.Instance));
            FreeList(keepRuns: null);
            foreach (FileRecord extension in _extensions)
            {
                _writer.FreeRecord(extension);
            }
            _writer.WriteRecord(_base);
            return;
        }
        SaveWithList(pieces);
    }

    /// <summary>An attribute or one extent of it, and which of the file's attributes it belongs to.</summary>
    private readonly record struct Piece(AttributeRecord Attribute, int Slot);

    // What will be stored: unchanged attributes as their extents were, changed ones split into extents that each fit a
    // record. Every extent of an attribute carries the attribute's id (sleuthkit joins extents by type and id), and no
    // two attributes of the file share one, so any layout keeps ids unique within each record.
    private List<Piece> Pieces(bool refuseOversized)
    {
        var pieces = new List<Piece>();
        var used = new HashSet<ushort>();
        for (int i = 0; i < _slots.Count; i++)
        {
            Slot slot = _slots[i];
            List<AttributeRecord> extents = slot.Changed ? Split(slot.Current) : slot.Extents;
            ushort id = extents[0].Id;
            if (!used.Add(id) || extents.Any(e => e.Id != id))
            {
                id = NewAttributeId();
                used.Add(id);
                extents = extents.Select(e => e.WithId(id)).ToList();
            }
            pieces.AddRange(extents.Select(e => new Piece(e, i)));
        }
        foreach (Piece p in pieces.Where(p => refuseOversized && p.Attribute.Raw.Length > EmptyRecordRoom))
        {
            throw new UnsupportedFormatException($"MFT record {_base.RecordNumber}: attribute 0x{p.Attribute.Type:X} {p.Attribute.Name} ({p.Attribute.Raw.Length} bytes) does not fit an MFT record of {RecordSize} bytes.", _writer.FilePath);
        }
        return pieces;
    }

    // A non-resident attribute whose runlist does not fit an empty record becomes extents that each do, by VCN.
    private List<AttributeRecord> Split(AttributeRecord whole)
    {
        if (whole.IsResident || whole.Raw.Length <= EmptyRecordRoom)
        {
            return new List<AttributeRecord> { whole };
        }
        return SplitIntoExtents(whole, EmptyRecordRoom, EmptyRecordRoom);
    }

    /// <summary>
    /// A non-resident attribute as extents by VCN: the first one at most <paramref name="firstRoom"/> bytes long (header
    /// included), each later one at most <paramref name="room"/>. $MFT uses a smaller first room: its first extent has to
    /// fit record 0 beside the record's other attributes.
    /// </summary>
    public static List<AttributeRecord> SplitIntoExtents(AttributeRecord whole, int firstRoom, int room)
    {
        int header = AttributeRecord.NonResidentHeaderLength(whole.Name, whole.Flags);
        int budget = firstRoom - header;
        // A mapping pair takes at most 17 bytes, and the runlist its terminating zero.
        if (budget < 18 || room - header < 18)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRoom), "No room for a runlist.");
        }
        var extents = new List<AttributeRecord>();
        IReadOnlyList<DataRun> runs = whole.Runs;
        int i = 0;
        while (i < runs.Count)
        {
            int bytes = 1; // the terminating zero
            long previousLcn = 0;
            int j = i;
            while (j < runs.Count && bytes + RunList.PairSize(runs[j], previousLcn) <= budget)
            {
                bytes += RunList.PairSize(runs[j], previousLcn);
                previousLcn = runs[j].IsSparse ? previousLcn : runs[j].Lcn;
                j++;
            }
            var part = new List<DataRun>();
            for (int k = i; k < j; k++)
            {
                part.Add(runs[k]);
            }
            long startVcn = runs[i].Vcn;
            long lastVcn = runs[j - 1].Vcn + runs[j - 1].Length - 1;
            extents.Add(AttributeRecord.CreateExtent(whole.Type, whole.Name, whole.Id, whole.Flags, startVcn, lastVcn, part,
                whole.AllocatedSize, whole.DataSize, whole.InitializedSize, whole.CompressionUnit, whole.CompressedSize));
            i = j;
            budget = room - header;
        }
        return extents;
    }

    private void SaveWithList(List<Piece> pieces)
    {
        int listBytes = pieces.Sum(p => new AttributeListEntry(p.Attribute.Type, p.Attribute.Name, 0, 0, 0).EncodedLength);
        Piece? standard = pieces.Where(p => p.Attribute.Type == AttributeType.StandardInformation).Select(p => (Piece?)p).FirstOrDefault();
        int baseRoom = EmptyRecordRoom - (standard?.Attribute.Raw.Length ?? 0);

        // The list stays resident while it takes at most half of what the base record has left; beyond, it moves to
        // clusters (the base record then keeps only its header and runlist).
        ushort listId = _list is not null && pieces.All(p => p.Attribute.Id != _list.Id) ? _list.Id : NewAttributeId();
        List<DataRun>? listRuns = null;
        int residentListLength = AttributeRecord.Align8(0x18 + listBytes);
        if (residentListLength > baseRoom / 2)
        {
            listRuns = ListRuns(listBytes);
            baseRoom -= AttributeRecord.CreateNonResident(AttributeType.AttributeList, string.Empty, listId, 0, listRuns, 0, 0, 0).Raw.Length;
        }
        else
        {
            baseRoom -= residentListLength;
        }
        FreeList(listRuns);

        // Place: the base record first, in type order; what does not fit goes to the first extension record with room
        // that holds no other extent of the same attribute. An attribute's extents go to records in VCN order (a later
        // extent never before an earlier one: sleuthkit, like Windows, meets the extent at VCN 0 first).
        var baseParts = new List<AttributeRecord>();
        var baseSlots = new HashSet<int>();
        var extensionParts = new List<(List<AttributeRecord> Parts, HashSet<int> Slots, int Room)>();
        var lastRecordOf = new Dictionary<int, int>();
        if (standard is { } si)
        {
            baseParts.Add(si.Attribute);
            baseSlots.Add(si.Slot);
        }
        foreach (Piece piece in pieces.Where(p => p.Attribute.Type != AttributeType.StandardInformation).OrderBy(p => p.Attribute, PieceOrder.Instance))
        {
            int length = piece.Attribute.Raw.Length;
            lastRecordOf.TryGetValue(piece.Slot, out int after);
            if (length <= baseRoom && !lastRecordOf.ContainsKey(piece.Slot) && baseSlots.Add(piece.Slot))
            {
                baseParts.Add(piece.Attribute);
                baseRoom -= length;
                continue;
            }
            int at = extensionParts.FindIndex(e => e.Room >= length && !e.Slots.Contains(piece.Slot));
            if (at < after || at < 0)
            {
                at = extensionParts.FindIndex(Math.Min(after + 1, extensionParts.Count), e => e.Room >= length);
            }
            if (at < 0)
            {
                extensionParts.Add((new List<AttributeRecord>(), new HashSet<int>(), EmptyRecordRoom));
                at = extensionParts.Count - 1;
            }
            lastRecordOf[piece.Slot] = at;
            extensionParts[at].Parts.Add(piece.Attribute);
            extensionParts[at].Slots.Add(piece.Slot);
            extensionParts[at] = (extensionParts[at].Parts, extensionParts[at].Slots, extensionParts[at].Room - length);
        }

        // The file's own extension records are reused in order; more are allocated, the rest freed.
        ulong baseReference = Reference(_base);
        var records = new List<FileRecord>();
        for (int i = 0; i < extensionParts.Count; i++)
        {
            FileRecord record;
            if (i < _extensions.Count)
            {
                record = _extensions[i];
                record.Attributes.Clear();
            }
            else
            {
                record = _writer.AllocateRecord(0);
            }
            record.Flags = FileRecord.FlagInUse;
            record.LinkCount = 0;
            record.BaseReference = baseReference;
            record.BaseRecordNumber = _base.RecordNumber;
            record.Attributes.AddRange(extensionParts[i].Parts.OrderBy(p => p, PieceOrder.Instance));
            records.Add(record);
        }
        for (int i = extensionParts.Count; i < _extensions.Count; i++)
        {
            _writer.FreeRecord(_extensions[i]);
        }

        var entries = new List<AttributeListEntry>();
        entries.AddRange(baseParts.Select(a => Entry(a, baseReference)));
        foreach (FileRecord record in records)
        {
            ulong reference = Reference(record);
            entries.AddRange(record.Attributes.Select(a => Entry(a, reference)));
        }
        byte[] listValue = AttributeListEntry.Encode(entries.OrderBy(e => e, Comparer<AttributeListEntry>.Create(EntryOrder)).ToList());
        AttributeRecord list;
        if (listRuns is null)
        {
            list = AttributeRecord.CreateResident(AttributeType.AttributeList, string.Empty, listId, listValue);
        }
        else
        {
            byte[] padded = new byte[((listValue.Length + _writer.ClusterSize - 1) / _writer.ClusterSize) * _writer.ClusterSize];
            listValue.CopyTo(padded, 0);
            _writer.WriteThroughRuns(listRuns, 0, padded);
            long allocated = (listRuns[listRuns.Count - 1].Vcn + listRuns[listRuns.Count - 1].Length) * _writer.ClusterSize;
            list = AttributeRecord.CreateNonResident(AttributeType.AttributeList, string.Empty, listId, 0, listRuns, allocated, listValue.Length, listValue.Length);
        }
        baseParts.Add(list);
        _base.Attributes.Clear();
        _base.Attributes.AddRange(baseParts.OrderBy(a => a, PieceOrder.Instance));
        _writer.WriteRecord(_base);
        foreach (FileRecord record in records)
        {
            _writer.WriteRecord(record);
        }
    }

    // Clusters for a non-resident list of `bytes`: the old list's runs as far as they go, more allocated after them.
    private List<DataRun> ListRuns(long bytes)
    {
        long clusters = (bytes + _writer.ClusterSize - 1) / _writer.ClusterSize;
        var runs = new List<DataRun>();
        if (_list is { IsResident: false })
        {
            foreach (DataRun run in _list.Runs)
            {
                if (run.Vcn >= clusters)
                {
                    break;
                }
                runs.Add(new DataRun(run.Vcn, run.Lcn, Math.Min(run.Length, clusters - run.Vcn)));
            }
        }
        long have = runs.Count == 0 ? 0 : runs[runs.Count - 1].Vcn + runs[runs.Count - 1].Length;
        if (have < clusters)
        {
            long hint = runs.Count == 0 ? -1 : runs[runs.Count - 1].Lcn + runs[runs.Count - 1].Length;
            runs.AddRange(_writer.AllocateRuns(have, clusters - have, hint));
        }
        return VolumeWriter.MergeRuns(runs);
    }

    // Frees the clusters of the old non-resident list that the new list (runs `keepRuns`, or none) does not use.
    private void FreeList(List<DataRun>? keepRuns)
    {
        if (_list is not { IsResident: false })
        {
            return;
        }
        long kept = keepRuns is null || keepRuns.Count == 0 ? 0 : keepRuns[keepRuns.Count - 1].Vcn + keepRuns[keepRuns.Count - 1].Length;
        var freed = new List<DataRun>();
        foreach (DataRun run in _list.Runs)
        {
            if (run.Vcn + run.Length <= kept)
            {
                continue;
            }
            long skip = Math.Max(0, kept - run.Vcn);
            freed.Add(new DataRun(run.Vcn + skip, run.Lcn + skip, run.Length - skip));
        }
        _writer.FreeRuns(freed);
    }

    private static AttributeListEntry Entry(AttributeRecord a, ulong reference) =>
        new(a.Type, a.Name, a.IsResident ? 0 : a.StartVcn, reference, a.Id);

    private static ulong Reference(FileRecord record) => ((ulong)record.SequenceNumber << 48) | (ulong)record.RecordNumber;

    // Attribute list entries and a record's attributes: by type, then name (upper-cased, then exact), then lowest VCN.
    private static int EntryOrder(AttributeListEntry x, AttributeListEntry y)
    {
        int c = x.Type.CompareTo(y.Type);
        c = c != 0 ? c : PieceOrder.CompareNames(x.Name, y.Name);
        return c != 0 ? c : x.StartVcn.CompareTo(y.StartVcn);
    }

    private sealed class PieceOrder : IComparer<AttributeRecord>
    {
        public static readonly PieceOrder Instance = new();

        public static int CompareNames(string x, string y)
        {
            int c = string.CompareOrdinal(x.ToUpperInvariant(), y.ToUpperInvariant());
            return c != 0 ? c : string.CompareOrdinal(x, y);
        }

        public int Compare(AttributeRecord? x, AttributeRecord? y)
        {
            int c = x!.Type.CompareTo(y!.Type);
            c = c != 0 ? c : CompareNames(x.Name, y.Name);
            return c != 0 ? c : (x.IsResident ? 0 : x.StartVcn).CompareTo(y.IsResident ? 0 : y.StartVcn);
        }
    }
}
