using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// The guest-to-host mapping (qcow2.txt "Cluster mapping"): an L1 table held in memory and one-cluster L2 tables
/// loaded on demand. Every pointer is checked before it is followed. Updates copy shared L2 tables first (refcount
/// above one, after a snapshot) and write the L2 table before the L1 entry that points at it.
/// </summary>
internal sealed class Qcow2ClusterMap
{
    /// <summary>qemu's limit on the L1 table (32 MiB); larger l1_size values are refused before allocating.</summary>
    public const long MaxL1Bytes = 32L << 20;

    private const long CacheBudget = 16L << 20;

    private readonly Qcow2File _file;
    private readonly long[] _l1;
    private readonly long _l1Offset;
    private readonly bool _version3;
    private readonly Dictionary<long, ulong[]> _l2Cache = new();

    private Qcow2ClusterMap(Qcow2File file, long[] l1, long l1Offset, bool version3)
    {
        _file = file;
        _l1 = l1;
        _l1Offset = l1Offset;
        _version3 = version3;
        L2Entries = file.ClusterSize / 8;
    }

    /// <summary>Entries per L2 table.</summary>
    public long L2Entries { get; }

    /// <summary>The number of L1 entries.</summary>
    public int L1Length => _l1.Length;

    /// <summary>
    /// Reads and checks an L1 table: <paramref name="entries"/> is capped, must cover <paramref name="virtualSize"/>,
    /// and the table must be aligned, after the header and inside the file. <paramref name="structure"/> names it in errors;
    /// <paramref name="recordedAt"/> and <paramref name="sizeRecordedAt"/> are where its offset and size are stored.
    /// A read-only file passes with L2 tables past its end (truncated, as qemu-img info accepts it; <see cref="FindTruncation"/>
    /// reports it); a writable one is refused here, before anything is written.
    /// </summary>
    public static Qcow2ClusterMap Load(Qcow2File file, long l1Offset, uint entries, long virtualSize, bool version3, string structure, long recordedAt, long sizeRecordedAt)
    {
        long l2Entries = file.ClusterSize / 8;
        long bytesPerL1Entry = l2Entries * file.ClusterSize;
        long required = (virtualSize + bytesPerL1Entry - 1) / bytesPerL1Entry;
        if ((long)entries * 8 > MaxL1Bytes)
        {
            throw file.Corrupt(structure, sizeRecordedAt, $"l1_size {entries} makes a {(long)entries * 8}-byte table; at most {MaxL1Bytes} is accepted");
        }
        if (entries < required)
        {
            throw file.Corrupt(structure, sizeRecordedAt, $"l1_size {entries} cannot map the {virtualSize}-byte disk (needs {required})");
        }
        long[] l1 = new long[entries];
        if (entries > 0)
        {
            file.CheckTable(structure, l1Offset, entries * 8L, recordedAt);
            byte[] raw = new byte[entries * 8L];
            file.Read(l1Offset, raw, structure);
            for (int i = 0; i < l1.Length; i++)
            {
                ulong e = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
                ulong reserved = e & ~(Qcow2L2Entry.OffsetMask | Qcow2L2Entry.CopiedFlag);
                if (reserved != 0)
                {
                    throw file.Corrupt($"{structure} entry {i}", l1Offset + (i * 8L), $"0x{e:X16} has reserved bits set");
                }
                long l2 = (long)(e & Qcow2L2Entry.OffsetMask);
                if (l2 != 0)
                {
                    file.CheckTable($"L2 table of {structure} entry {i}", l2, file.ClusterSize, l1Offset + (i * 8L), pastEndAllowed: !file.Writable);
                }
                l1[i] = l2;
            }
            CheckNoLoops(file, l1, l1Offset, structure);
        }
        return new Qcow2ClusterMap(file, l1, l1Offset, version3);
    }

    /// <summary>
    /// Within one L1 table every L2 table is distinct and none lies inside the L1 table itself. Shared or
    /// self-referencing tables never occur in valid images and would let a small hostile file describe an
    /// enormous allocated disk (every extent walk would then run for hours).
    /// </summary>
    private static void CheckNoLoops(Qcow2File file, long[] l1, long l1Offset, string structure)
    {
        long l1End = l1Offset + (l1.Length * 8L);
        var sorted = new long[l1.Length];
        int count = 0;
        for (int i = 0; i < l1.Length; i++)
        {
            long l2 = l1[i];
            if (l2 == 0)
            {
                continue;
            }
            if (l2 < l1End && l2 + file.ClusterSize > l1Offset)
            {
                throw file.Corrupt($"{structure} entry {i}", l1Offset + (i * 8L), $"its L2 table at 0x{l2:X} overlaps the L1 table itself");
            }
            sorted[count++] = l2;
        }
        Array.Sort(sorted, 0, count);
        for (int i = 1; i < count; i++)
        {
            if (sorted[i] == sorted[i - 1])
            {
                int first = Array.IndexOf(l1, sorted[i]);
                throw file.Corrupt($"{structure} entry {Array.IndexOf(l1, sorted[i], first + 1)}", l1Offset + (Array.IndexOf(l1, sorted[i], first + 1) * 8L),
                    $"its L2 table at 0x{sorted[i]:X} is also used by entry {first} (an L2 loop)");
            }
        }
    }

    /// <summary>The host offset of the L2 table for L1 index <paramref name="l1Index"/>, or 0.</summary>
    public long L2Offset(long l1Index) => l1Index < _l1.Length ? _l1[l1Index] : 0;

    /// <summary>The decoded L2 entry of guest cluster <paramref name="guestCluster"/>, checked against the file.</summary>
    public Qcow2L2Entry Lookup(long guestCluster)
    {
        long l1Index = guestCluster / L2Entries;
        long l2Offset = L2Offset(l1Index);
        if (l2Offset == 0)
        {
            return default;
        }
        int index = (int)(guestCluster % L2Entries);
        return Decode(LoadL2(l2Offset)[index], l2Offset + (index * 8L));
    }

    /// <summary>True when the L2 table of L1 index <paramref name="l1Index"/> lies (partly) past the end of a truncated file.</summary>
    public bool L2PastEnd(long l1Index)
    {
        long l2Offset = L2Offset(l1Index);
        return l2Offset != 0 && l2Offset > _file.Length - _file.ClusterSize;
    }

    /// <summary>As <see cref="Decode"/>, but null for a data cluster past the end of a truncated file.</summary>
    public Qcow2L2Entry? DecodeInFile(ulong raw, long entryOffset)
    {
        Qcow2L2Entry? entry = Qcow2L2Entry.Decode(raw, _file.ClusterBits, _version3, out _);
        if (entry is { } e && (e.Kind == Qcow2ClusterKind.Standard || e.Kind == Qcow2ClusterKind.Compressed) && e.HostOffset >= _file.Length)
        {
            return null;
        }
        return Decode(raw, entryOffset);
    }

    /// <summary>
    /// The first L2 table or data cluster of the first <paramref name="virtualSize"/> bytes that lies past the end of
    /// the file (a truncated image), or any other damage found on the way, as the exception a read of it would throw; null when all is inside.
    /// </summary>
    public CorruptDataException? FindTruncation(long virtualSize)
    {
        long clusters = (virtualSize + _file.ClusterSize - 1) / _file.ClusterSize;
        byte[]? buffer = null;
        for (long i = 0; i < _l1.Length && i * L2Entries < clusters; i++)
        {
            long l2Offset = _l1[i];
            if (l2Offset == 0)
            {
                continue;
            }
            if (L2PastEnd(i))
            {
                return _file.Corrupt($"L2 table of L1 table entry {i}", _l1Offset + (i * 8L), $"the table at 0x{l2Offset:X} lies past the end of the file ({_file.Length} bytes): the file is truncated");
            }
            // Every table of the image passes through here once per writable open: read into one buffer, not decoded
            // into the cache (which it would only churn), and its zero entries skipped without byte-swapping.
            ReadOnlySpan<byte> table = ReadL2Raw(l2Offset, ref buffer);
            for (long j = 0; j < L2Entries && (i * L2Entries) + j < clusters; j++)
            {
                ReadOnlySpan<byte> bytes = table.Slice((int)(j * 8), 8);
                if (MemoryMarshal.Read<ulong>(bytes) == 0)
                {
                    continue; // unallocated (the common entry of a sparse image): nothing to decode or check
                }
                try
                {
                    if (DecodeInFile(BinaryPrimitives.ReadUInt64BigEndian(bytes), l2Offset + (j * 8L)) is null)
                    {
                        return _file.Corrupt("L2 entry", l2Offset + (j * 8L), $"the cluster of guest cluster {(i * L2Entries) + j} lies past the end of the file ({_file.Length} bytes): the file is truncated");
                    }
                }
                catch (CorruptDataException ex)
                {
                    return ex;
                }
            }
        }
        return null;
    }

    /// <summary>Decodes the entries of one whole L2 table (for extent listing and stored-size counts); null if unallocated.</summary>
    public ulong[]? RawL2(long l1Index)
    {
        long l2Offset = L2Offset(l1Index);
        return l2Offset == 0 ? null : LoadL2(l2Offset);
    }

    /// <summary>Decodes and checks one raw entry found at <paramref name="entryOffset"/>.</summary>
    public Qcow2L2Entry Decode(ulong raw, long entryOffset)
    {
        Qcow2L2Entry? entry = Qcow2L2Entry.Decode(raw, _file.ClusterBits, _version3, out string? problem);
        if (entry is null)
        {
            throw _file.Corrupt("L2 entry", entryOffset, problem!);
        }
        Qcow2L2Entry e = entry.Value;
        switch (e.Kind)
        {
            case Qcow2ClusterKind.Standard:
                if (e.HostOffset < _file.ClusterSize || e.HostOffset >= _file.Length)
                {
                    throw _file.Corrupt("L2 entry", entryOffset, e.HostOffset >= _file.Length
                        ? $"data cluster offset 0x{e.HostOffset:X} lies past the end of the file ({_file.Length} bytes)"
                        : $"data cluster offset 0x{e.HostOffset:X} is outside the data area (inside the header cluster)");
                }
                break;
            case Qcow2ClusterKind.Compressed:
                if (e.HostOffset < _file.ClusterSize || e.HostOffset >= _file.Length)
                {
                    throw _file.Corrupt("compressed cluster descriptor", entryOffset, e.HostOffset >= _file.Length
                        ? $"compressed data offset 0x{e.HostOffset:X} lies past the end of the file ({_file.Length} bytes)"
                        : $"compressed data offset 0x{e.HostOffset:X} is outside the data area (inside the header cluster)");
                }
                break;
        }
        return e;
    }

    /// <summary>
    /// Points guest cluster <paramref name="guestCluster"/> at <paramref name="rawEntry"/>: allocates an L2 table if
    /// there is none, copies it first if it is shared, and writes the L2 table before the L1 entry.
    /// </summary>
    public void Set(long guestCluster, ulong rawEntry, Qcow2Refcounts refcounts) =>
        SetRange(guestCluster, new[] { rawEntry }, refcounts);

    /// <summary>
    /// Points the guest clusters from <paramref name="firstGuestCluster"/> at <paramref name="rawEntries"/>, one L2
    /// table at a time: a private table gets its changed entries in one write; a missing or shared table is replaced by
    /// a new one written whole before its L1 entry (and a shared one is released after).
    /// </summary>
    public void SetRange(long firstGuestCluster, ReadOnlySpan<ulong> rawEntries, Qcow2Refcounts refcounts)
    {
        long guestCluster = firstGuestCluster;
        while (rawEntries.Length > 0)
        {
            long l1Index = guestCluster / L2Entries;
            int index = (int)(guestCluster % L2Entries);
            int count = (int)Math.Min(rawEntries.Length, L2Entries - index);
            SetInTable(l1Index, index, rawEntries.Slice(0, count), refcounts);
            guestCluster += count;
            rawEntries = rawEntries.Slice(count);
        }
    }

    private void SetInTable(long l1Index, int index, ReadOnlySpan<ulong> rawEntries, Qcow2Refcounts refcounts)
    {
        long l2Offset = _l1[l1Index];
        if (l2Offset != 0 && refcounts.Get(l2Offset) == 1)
        {
            ulong[] table = LoadL2(l2Offset);
            byte[] bytes = new byte[rawEntries.Length * 8];
            for (int i = 0; i < rawEntries.Length; i++)
            {
                table[index + i] = rawEntries[i];
                BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(i * 8), rawEntries[i]);
            }
            _file.Write(l2Offset + (index * 8L), bytes);
            return;
        }

        ulong[] fresh = new ulong[L2Entries];
        if (l2Offset != 0)
        {
            // Copy-on-write of a table shared with a snapshot: the copied flag must tell the truth in the active table.
            ulong[] old = LoadL2(l2Offset);
            for (int i = 0; i < fresh.Length; i++)
            {
                ulong raw = old[i] & ~Qcow2L2Entry.CopiedFlag;
                Qcow2L2Entry d = Decode(old[i], l2Offset + (i * 8L));
                if ((d.Kind == Qcow2ClusterKind.Standard || d.Kind == Qcow2ClusterKind.Zero) && d.HostOffset != 0 && refcounts.Get(d.HostOffset) == 1)
                {
                    raw |= Qcow2L2Entry.CopiedFlag;
                }
                fresh[i] = raw;
            }
        }
        rawEntries.CopyTo(fresh.AsSpan(index));
        long newOffset = refcounts.Allocate(1);
        byte[] whole = new byte[_file.ClusterSize];
        for (int i = 0; i < fresh.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(whole.AsSpan(i * 8), fresh[i]);
        }
        _file.Write(newOffset, whole);
        Cache(newOffset, fresh);
        _l1[l1Index] = newOffset;
        byte[] l1e = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(l1e, (ulong)newOffset | Qcow2L2Entry.CopiedFlag);
        _file.Write(_l1Offset + (l1Index * 8), l1e);
        if (l2Offset != 0)
        {
            refcounts.Adjust(l2Offset, 1, -1);
        }
    }

    /// <summary>
    /// Makes the copied flag (bit 63) of every entry of this (active) L1 table and its L2 tables say whether the
    /// refcount is exactly one, as qemu requires after refcounts were rebuilt. Only entries that change are written.
    /// </summary>
    public void FixCopiedFlags(Qcow2Refcounts refcounts)
    {
        byte[] e = new byte[8];
        for (int i = 0; i < _l1.Length; i++)
        {
            long l2Offset = _l1[i];
            if (l2Offset == 0)
            {
                continue;
            }
            ulong[] table = LoadL2(l2Offset);
            for (int j = 0; j < table.Length; j++)
            {
                Qcow2L2Entry d = Decode(table[j], l2Offset + (j * 8L));
                bool copied = (d.Kind == Qcow2ClusterKind.Standard || d.Kind == Qcow2ClusterKind.Zero) && d.HostOffset != 0 && refcounts.Get(d.HostOffset) == 1;
                ulong fixedEntry = copied ? table[j] | Qcow2L2Entry.CopiedFlag : table[j] & ~Qcow2L2Entry.CopiedFlag;
                if (fixedEntry != table[j])
                {
                    table[j] = fixedEntry;
                    BinaryPrimitives.WriteUInt64BigEndian(e, fixedEntry);
                    _file.Write(l2Offset + (j * 8L), e);
                }
            }
            // The L1 entry is rewritten unconditionally: 8 bytes, and the flag is not kept in memory.
            ulong l1Entry = (ulong)l2Offset | (refcounts.Get(l2Offset) == 1 ? Qcow2L2Entry.CopiedFlag : 0);
            BinaryPrimitives.WriteUInt64BigEndian(e, l1Entry);
            _file.Write(_l1Offset + (i * 8L), e);
        }
    }

    // An L2 table's raw bytes, from the cache when it holds the table (the cache may be newer than the file only
    // through writes that also went to the file, so either is the same), else read into the reused buffer.
    private ReadOnlySpan<byte> ReadL2Raw(long offset, ref byte[]? buffer)
    {
        buffer ??= new byte[_file.ClusterSize];
        if (_l2Cache.TryGetValue(offset, out ulong[]? table))
        {
            for (int i = 0; i < table.Length; i++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(buffer.AsSpan(i * 8), table[i]);
            }
        }
        else
        {
            _file.Read(offset, buffer, "L2 table");
        }
        return buffer;
    }

    private ulong[] LoadL2(long offset)
    {
        if (_l2Cache.TryGetValue(offset, out ulong[]? table))
        {
            return table;
        }
        byte[] raw = new byte[_file.ClusterSize];
        _file.Read(offset, raw, "L2 table");
        table = new ulong[L2Entries];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }
        Cache(offset, table);
        return table;
    }

    private void Cache(long offset, ulong[] table)
    {
        if ((_l2Cache.Count + 1) * _file.ClusterSize > CacheBudget)
        {
            _l2Cache.Clear();
        }
        _l2Cache[offset] = table;
    }
}
