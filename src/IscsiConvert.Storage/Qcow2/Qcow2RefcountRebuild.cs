using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// Rebuilds the refcounts of a dirty image (incompatible bit 0: refcounts may be stale, typically after a crash with
/// lazy_refcounts) before it is written: counts every reference to every host cluster from the header, the snapshot
/// table, the L1 tables of the active image and of each snapshot, their L2 tables and data clusters; writes a new
/// self-describing refcount table and blocks at the end of the file; switches the header to them. The old structures
/// become free space. Until the header switch the image is unchanged; the caller clears the dirty bit afterwards.
/// </summary>
internal static class Qcow2RefcountRebuild
{
    /// <summary>The most host clusters counted in memory (4 bytes each); larger images are refused, not rebuilt.</summary>
    public const long MaxClusters = 1L << 25;

    public static void Run(Qcow2File file, Qcow2Header header, IReadOnlyList<Qcow2ClusterMap> l1Tables, IReadOnlyList<(long Offset, long Length)> l1Locations, List<Qcow2SnapshotEntry> snapshots)
    {
        long cs = file.ClusterSize;
        long fileClusters = (file.Length + cs - 1) / cs;
        if (fileClusters > MaxClusters)
        {
            throw new UnsafeToWriteException($"The QCOW2 image is dirty and too large ({fileClusters} clusters) to rebuild its refcounts here; run 'qemu-img check -r all'", file.Path);
        }
        uint[] counts = new uint[fileClusters];
        void Add(long offset, long length, string what)
        {
            for (long c = offset / cs; c <= (offset + length - 1) / cs; c++)
            {
                if (c >= counts.Length)
                {
                    throw new UnsafeToWriteException($"The QCOW2 image is dirty and its {what} at 0x{offset:X} lies past the end of the file; run 'qemu-img check -r all'", file.Path);
                }
                counts[c]++;
            }
        }

        Add(0, cs, "header");
        foreach ((long offset, long length) in l1Locations)
        {
            if (length > 0)
            {
                Add(offset, length, "L1 table");
            }
        }
        if (snapshots.Count > 0)
        {
            Qcow2SnapshotEntry last = snapshots[snapshots.Count - 1];
            Add(header.SnapshotsOffset, last.EntryOffset + last.EntrySize - header.SnapshotsOffset, "snapshot table");
        }
        foreach (Qcow2ClusterMap map in l1Tables)
        {
            for (int i = 0; i < map.L1Length; i++)
            {
                long l2Offset = map.L2Offset(i);
                if (l2Offset == 0)
                {
                    continue;
                }
                Add(l2Offset, cs, "L2 table");
                ulong[] l2 = map.RawL2(i)!;
                for (int j = 0; j < l2.Length; j++)
                {
                    Qcow2L2Entry e = map.Decode(l2[j], l2Offset + (j * 8L));
                    switch (e.Kind)
                    {
                        case Qcow2ClusterKind.Standard:
                        case Qcow2ClusterKind.Zero when e.HostOffset != 0:
                            Add(e.HostOffset, cs, "data cluster");
                            break;
                        case Qcow2ClusterKind.Compressed:
                            Add(e.HostOffset, e.CompressedLength, "compressed cluster");
                            break;
                    }
                }
            }
        }

        int bits = 1 << header.RefcountOrder;
        ulong max = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        for (long c = 0; c < counts.Length; c++)
        {
            if (counts[c] > max)
            {
                throw new UnsafeToWriteException($"The QCOW2 image is dirty and cluster {c} has {counts[c]} references, more than {bits}-bit refcounts hold", file.Path);
            }
        }

        // Lay out the new table and blocks after everything else; they must also count themselves.
        long entriesPerBlock = cs * 8 / bits;
        long blocks = 0;
        long tableClusters = 0;
        while (true)
        {
            long end = fileClusters + tableClusters + blocks;
            long needBlocks = (end + entriesPerBlock - 1) / entriesPerBlock;
            long needTable = Math.Max(1, ((needBlocks * 8) + cs - 1) / cs);
            if (needBlocks == blocks && needTable == tableClusters)
            {
                break;
            }
            blocks = needBlocks;
            tableClusters = needTable;
        }
        if (tableClusters * cs > Qcow2Refcounts.MaxTableBytes)
        {
            throw new UnsafeToWriteException("The QCOW2 image is dirty and its rebuilt refcount table would be too large; run 'qemu-img check -r all'", file.Path);
        }
        long tableOffset = fileClusters * cs;
        long firstBlock = fileClusters + tableClusters;
        long newEnd = firstBlock + blocks;
        byte[] table = new byte[tableClusters * cs];
        byte[] block = new byte[cs];
        for (long b = 0; b < blocks; b++)
        {
            Array.Clear(block, 0, block.Length);
            for (long k = 0; k < entriesPerBlock; k++)
            {
                long c = (b * entriesPerBlock) + k;
                ulong value = c < fileClusters ? counts[c] : c < newEnd ? 1UL : 0UL;
                if (value != 0)
                {
                    Qcow2Refcounts.WriteEntry(block, k, value, bits);
                }
            }
            long at = (firstBlock + b) * cs;
            file.Write(at, block);
            BinaryPrimitives.WriteInt64BigEndian(table.AsSpan((int)(b * 8)), at);
        }
        file.Write(tableOffset, table);
        file.Stream.Flush(flushToDisk: true);

        byte[] field = new byte[12];
        BinaryPrimitives.WriteInt64BigEndian(field, tableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(field.AsSpan(8), (uint)tableClusters);
        file.Write(Qcow2Header.RefcountTableOffsetOffset, field);
        file.Stream.Flush(flushToDisk: true);
        header.RefcountTableOffset = tableOffset;
        header.RefcountTableClusters = (uint)tableClusters;
    }

    /// <summary>Clears the dirty bit once refcounts are consistent again.</summary>
    public static void ClearDirty(Qcow2File file, Qcow2Header header)
    {
        header.IncompatibleFeatures &= ~Qcow2Header.IncompatibleDirty;
        byte[] field = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(field, header.IncompatibleFeatures);
        file.Write(Qcow2Header.IncompatibleFeaturesOffset, field);
        file.Stream.Flush(flushToDisk: true);
    }
}
