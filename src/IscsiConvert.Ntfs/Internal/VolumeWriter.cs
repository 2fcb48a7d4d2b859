using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The low level of editing a volume: MFT records (read, rewrite, allocate, free; $MFT grows when full), clusters
/// ($Bitmap) and raw writes through attribute runs. Every write goes to <see cref="PendingWrites"/>; <see cref="Commit"/>
/// writes the bitmaps back and then everything in one ordered pass, with the volume marked dirty while it happens.
/// </summary>
internal sealed class VolumeWriter
{
    public const long MftRecord = 0;
    public const long MftMirrRecord = 1;
    public const long VolumeRecord = 3;
    public const long BitmapRecord = 6;

    // Records 0-15 are system files, 16-23 are kept for $MFT's own extension records; files start at 24.
    private const long FirstUserRecord = 24;

    // $MFT grows by at least this many records, or by a quarter of its size when that is more: growing in
    // proportion keeps its runlist short (it must fit record 0) however many files are added.
    private const int MftGrowthRecords = 256;

    // The lowest free records (those record 0's first $DATA extent maps), kept for $MFT's own extension records once it
    // has an attribute list (beside the reserved records 16-23): see KeptForMftBelow.
    private const int MftExtensionReserve = 8;

    private readonly VolumeReader _reader;
    private readonly NtfsBootSector _boot;
    private readonly MasterFileTable _mft;
    private readonly PendingWrites _pending;
    private readonly ClusterBitmap _clusters;

    // The cluster bitmap as it is on disk (as of the last commit): clusters it marks free are referred to by nothing on
    // disk, so Commit writes their pages before marking the volume dirty. A second copy of the bitmap: 32 MiB for a
    // 1 TiB volume of 4 KiB clusters.
    private byte[] _mftBitmap;
    private bool _mftBitmapDirty;
    private long _nextRecordHint = FirstUserRecord;

    public VolumeWriter(VolumeReader reader, NtfsBootSector boot, MasterFileTable mft)
    {
        _reader = reader;
        _boot = boot;
        _mft = mft;
        _pending = new PendingWrites(reader.Stream, boot.ClusterSize);
        reader.Pending = _pending;

        AttributeRecord bitmapData = _mft.GetFile(BitmapRecord).Find(AttributeType.Data)
            ?? throw Corrupt(BitmapRecord, "$Bitmap has no data");
        if (bitmapData.DataSize * 8 < boot.TotalClusters || bitmapData.DataSize > (boot.TotalClusters / 8) + (1 << 20))
        {
            throw Corrupt(BitmapRecord, $"$Bitmap is {bitmapData.DataSize} bytes for {boot.TotalClusters} clusters");
        }
        _clusters = OpenClusterBitmap(bitmapData, boot.TotalClusters);
        AttributeRecord mftBitmap = _mft.GetFile(MftRecord).Find(AttributeType.Bitmap)
            ?? throw Corrupt(MftRecord, "$MFT has no $BITMAP");
        _mftBitmap = _mft.ReadAll(mftBitmap);
        SetMftZone();
    }

    // $Bitmap is read a chunk at a time as the allocator reaches it (ClusterBitmap): its size grows with the volume's.
    private ClusterBitmap OpenClusterBitmap(AttributeRecord bitmapData, long totalClusters)
    {
        if (bitmapData.IsResident)
        {
            return new ClusterBitmap(bitmapData.Value, totalClusters);
        }
        AttributeStream stream = _mft.OpenAttribute(bitmapData);
        return new ClusterBitmap(
            (offset, length) =>
            {
                byte[] bits = new byte[length];
                stream.ReadAt(offset, bits);
                return bits;
            },
            bitmapData.DataSize,
            totalClusters);
    }

    // Windows keeps an eighth of the volume after $MFT's end free for $MFT (the MFT zone, NtfsMftZoneReservation 1):
    // file data avoids it while the rest of the volume has room, and $MFT grows into it first.
    private void SetMftZone()
    {
        IReadOnlyList<DataRun> runs = _mft.Runs;
        DataRun? last = runs.LastOrDefault(r => !r.IsSparse);
        long start = last is { } run ? run.Lcn + run.Length : _boot.MftLcn;
        _clusters.SetMftZone(start, start + (_boot.TotalClusters / 8));
    }

    public PendingWrites Pending => _pending;

    public ClusterBitmap Clusters => _clusters;

    public MasterFileTable Mft => _mft;

    public long ClusterSize => _boot.ClusterSize;

    public int RecordSize => _boot.MftRecordSize;

    public string? FilePath => _reader.FilePath;

    /// <summary>True when anything is waiting to be committed.</summary>
    public bool HasChanges => !_pending.IsEmpty || _clusters.IsDirty || _mftBitmapDirty;

    /// <summary>The record as it is now (pending changes included), fixups applied.</summary>
    public FileRecord ReadRecord(long number) => _mft.ReadRecord(number);

    /// <summary>Encodes <paramref name="record"/> and stages it (and its $MFTMirr copy for the first records).</summary>
    public void WriteRecord(FileRecord record)
    {
        byte[] encoded = record.Encode(RecordSize, NextUpdateSequence(record.RecordNumber));
        long offset = _mft.VolumeOffsetOfRecord(record.RecordNumber);
        if (offset < 0)
        {
            throw Corrupt(record.RecordNumber, "the record is not mapped by $MFT's runs");
        }
        _pending.Write(offset, encoded);
        if (record.RecordNumber < MirrorRecordCount)
        {
            _pending.Write((_boot.MftMirrLcn * ClusterSize) + (record.RecordNumber * RecordSize), encoded);
        }
        _mft.Invalidate(record.RecordNumber);
        if (record.IsExtension)
        {
            _mft.Invalidate(record.BaseRecordNumber);
        }
    }

    /// <summary>Records mirrored in $MFTMirr: at least four, or a whole cluster of them.</summary>
    public long MirrorRecordCount => Math.Max(4, ClusterSize / RecordSize);

    /// <summary>Takes a free MFT record (growing $MFT when none is free) and returns a fresh in-use record for it.</summary>
    public FileRecord AllocateRecord(ushort flags)
    {
        long number = FindFreeRecord();
        if (number < 0)
        {
            GrowMft();
            number = FindFreeRecord();
            if (number < 0)
            {
                throw new IOException("No MFT record is free even after growing $MFT.");
            }
        }
        SetMftBit(number, true);
        _nextRecordHint = number + 1;
        return FreshRecord(number, flags);
    }

    // A new in-use record at `number`. A reused record keeps counting its sequence number, so stale references to the
    // old file are recognised.
    private FileRecord FreshRecord(long number, ushort flags)
    {
        ushort sequence = 1;
        byte[] raw = new byte[RecordSize];
        _mft.ReadRawRecord(number, raw);
        if (FileRecord.HasSignature(raw))
        {
            ushort old = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(0x10));
            sequence = old == 0 || old == ushort.MaxValue ? (ushort)1 : old;
        }
        return FileRecord.Create(number, sequence, (ushort)(FileRecord.FlagInUse | flags));
    }

    /// <summary>Marks a record free: not in use, sequence number advanced, bitmap bit cleared.</summary>
    public void FreeRecord(FileRecord record)
    {
        record.Flags = (ushort)(record.Flags & ~FileRecord.FlagInUse);
        record.SequenceNumber = (ushort)(record.SequenceNumber + 1 == 0 ? 1 : record.SequenceNumber + 1);
        WriteRecord(record);
        SetMftBit(record.RecordNumber, false);
        _mft.IndexNodes.Forget(record.RecordNumber); // a directory's nodes must not outlive it into the record's next file
        _nextRecordHint = Math.Min(_nextRecordHint, record.RecordNumber);
    }

    /// <summary>Allocates clusters near <paramref name="hint"/> as runs starting at <paramref name="firstVcn"/>.</summary>
    public List<DataRun> AllocateRuns(long firstVcn, long count, long hint)
    {
        var runs = new List<DataRun>();
        long vcn = firstVcn;
        foreach ((long lcn, long length) in _clusters.Allocate(count, hint))
        {
            runs.Add(new DataRun(vcn, lcn, length));
            vcn += length;
        }
        return runs;
    }

    public void FreeRuns(IEnumerable<DataRun> runs)
    {
        foreach (DataRun run in runs)
        {
            if (!run.IsSparse)
            {
                _clusters.Free(run.Lcn, run.Length);
            }
        }
    }

    /// <summary>Stages <paramref name="data"/> at byte <paramref name="position"/> of an attribute mapped by <paramref name="runs"/>.</summary>
    public void WriteThroughRuns(IReadOnlyList<DataRun> runs, long position, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            long vcn = position / ClusterSize;
            DataRun run = FindRun(runs, vcn);
            if (run.IsSparse)
            {
                throw new InvalidOperationException($"VCN {vcn} is a hole; allocate it before writing.");
            }
            long runEnd = (run.Vcn + run.Length) * ClusterSize;
            int count = (int)Math.Min(data.Length, runEnd - position);
            long volumeOffset = ((run.Lcn + (vcn - run.Vcn)) * ClusterSize) + (position % ClusterSize);
            _pending.Write(volumeOffset, data.Slice(0, count));
            data = data.Slice(count);
            position += count;
        }
    }

    /// <summary>Reads bytes of an attribute through its runs (pending changes included).</summary>
    public void ReadThroughRuns(IReadOnlyList<DataRun> runs, long position, Span<byte> buffer, string structure)
    {
        while (buffer.Length > 0)
        {
            long vcn = position / ClusterSize;
            DataRun run = FindRun(runs, vcn);
            long runEnd = (run.Vcn + run.Length) * ClusterSize;
            int count = (int)Math.Min(buffer.Length, runEnd - position);
            if (run.IsSparse)
            {
                buffer.Slice(0, count).Clear();
            }
            else
            {
                _reader.Read(((run.Lcn + (vcn - run.Vcn)) * ClusterSize) + (position % ClusterSize), buffer.Slice(0, count), structure);
            }
            buffer = buffer.Slice(count);
            position += count;
        }
    }

    private static DataRun FindRun(IReadOnlyList<DataRun> runs, long vcn)
    {
        int index = RunList.IndexOf(runs, vcn);
        return index >= 0 ? runs[index] : throw new InvalidOperationException($"No run maps VCN {vcn}.");
    }

    /// <summary>
    /// Writes everything: the bitmaps are staged; the pages of clusters free on disk (new data, new index blocks) are
    /// written and flushed first — a crash among them leaves the old volume as it was; then the $Volume record is written
    /// with the dirty flag, every other staged page in volume order, then $Volume as staged (clean). A commit cut short
    /// after the dirty mark leaves a volume that Windows checks with chkdsk at the next mount, never one that silently
    /// looks sound.
    /// </summary>
    public void Commit()
    {
        if (!HasChanges)
        {
            return;
        }
        StageBitmaps();
        long volumeOffset = _mft.VolumeOffsetOfRecord(VolumeRecord);
        byte[] clean = new byte[RecordSize];
        _reader.Read(volumeOffset, clean, "MFT record 3 ($Volume)");
        FileRecord volume = _mft.ReadRecord(VolumeRecord);
        byte[] dirty = VolumeWithFlags(volume, VolumeInformation.FlagDirty);
        _pending.Commit(
            first: s => WriteAndMirror(s, dirty),
            last: s => WriteAndMirror(s, clean),
            unusedOnDisk: _clusters.IsFreeOnDisk);
        _clusters.Committed();
        _mft.Reload();
    }

    private byte[]? _savedMftBitmap;
    private bool _savedMftBitmapDirty;
    private long _savedHint;

    /// <summary>Starts an edit that <see cref="Rollback"/> can undo completely (every public operation is one).</summary>
    public void BeginSavepoint()
    {
        _pending.BeginSavepoint();
        _clusters.BeginSavepoint();
        _savedMftBitmap = (byte[])_mftBitmap.Clone();
        _savedMftBitmapDirty = _mftBitmapDirty;
        _savedHint = _nextRecordHint;
    }

    public void ReleaseSavepoint()
    {
        _pending.ReleaseSavepoint();
        _clusters.ReleaseSavepoint();
        _savedMftBitmap = null;
    }

    /// <summary>Raised after <see cref="Rollback"/> and <see cref="Discard"/>: what other layers cached about the staged
    /// state (e.g. security descriptors added to $Secure) may no longer be on the volume.</summary>
    public event Action? StagedStateDropped;

    /// <summary>Undoes the edit begun by <see cref="BeginSavepoint"/>: pages, cluster and record bitmaps, caches.</summary>
    public void Rollback()
    {
        _pending.Rollback();
        _clusters.Rollback();
        if (_savedMftBitmap is not null)
        {
            _mftBitmap = _savedMftBitmap;
            _mftBitmapDirty = _savedMftBitmapDirty;
            _nextRecordHint = _savedHint;
            _savedMftBitmap = null;
        }
        _mft.Reload();
        StagedStateDropped?.Invoke();
    }

    /// <summary>Drops every staged change; reads show the volume as it is on disk again.</summary>
    public void Discard()
    {
        _pending.Discard();

        // The bitmaps in memory go back to the disk's too: keeping the dropped edits' allocations (as this did) left
        // their clusters and records marked in use, and the next commit wrote them so (clusters lost to every file).
        _clusters.Reset();
        _mftBitmapDirty = false;
        _mft.Reload();
        AttributeRecord mftBitmap = _mft.GetFile(MftRecord).Find(AttributeType.Bitmap)
            ?? throw Corrupt(MftRecord, "$MFT has no $BITMAP");
        _mftBitmap = _mft.ReadAll(mftBitmap);
        _nextRecordHint = FirstUserRecord;
        SetMftZone();
        StagedStateDropped?.Invoke();
    }

    private void WriteAndMirror(Stream stream, byte[] volumeRecord)
    {
        long offset = _mft.VolumeOffsetOfRecord(VolumeRecord);
        Shared.StreamExtensions.WriteAt(stream, offset, volumeRecord);
        Shared.StreamExtensions.WriteAt(stream, (_boot.MftMirrLcn * ClusterSize) + (VolumeRecord * RecordSize), volumeRecord);
    }

    // The $Volume record with extra $VOLUME_INFORMATION flags, encoded for writing.
    private byte[] VolumeWithFlags(FileRecord volume, ushort flags)
    {
        for (int i = 0; i < volume.Attributes.Count; i++)
        {
            AttributeRecord a = volume.Attributes[i];
            if (a.Type == AttributeType.VolumeInformation && a.IsResident && a.Value.Length >= 12)
            {
                byte[] value = (byte[])a.Value.Clone();
                ushort current = BinaryPrimitives.ReadUInt16LittleEndian(value.AsSpan(10));
                BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(10), (ushort)(current | flags));
                volume.Attributes[i] = AttributeRecord.CreateResident(a.Type, a.Name, a.Id, value, a.ResidentFlags);
            }
        }
        return volume.Encode(RecordSize, NextUpdateSequence(VolumeRecord));
    }

    // The update sequence number a rewrite of the record uses: the stored one plus one (never 0 or 0xFFFF), so that a
    // torn write of old and new sectors shows up as a fixup mismatch.
    private ushort NextUpdateSequence(long number)
    {
        byte[] raw = new byte[RecordSize];
        _mft.ReadRawRecord(number, raw);
        ushort usn = FileRecord.HasSignature(raw) ? BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(4)))) : (ushort)0;
        return (ushort)(usn + 1 == 0 || usn + 1 == 0xFFFF ? 1 : usn + 1);
    }

    private void StageBitmaps()
    {
        if (_clusters.IsDirty)
        {
            AttributeRecord data = _mft.GetFile(BitmapRecord).Find(AttributeType.Data)!;
            foreach (int chunk in _clusters.DirtyChunks.OrderBy(c => c))
            {
                WriteThroughRuns(data.Runs, (long)chunk * ClusterBitmap.ChunkBytes, _clusters.Chunk(chunk));
            }
            _clusters.ClearDirty();
        }
        if (_mftBitmapDirty)
        {
            FileRecord record0 = ReadRecord(MftRecord);
            int index = record0.Attributes.FindIndex(a => a.Type == AttributeType.Bitmap && a.Name.Length == 0);
            AttributeRecord bitmap = index >= 0 ? record0.Attributes[index]
                : _mft.GetFile(MftRecord).Find(AttributeType.Bitmap) ?? throw Corrupt(MftRecord, "$MFT has no $BITMAP");
            if (bitmap.IsResident && index < 0)
            {
                throw Corrupt(MftRecord, "$MFT's resident $BITMAP is not in its base record");
            }
            if (bitmap.IsResident)
            {
                record0.Attributes[index] = AttributeRecord.CreateResident(AttributeType.Bitmap, string.Empty, bitmap.Id, _mftBitmap);
                WriteRecord(record0);
            }
            else
            {
                WriteThroughRuns(bitmap.Runs, 0, _mftBitmap.AsSpan(0, (int)Math.Min(_mftBitmap.Length, bitmap.DataSize)));
            }
            _mftBitmapDirty = false;
        }
    }

    private long FindFreeRecord()
    {
        long count = _mft.RecordCount;
        long first = KeptForMftBelow();
        for (long n = Math.Max(first, _nextRecordHint); n < count; n++)
        {
            if ((n & 7) == 0 && (n >> 3) < _mftBitmap.Length && _mftBitmap[n >> 3] == 0xFF)
            {
                n += 7;
                continue;
            }
            if ((n >> 3) < _mftBitmap.Length && (_mftBitmap[n >> 3] & (1 << (int)(n & 7))) == 0)
            {
                return n;
            }
        }
        return _nextRecordHint > first ? FindFreeFrom(first, Math.Min(count, _nextRecordHint)) : -1;
    }

    /// <summary>
    /// Where files may take records from: <see cref="FirstUserRecord"/>, or — once $MFT has an attribute list — just
    /// after the <see cref="MftExtensionReserve"/> lowest free records (all the free ones that record 0's first $DATA
    /// extent maps, when there are no more). Those are the only records that can hold $MFT's own extension records (a
    /// reader reaches them knowing only the first extent), so a fragmented $MFT keeps a few for itself, as the reserved
    /// records 16-23 are kept, and grows instead. The lowest ones: the first extent shrinks a little each time the
    /// list grows beside it in record 0.
    /// </summary>
    private long KeptForMftBelow()
    {
        // Record 0 as stored: the assembled $MFT's first extent has the later extents' runs joined to it.
        FileRecord record0 = ReadRecord(MftRecord);
        AttributeRecord? firstExtent = record0.Attributes.FirstOrDefault(a => a.Type == AttributeType.Data && a.Name.Length == 0 && !a.IsResident && a.StartVcn == 0);
        if (firstExtent is null || !record0.Attributes.Any(a => a.Type == AttributeType.AttributeList))
        {
            return FirstUserRecord;
        }
        long mapped = Math.Min(_mft.RecordCount, (firstExtent.LastVcn + 1) * ClusterSize / RecordSize);
        int free = 0;
        for (long n = FirstUserRecord; n < mapped; n++)
        {
            if ((n & 7) == 0 && (n >> 3) < _mftBitmap.Length && _mftBitmap[n >> 3] == 0xFF)
            {
                n += 7;
                continue;
            }
            if (!IsMftBitSet(n) && ++free == MftExtensionReserve)
            {
                return n + 1;
            }
        }
        return Math.Max(mapped, FirstUserRecord);
    }

    private long FindFreeFrom(long from, long to)
    {
        for (long n = from; n < to; n++)
        {
            if ((n >> 3) < _mftBitmap.Length && (_mftBitmap[n >> 3] & (1 << (int)(n & 7))) == 0)
            {
                return n;
            }
        }
        return -1;
    }

    private void SetMftBit(long number, bool used)
    {
        if ((number >> 3) >= _mftBitmap.Length)
        {
            throw new InvalidOperationException($"MFT record {number} is beyond $MFT's bitmap.");
        }
        if (used)
        {
            _mftBitmap[number >> 3] |= (byte)(1 << (int)(number & 7));
        }
        else
        {
            _mftBitmap[number >> 3] &= (byte)~(1 << (int)(number & 7));
        }
        _mftBitmapDirty = true;
    }

    /// <summary>
    /// Adds <see cref="MftGrowthRecords"/> records (or a quarter of $MFT, if more) to $MFT: clusters in the MFT zone after
    /// its last run (elsewhere when the zone is full), the new records formatted as unused, $DATA and $BITMAP enlarged.
    /// When $MFT's runlist no longer fits record 0 it goes on in extension records behind an $ATTRIBUTE_LIST (<see
    /// cref="SaveMftRecords"/>).
    /// </summary>
    private void GrowMft()
    {
        NtfsFile mft = _mft.GetFile(MftRecord);
        AttributeRecord data = mft.Find(AttributeType.Data)
            ?? throw Corrupt(MftRecord, "$MFT has no $DATA");
        AttributeRecord bitmap = mft.Find(AttributeType.Bitmap)
            ?? throw Corrupt(MftRecord, "$MFT has no $BITMAP");
        long bytes = Math.Max(MftGrowthRecords, _mft.RecordCount / 4) * (long)RecordSize;
        if (bytes > (long)MftGrowthRecords * RecordSize && _clusters.CountFree() * ClusterSize < 2 * bytes)
        {
            bytes = (long)MftGrowthRecords * RecordSize; // a nearly full volume: grow by the minimum only
        }
        long clusters = (bytes + ClusterSize - 1) / ClusterSize;
        bytes = clusters * ClusterSize;
        long lastLcn = data.Runs.Count > 0 ? data.Runs[data.Runs.Count - 1].Lcn + data.Runs[data.Runs.Count - 1].Length : 0;
        long firstNewVcn = data.LastVcn + 1;
        var added = new List<DataRun>();
        long vcn = firstNewVcn;
        foreach ((long lcn, long length) in _clusters.AllocateForMft(clusters, lastLcn))
        {
            added.Add(new DataRun(vcn, lcn, length));
            vcn += length;
        }
        List<DataRun> runs = MergeRuns(data.Runs.Concat(added));
        long newSize = data.DataSize + bytes;
        if (data.AllocatedSize != (data.LastVcn + 1) * ClusterSize || data.DataSize != data.AllocatedSize)
        {
            // $MFT's data normally fills its allocation exactly; if not, grow from the allocated end.
            newSize = (firstNewVcn * ClusterSize) + bytes;
        }
        AttributeRecord newData = AttributeRecord.CreateNonResident(AttributeType.Data, string.Empty, data.Id, data.Flags, runs,
            (runs[runs.Count - 1].Vcn + runs[runs.Count - 1].Length) * ClusterSize, newSize, newSize);

        // The bitmap needs one bit per record, rounded up to 8 bytes.
        long newRecordCount = newSize / RecordSize;
        int bitmapBytes = (int)(((newRecordCount + 63) / 64) * 8);
        if (bitmapBytes > _mftBitmap.Length)
        {
            Array.Resize(ref _mftBitmap, bitmapBytes);
        }
        AttributeRecord newBitmap;
        if (bitmap.IsResident)
        {
            newBitmap = AttributeRecord.CreateResident(AttributeType.Bitmap, string.Empty, bitmap.Id, _mftBitmap);
        }
        else if (bitmap.AllocatedSize < _mftBitmap.Length)
        {
            long need = ((_mftBitmap.Length - bitmap.AllocatedSize) + ClusterSize - 1) / ClusterSize;
            long bitmapLast = bitmap.Runs.Count > 0 ? bitmap.Runs[bitmap.Runs.Count - 1].Lcn + bitmap.Runs[bitmap.Runs.Count - 1].Length : 0;
            List<DataRun> bitmapRuns = MergeRuns(bitmap.Runs.Concat(AllocateRuns(bitmap.LastVcn + 1, need, bitmapLast)));
            long allocated = (bitmapRuns[bitmapRuns.Count - 1].Vcn + bitmapRuns[bitmapRuns.Count - 1].Length) * ClusterSize;
            newBitmap = AttributeRecord.CreateNonResident(AttributeType.Bitmap, string.Empty, bitmap.Id, 0, bitmapRuns, allocated, _mftBitmap.Length, _mftBitmap.Length);
        }
        else
        {
            newBitmap = AttributeRecord.CreateNonResident(AttributeType.Bitmap, string.Empty, bitmap.Id, 0, bitmap.Runs, bitmap.AllocatedSize, _mftBitmap.Length, _mftBitmap.Length);
        }

        // Format the new records as unused before $MFT maps them, then map them.
        foreach (DataRun run in added)
        {
            for (long c = 0; c < run.Length; c++)
            {
                for (long at = 0; at < ClusterSize; at += RecordSize)
                {
                    long number = (((run.Vcn + c) * ClusterSize) + at) / RecordSize;
                    byte[] rec = EmptyRecord(number);
                    _pending.Write(((run.Lcn + c) * ClusterSize) + at, rec);
                }
            }
        }
        SaveMftRecords(newData, newBitmap);
        _mftBitmapDirty = true;
        _mft.Reload();
    }

    /// <summary>
    /// Writes $MFT's records with <paramref name="data"/> and <paramref name="bitmap"/> (whole attributes). When they fit
    /// record 0 with its other attributes, record 0 holds everything, as on a young volume. Otherwise, as Windows lays
    /// out a fragmented $MFT: record 0 keeps $STANDARD_INFORMATION, the $ATTRIBUTE_LIST, $FILE_NAME, the first extent of
    /// $DATA (from VCN 0, as many runs as fit) and $BITMAP; the later extents go to extension records, one each, taken
    /// from $MFT's own extension records, then the reserved records 16-23, then the lowest free records — all of them
    /// mapped by that first extent, so a reader that knows only record 0 (through the boot sector) can find them. The
    /// list moves to clusters of its own when it outgrows record 0 (<see cref="SplitMftData"/>); those are read through
    /// $Bitmap's clusters, not $MFT's, so they need no mapping.
    /// </summary>
    private void SaveMftRecords(AttributeRecord data, AttributeRecord bitmap)
    {
        FileRecord record0 = ReadRecord(MftRecord);
        AttributeRecord? oldList = record0.Attributes.FirstOrDefault(a => a.Type == AttributeType.AttributeList);
        var oldExtensions = new List<FileRecord>();
        var others = new List<AttributeRecord>();
        foreach (AttributeRecord a in record0.Attributes)
        {
            if (a.Type != AttributeType.AttributeList && !IsDataOrBitmap(a))
            {
                others.Add(a);
            }
        }
        if (oldList is not null)
        {
            byte[] value = _mft.ReadAll(oldList);
            foreach (long number in AttributeListEntry.ReadAll(value, MftRecord, oldList.VolumeOffset, FilePath).Select(e => e.RecordNumber).Where(n => n != MftRecord).Distinct().OrderBy(n => n))
            {
                FileRecord extension = ReadRecord(number);
                oldExtensions.Add(extension);
                others.AddRange(extension.Attributes.Where(a => !IsDataOrBitmap(a))); // Windows keeps nothing else there; kept if it did
            }
        }
        int room = RecordSize - FileRecord.FirstAttributePosition(RecordSize) - 8;
        int othersLength = others.Sum(a => a.Raw.Length) + bitmap.Raw.Length;
        if (othersLength + data.Raw.Length <= room)
        {
            record0.Attributes.Clear();
            record0.Attributes.AddRange(others.Append(bitmap).Append(data).OrderBy(a => a.Type));
            WriteRecord(record0);
            foreach (FileRecord extension in oldExtensions)
            {
                FreeRecord(extension);
            }
            FreeListClusters(oldList);
            return;
        }

        // A list in clusters: new ones, taken before the old list's are given back, so that they are free on disk and
        // written before anything in place (PendingWrites.Commit) — until record 0 is rewritten the old list is intact.
        // Record 0 keeps the list's header and runlist, first reckoned as one run, then as allocated.
        ushort listId = oldList?.Id ?? record0.TakeAttributeId();
        List<AttributeRecord> listed = others.Append(bitmap).ToList();
        int nonResidentListLength = AttributeRecord.Align8(AttributeRecord.NonResidentHeaderLength(string.Empty) + 18);
        List<AttributeRecord> extents;
        int listBytes;
        List<DataRun>? listRuns = null;
        for (int tries = 0; ; tries++)
        {
            (extents, listBytes, bool resident) = SplitMftData(data, listed, room, othersLength, nonResidentListLength);
            if (resident)
            {
                break;
            }
            long hint = oldList is { IsResident: false } && oldList.Runs.Count > 0 ? oldList.Runs[0].Lcn : -1;
            listRuns = AllocateRuns(0, (listBytes + ClusterSize - 1) / ClusterSize, hint);
            int length = NonResidentList(listId, listRuns, listBytes).Raw.Length;
            if (length <= nonResidentListLength)
            {
                break;
            }
            FreeRuns(listRuns);
            listRuns = null;
            nonResidentListLength = length;
            if (tries > 8)
            {
                throw new UnsupportedFormatException($"$MFT's attribute list ({listBytes} bytes) finds no clusters whose runlist fits record 0.", FilePath);
            }
        }
        FreeListClusters(oldList);

        // Extension records for the extents after the first: mapped by the first extent (the bootstrap rule).
        long mapped = (extents[0].LastVcn + 1) * ClusterSize / RecordSize;
        var records = new List<FileRecord>();
        var taken = new HashSet<long>(oldExtensions.Select(r => r.RecordNumber));
        for (int i = 1; i < extents.Count; i++)
        {
            FileRecord record;
            if (i - 1 < oldExtensions.Count)
            {
                record = oldExtensions[i - 1];
                record.Attributes.Clear();
            }
            else
            {
                long number = FreeMftExtensionRecord(mapped, taken);
                taken.Add(number);
                SetMftBit(number, true);
                record = FreshRecord(number, 0);
            }
            if (record.RecordNumber >= mapped)
            {
                throw new UnsupportedFormatException($"$MFT's extension record {record.RecordNumber} would lie beyond what record 0 maps; defragment the volume in Windows first.", FilePath);
            }
            record.Flags = FileRecord.FlagInUse;
            record.LinkCount = 0;
            record.BaseRecordNumber = MftRecord;
            record.BaseReference = ((ulong)record0.SequenceNumber << 48) | MftRecord;
            record.Attributes.Add(extents[i]);
            records.Add(record);
        }
        for (int i = extents.Count - 1; i < oldExtensions.Count; i++)
        {
            FreeRecord(oldExtensions[i]);
        }

        ulong baseReference = ((ulong)record0.SequenceNumber << 48) | MftRecord;
        var list = new List<AttributeListEntry>();
        list.AddRange(listed.Append(extents[0]).Select(a => new AttributeListEntry(a.Type, a.Name, a.IsResident ? 0 : a.StartVcn, baseReference, a.Id)));
        foreach (FileRecord record in records)
        {
            AttributeRecord extent = record.Attributes[0];
            list.Add(new AttributeListEntry(extent.Type, extent.Name, extent.StartVcn, ((ulong)record.SequenceNumber << 48) | (ulong)record.RecordNumber, extent.Id));
        }
        byte[] listValue = AttributeListEntry.Encode(list.OrderBy(e => e.Type).ThenBy(e => e.StartVcn).ToList());
        AttributeRecord listAttribute;
        if (listRuns is null)
        {
            listAttribute = AttributeRecord.CreateResident(AttributeType.AttributeList, string.Empty, listId, listValue);
        }
        else
        {
            if (listValue.Length != listBytes)
            {
                throw new InvalidOperationException($"$MFT's attribute list is {listValue.Length} bytes, {listBytes} were reckoned.");
            }
            byte[] padded = new byte[((listValue.Length + ClusterSize - 1) / ClusterSize) * ClusterSize];
            listValue.CopyTo(padded, 0);
            WriteThroughRuns(listRuns, 0, padded);
            listAttribute = NonResidentList(listId, listRuns, listValue.Length);
        }
        record0.Attributes.Clear();
        record0.Attributes.AddRange(listed.Append(extents[0]).Append(listAttribute).OrderBy(a => a.Type));
        if (record0.UsedSize(RecordSize) > RecordSize)
        {
            throw new UnsupportedFormatException("$MFT's record 0 has no room for its attribute list; defragment the volume in Windows first.", FilePath);
        }
        WriteRecord(record0);
        foreach (FileRecord record in records)
        {
            WriteRecord(record);
        }
    }

    /// <summary>
    /// Splits $MFT's $DATA into extents: the first one in record 0 beside <paramref name="othersLength"/> bytes of other
    /// attributes and the $ATTRIBUTE_LIST, each later one in an extension record of its own. The list grows with the
    /// number of extents and takes room from the first one, so the count is settled by iterating. The list stays
    /// resident while it takes at most half of what record 0 has beside the other attributes (as <see
    /// cref="FileRecords"/> keeps any file's list); beyond, it goes to clusters and record 0 keeps only its header and
    /// runlist (<paramref name="nonResidentListLength"/> bytes) — the first extent keeps room to map the records that
    /// hold the others. Returns the extents, the list's length in bytes, and whether it is resident.
    /// </summary>
    private (List<AttributeRecord> Extents, int ListBytes, bool Resident) SplitMftData(AttributeRecord data, List<AttributeRecord> listed, int room, int othersLength, int nonResidentListLength)
    {
        int dataEntry = new AttributeListEntry(AttributeType.Data, string.Empty, 0, 0, 0).EncodedLength;
        int listedEntries = listed.Sum(a => new AttributeListEntry(a.Type, a.Name, 0, 0, 0).EncodedLength);
        for (int extensionCount = 0, tries = 0; ; tries++)
        {
            int entries = listedEntries + ((1 + extensionCount) * dataEntry);
            int residentLength = AttributeRecord.Align8(0x18 + entries);
            bool resident = residentLength <= (room - othersLength) / 2;
            int firstRoom = room - othersLength - (resident ? residentLength : nonResidentListLength);
            if (firstRoom < AttributeRecord.NonResidentHeaderLength(string.Empty) + 18 || tries > 64)
            {
                throw new UnsupportedFormatException($"$MFT's record 0 has no room for the first extent of its $DATA ({data.Runs.Count} runs) beside its other attributes.", FilePath);
            }
            List<AttributeRecord> extents = FileRecords.SplitIntoExtents(data, firstRoom, room);
            if (extents.Count - 1 <= extensionCount)
            {
                return (extents, listedEntries + (extents.Count * dataEntry), resident);
            }
            extensionCount = extents.Count - 1;
        }
    }

    private AttributeRecord NonResidentList(ushort id, List<DataRun> runs, long bytes)
    {
        long allocated = (runs[runs.Count - 1].Vcn + runs[runs.Count - 1].Length) * ClusterSize;
        return AttributeRecord.CreateNonResident(AttributeType.AttributeList, string.Empty, id, 0, runs, allocated, bytes, bytes);
    }

    private void FreeListClusters(AttributeRecord? list)
    {
        if (list is { IsResident: false })
        {
            FreeRuns(list.Runs);
        }
    }

    private static bool IsDataOrBitmap(AttributeRecord a) =>
        a.Name.Length == 0 && (a.Type == AttributeType.Data || a.Type == AttributeType.Bitmap);

    // A record for one of $MFT's extension records: the reserved records 16-23 first (Windows keeps them for this), then
    // the lowest free record; below `mapped` (what record 0's first extent maps) and not in use.
    private long FreeMftExtensionRecord(long mapped, HashSet<long> taken)
    {
        for (long n = 16; n < Math.Min(mapped, _mft.RecordCount); n++)
        {
            if (taken.Contains(n) || (n >= FirstUserRecord && IsMftBitSet(n)))
            {
                continue;
            }
            FileRecord record = ReadRecordOrEmpty(n);
            if (!record.InUse)
            {
                return n;
            }
        }
        throw new UnsupportedFormatException("No free MFT record is mapped by $MFT's record 0 to hold $MFT's own runlist; defragment the volume in Windows first.", FilePath);
    }

    private bool IsMftBitSet(long n) => (n >> 3) < _mftBitmap.Length && (_mftBitmap[n >> 3] & (1 << (int)(n & 7))) != 0;

    // A record as stored, or an empty one where the bytes are no valid record (never written, or damaged and unused).
    private FileRecord ReadRecordOrEmpty(long number)
    {
        try
        {
            return ReadRecord(number);
        }
        catch (CorruptDataException)
        {
            return FileRecord.Create(number, 0, 0);
        }
    }

    private byte[] EmptyRecord(long number)
    {
        FileRecord empty = FileRecord.Create(number, 0, 0);
        return empty.Encode(RecordSize, 1);
    }

    /// <summary>Joins adjacent runs that continue each other on disk (shorter runlists).</summary>
    public static List<DataRun> MergeRuns(IEnumerable<DataRun> runs)
    {
        var merged = new List<DataRun>();
        foreach (DataRun run in runs)
        {
            if (merged.Count > 0)
            {
                DataRun last = merged[merged.Count - 1];
                bool adjacent = last.Vcn + last.Length == run.Vcn &&
                    ((last.IsSparse && run.IsSparse) || (!last.IsSparse && !run.IsSparse && last.Lcn + last.Length == run.Lcn));
                if (adjacent)
                {
                    merged[merged.Count - 1] = new DataRun(last.Vcn, last.Lcn, last.Length + run.Length);
                    continue;
                }
            }
            merged.Add(run);
        }
        return merged;
    }

    private CorruptDataException Corrupt(long record, string problem) =>
        new("NTFS", $"MFT record {record}", -1, problem, _reader.FilePath);
}
