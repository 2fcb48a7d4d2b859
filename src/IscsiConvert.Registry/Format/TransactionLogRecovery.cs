using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;

namespace IscsiConvert.Registry.Format;

/// <summary>One transaction log as read from disk.</summary>
internal sealed record TransactionLog(string Name, byte[] Bytes);

/// <summary>What recovery did to the in-memory hive.</summary>
internal sealed record RecoveryOutcome(BaseBlock BaseBlock, byte[] Bins, int Length, int EntriesApplied, string Method, List<(int Offset, int Length)> Written);

/// <summary>
/// Replays transaction logs over a dirty primary in memory. New format (Windows 8.1+, file type 6): "HvLE" entries
/// checked by their Marvin32 hashes, applied in sequence order from the primary's sequence number on, stopping at the
/// first bad or missing entry. Old format (file type 1/2): a "DIRT" bitmap of 512-byte pages followed by the pages,
/// applicable only when the log's timestamp equals the primary's.
/// </summary>
internal static class TransactionLogRecovery
{
    private const uint EntrySignature = 0x454C7648; // "HvLE"
    private const uint DirtSignature = 0x54524944;  // "DIRT"
    private const int EntryHeaderSize = 40;
    private const int LogSector = 512;

    /// <summary>Highest sequence number mentioned by any valid log base block or entry (0 if none).</summary>
    public static uint MaxSequence(IEnumerable<TransactionLog> logs)
    {
        uint max = 0;
        foreach (TransactionLog log in logs)
        {
            BaseBlock? b = ValidLogBase(log);
            if (b is null)
            {
                continue;
            }
            max = Math.Max(max, Math.Max(b.PrimarySequence, b.SecondarySequence));
            if (b.FileType == BaseBlock.FileTypeLogNew)
            {
                foreach (Entry e in ReadEntries(log))
                {
                    max = Math.Max(max, e.Sequence);
                }
            }
        }
        return max;
    }

    private static BaseBlock? ValidLogBase(TransactionLog log)
    {
        if (log.Bytes.Length < LogSector)
        {
            return null;
        }
        BaseBlock b = BaseBlock.ReadFrom(log.Bytes.AsSpan(0, LogSector));
        if (!b.HasSignature || !b.ChecksumMatches)
        {
            return null;
        }
        return b.FileType is BaseBlock.FileTypeLogOld or BaseBlock.FileTypeLogOldAlternate or BaseBlock.FileTypeLogNew ? b : null;
    }

    /// <summary>Recovers, or returns null when no log applies.</summary>
    public static RecoveryOutcome? Recover(BaseBlock primary, bool primaryValid, byte[] bins, int length, IReadOnlyList<TransactionLog> logs)
    {
        var valid = logs.Select(l => (Log: l, Base: ValidLogBase(l))).Where(x => x.Base is not null).ToList();
        if (valid.Any(x => x.Base!.FileType == BaseBlock.FileTypeLogNew))
        {
            return RecoverNew(primary, primaryValid, bins, length, valid.Where(x => x.Base!.FileType == BaseBlock.FileTypeLogNew).ToList());
        }
        foreach (var (log, b) in valid)
        {
            if (b!.PrimarySequence != b.SecondarySequence)
            {
                continue;
            }
            // Without a valid base block the first bin's timestamp stands in; a hive cut before it has none, and no
            // old-format log can be matched to it.
            long? primaryTime = primaryValid ? primary.Timestamp
                : bins.Length >= HiveBin.TimestampOffset + sizeof(long) ? BinaryPrimitives.ReadInt64LittleEndian(bins.AsSpan(HiveBin.TimestampOffset)) : null;
            if (primaryTime is null || b.Timestamp != primaryTime)
            {
                continue;
            }
            RecoveryOutcome? r = RecoverOld(primary, primaryValid, bins, length, log, b);
            if (r is not null)
            {
                return r;
            }
        }
        return null;
    }

    private static RecoveryOutcome? RecoverOld(BaseBlock primary, bool primaryValid, byte[] bins, int length, TransactionLog log, BaseBlock logBase)
    {
        byte[] d = log.Bytes;
        if (d.Length < LogSector + 4 || BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(LogSector)) != DirtSignature)
        {
            return null;
        }
        uint newLength = logBase.HiveBinsDataSize;
        if (newLength % HiveBin.Alignment != 0 || newLength == 0 || newLength > HiveStorage.MaxLength)
        {
            return null;
        }
        int bits = (int)(newLength / LogSector);
        int bitmapBytes = (bits + 7) / 8;
        if ((long)LogSector + 4 + bitmapBytes > d.Length)
        {
            return null;
        }
        ReadOnlySpan<byte> bitmap = d.AsSpan(LogSector + 4, bitmapBytes);
        long pagePos = (LogSector + 4 + bitmapBytes + LogSector - 1) / LogSector * LogSector;
        long dirtyBytes = (long)DirtyPages(bitmap, bits) * LogSector;
        if (pagePos + dirtyBytes > d.Length || newLength > (long)length + dirtyBytes)
        {
            // The log ends before its pages do, or the hive would grow by more than the log holds: Windows writes a
            // grown hive's new bins as dirty pages, so growth past them is damage, and allocating it would let a few
            // flipped bits in a small log claim hundreds of MiB. Not applicable.
            return null;
        }
        byte[] target = Resize(bins, length, (int)newLength);
        var written = new List<(int, int)>();
        for (int i = 0; i < bits; i++)
        {
            if ((bitmap[i / 8] & (1 << (i % 8))) == 0)
            {
                continue;
            }
            d.AsSpan((int)pagePos, LogSector).CopyTo(target.AsSpan(i * LogSector));
            written.Add((i * LogSector, LogSector));
            pagePos += LogSector;
        }
        BaseBlock b = primaryValid ? primary.Clone() : logBase.Clone();
        b.FileType = BaseBlock.FileTypePrimary;
        b.HiveBinsDataSize = newLength;
        b.PrimarySequence = logBase.PrimarySequence;
        b.SecondarySequence = logBase.PrimarySequence;
        return new RecoveryOutcome(b, target, (int)newLength, written.Count, "old-format log " + log.Name, written);
    }

    private static int DirtyPages(ReadOnlySpan<byte> bitmap, int bits)
    {
        int n = 0;
        for (int i = 0; i < bits; i++)
        {
            n += (bitmap[i / 8] >> (i % 8)) & 1;
        }
        return n;
    }

    private static byte[] Resize(byte[] bins, int length, int newLength)
    {
        var target = new byte[Math.Max(newLength, 0)];
        Array.Copy(bins, target, Math.Min(length, newLength));
        return target;
    }

    private sealed record Entry(uint Sequence, int HiveBinsSize, int Offset, int Size, long DataBytes, TransactionLog Log);

    private static List<Entry> ReadEntries(TransactionLog log)
    {
        var result = new List<Entry>();
        byte[] d = log.Bytes;
        long pos = LogSector;
        while (pos + EntryHeaderSize <= d.Length)
        {
            ReadOnlySpan<byte> h = d.AsSpan((int)pos);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != EntrySignature)
            {
                break;
            }
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(4));
            uint seq = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(12));
            uint hbs = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(16));
            uint pages = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(20));
            if (size < EntryHeaderSize || size % LogSector != 0 || pos + size > d.Length
                || hbs == 0 || hbs % HiveBin.Alignment != 0 || hbs > HiveStorage.MaxLength
                || pages > (size - EntryHeaderSize) / 8)
            {
                break;
            }
            ReadOnlySpan<byte> entry = d.AsSpan((int)pos, (int)size);
            ulong hash1 = BinaryPrimitives.ReadUInt64LittleEndian(entry.Slice(24));
            ulong hash2 = BinaryPrimitives.ReadUInt64LittleEndian(entry.Slice(32));
            if (Marvin32.Compute(entry.Slice(EntryHeaderSize), Marvin32.RegistrySeed) != hash1
                || Marvin32.Compute(entry.Slice(0, 32), Marvin32.RegistrySeed) != hash2)
            {
                break;
            }
            long dataBytes = 0;
            bool refsOk = true;
            for (int i = 0; i < pages; i++)
            {
                uint off = BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(EntryHeaderSize + (i * 8)));
                uint len = BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(EntryHeaderSize + (i * 8) + 4));
                if ((long)off + len > hbs)
                {
                    refsOk = false;
                }
                dataBytes += len;
            }
            if (!refsOk || EntryHeaderSize + (pages * 8L) + dataBytes > size)
            {
                break;
            }
            result.Add(new Entry(seq, (int)hbs, (int)pos, (int)size, dataBytes, log));
            pos += size;
        }
        return result;
    }

    private static RecoveryOutcome? RecoverNew(BaseBlock primary, bool primaryValid, byte[] bins, int length, List<(TransactionLog Log, BaseBlock? Base)> logs)
    {
        BaseBlock start = primaryValid ? primary : logs.OrderByDescending(x => x.Base!.SecondarySequence).First().Base!;
        uint threshold = start.SecondarySequence;
        var bySeq = new SortedDictionary<uint, Entry>();
        foreach (var (log, _) in logs)
        {
            foreach (Entry e in ReadEntries(log))
            {
                if (e.Sequence >= threshold && !bySeq.ContainsKey(e.Sequence))
                {
                    bySeq[e.Sequence] = e;
                }
            }
        }
        if (bySeq.Count == 0)
        {
            return null;
        }
        byte[] target = bins;
        int targetLength = length;
        var written = new List<(int, int)>();
        uint expected = bySeq.Keys.First();
        int applied = 0;
        foreach (KeyValuePair<uint, Entry> kv in bySeq)
        {
            if (kv.Key != expected)
            {
                break; // a gap: later entries belong to a different, unfinished history
            }
            Entry e = kv.Value;
            if (e.HiveBinsSize > (long)targetLength + e.DataBytes)
            {
                break; // growth past the entry's own pages (see RecoverOld): damage, and an unbounded allocation
            }
            if (e.HiveBinsSize != targetLength)
            {
                target = Resize(target, targetLength, e.HiveBinsSize);
                targetLength = e.HiveBinsSize;
            }
            ReadOnlySpan<byte> entry = e.Log.Bytes.AsSpan(e.Offset, e.Size);
            int pages = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice(20));
            int dataPos = EntryHeaderSize + (pages * 8);
            for (int i = 0; i < pages; i++)
            {
                int off = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice(EntryHeaderSize + (i * 8)));
                int len = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice(EntryHeaderSize + (i * 8) + 4));
                entry.Slice(dataPos, len).CopyTo(target.AsSpan(off));
                written.Add((off, len));
                dataPos += len;
            }
            applied++;
            expected++;
        }
        BaseBlock b = start.Clone();
        b.FileType = BaseBlock.FileTypePrimary;
        b.HiveBinsDataSize = (uint)targetLength;
        b.PrimarySequence = expected - 1;
        b.SecondarySequence = expected - 1;
        string names = string.Join("+", logs.Select(l => l.Log.Name));
        return new RecoveryOutcome(b, target, targetLength, applied, "new-format logs " + names, written);
    }
}
