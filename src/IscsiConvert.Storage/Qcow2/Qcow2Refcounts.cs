using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// The two-level refcount structure (qcow2.txt "Host cluster management"): a contiguous refcount table of 64-bit
/// entries pointing at one-cluster refcount blocks of 2^refcount_order-bit big-endian counts. Allocates new host
/// clusters at the end of the file and grows the refcount blocks and table as needed, always writing a structure
/// before the pointer to it and a refcount before the cluster is used, so a crash can leak clusters but never
/// leave a cluster in use with a refcount of zero.
/// </summary>
internal sealed class Qcow2Refcounts
{
    /// <summary>qemu's limit on the refcount table (8 MiB); larger tables are refused before anything is allocated.</summary>
    public const long MaxTableBytes = 8L << 20;

    /// <summary>How many bytes of refcount blocks are kept in memory before the cache is dropped.</summary>
    private const long CacheBudget = 16L << 20;

    private readonly Qcow2File _file;
    private readonly Qcow2Header _header;
    private readonly Dictionary<long, byte[]> _blocks = new();
    private long[] _table;
    private long _tableOffset;
    private long _end;

    private Qcow2Refcounts(Qcow2File file, Qcow2Header header, long[] table)
    {
        _file = file;
        _header = header;
        _table = table;
        _tableOffset = header.RefcountTableOffset;
        RefcountBits = 1 << header.RefcountOrder;
        EntriesPerBlock = file.ClusterSize * 8 / RefcountBits;
        MaxRefcount = RefcountBits == 64 ? ulong.MaxValue : (1UL << RefcountBits) - 1;
        _end = RoundUp(file.Length);
    }

    public int RefcountBits { get; }

    public long EntriesPerBlock { get; }

    public ulong MaxRefcount { get; }

    private long ClusterSize => _file.ClusterSize;

    /// <summary>Checks the header's refcount table fields (on every open, so hostile headers fail early).</summary>
    public static void CheckHeader(Qcow2File file, Qcow2Header header)
    {
        if (header.RefcountTableClusters == 0)
        {
            throw file.Corrupt("refcount table", Qcow2Header.RefcountTableClustersOffset, "refcount_table_clusters is 0");
        }
        long bytes = (long)header.RefcountTableClusters * file.ClusterSize;
        if (bytes > MaxTableBytes)
        {
            throw file.Corrupt("refcount table", Qcow2Header.RefcountTableClustersOffset,
                $"refcount_table_clusters {header.RefcountTableClusters} makes a {bytes}-byte table; at most {MaxTableBytes} is accepted");
        }
        file.CheckTable("refcount table", header.RefcountTableOffset, bytes, Qcow2Header.RefcountTableOffsetOffset);
    }

    /// <summary>Loads the refcount table (for writing) and checks every block pointer.</summary>
    public static Qcow2Refcounts Load(Qcow2File file, Qcow2Header header)
    {
        CheckHeader(file, header);
        long bytes = (long)header.RefcountTableClusters * file.ClusterSize;
        byte[] raw = new byte[bytes];
        file.Read(header.RefcountTableOffset, raw, "refcount table");
        long[] table = new long[bytes / 8];
        for (int i = 0; i < table.Length; i++)
        {
            ulong e = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            long at = header.RefcountTableOffset + (i * 8L);
            if ((e & ~Qcow2L2Entry.OffsetMask) != 0)
            {
                throw file.Corrupt($"refcount table entry {i}", at, $"0x{e:X16} has reserved bits set or is not cluster-aligned");
            }
            long block = (long)e;
            if (block != 0)
            {
                file.CheckTable($"refcount block {i}", block, file.ClusterSize, at);
            }
            table[i] = block;
        }
        return new Qcow2Refcounts(file, header, table);
    }

    /// <summary>The refcount of the host cluster holding <paramref name="hostOffset"/>.</summary>
    public ulong Get(long hostOffset)
    {
        long cluster = hostOffset >> _file.ClusterBits;
        long blockIndex = cluster / EntriesPerBlock;
        if (blockIndex >= _table.Length || _table[blockIndex] == 0)
        {
            return 0;
        }
        return ReadEntry(LoadBlock(_table[blockIndex]), cluster % EntriesPerBlock);
    }

    /// <summary>
    /// Adds <paramref name="delta"/> (±1) to the refcount of every host cluster overlapping [offset, offset+length).
    /// Each refcount block touched is checked whole first, then changed and written back with one write, so a refcount
    /// that would underflow or overflow leaves that block's part of the range unchanged in memory and on disk.
    /// </summary>
    public void Adjust(long offset, long length, int delta)
    {
        long first = offset >> _file.ClusterBits;
        long last = (offset + length - 1) >> _file.ClusterBits;
        long c = first;
        while (c <= last)
        {
            long blockIndex = c / EntriesPerBlock;
            long segmentEnd = Math.Min(last + 1, (blockIndex + 1) * EntriesPerBlock);
            if (blockIndex >= _table.Length || _table[blockIndex] == 0)
            {
                // No block: every count in its range is 0, which only an increment could change; callers only
                // increment clusters they have allocated, so this is a cluster in use with refcount 0.
                throw _file.Corrupt("refcount block", c << _file.ClusterBits, "a cluster in use has refcount 0; run 'qemu-img check -r all'");
            }
            byte[] block = LoadBlock(_table[blockIndex]);
            for (long k = c; k < segmentEnd; k++)
            {
                ulong current = ReadEntry(block, k % EntriesPerBlock);
                if (delta < 0 && current == 0)
                {
                    throw _file.Corrupt("refcount block", k << _file.ClusterBits, "a cluster in use has refcount 0; run 'qemu-img check -r all'");
                }
                if (delta > 0 && current == MaxRefcount)
                {
                    throw _file.Corrupt("refcount block", k << _file.ClusterBits, $"refcount would overflow its {RefcountBits} bits");
                }
            }
            for (long k = c; k < segmentEnd; k++)
            {
                ulong current = ReadEntry(block, k % EntriesPerBlock);
                WriteEntry(block, k % EntriesPerBlock, delta > 0 ? current + 1 : current - 1);
            }
            WriteBack(blockIndex, block, c, segmentEnd - c);
            c = segmentEnd;
        }
    }

    /// <summary>
    /// Allocates <paramref name="count"/> contiguous new clusters at the end of the file with refcount 1 and returns
    /// the host offset of the first. The clusters are not written; the caller writes them before pointing at them.
    /// </summary>
    public long Allocate(int count)
    {
        while (true)
        {
            long start = _end;
            bool restart = false;
            for (int i = 0; i < count; i++)
            {
                if (Get(start + (i * ClusterSize)) != 0)
                {
                    // Refcounted space past the end of the file (left by another writer): step over it.
                    _end = start + ((i + 1) * ClusterSize);
                    restart = true;
                    break;
                }
            }
            if (restart)
            {
                continue;
            }
            long firstCluster = start >> _file.ClusterBits;
            long lastCluster = firstCluster + count - 1;
            for (long b = firstCluster / EntriesPerBlock; b <= lastCluster / EntriesPerBlock; b++)
            {
                if (b >= _table.Length || _table[b] == 0)
                {
                    AddBlock(b);
                    restart = true;
                    break;
                }
            }
            if (restart)
            {
                continue;
            }
            SetRange(firstCluster, count, 1);
            _end = start + (count * ClusterSize);
            return start;
        }
    }

    /// <summary>Creates refcount block <paramref name="blockIndex"/> at the end of the file (growing the table if needed).</summary>
    private void AddBlock(long blockIndex)
    {
        if (blockIndex >= _table.Length)
        {
            GrowTable(blockIndex);
            return;
        }
        long at = _end;
        long cluster = at >> _file.ClusterBits;
        byte[] block = new byte[ClusterSize];
        bool selfCovering = cluster / EntriesPerBlock == blockIndex;
        if (selfCovering)
        {
            WriteEntry(block, cluster % EntriesPerBlock, 1);
        }
        _file.Write(at, block);
        _end = at + ClusterSize;
        SetTableEntry(blockIndex, at);
        CacheBlock(at, block);
        if (!selfCovering)
        {
            // The new block lies in another block's range: account for it there (allocating that block if needed).
            long b = cluster / EntriesPerBlock;
            if (b >= _table.Length || _table[b] == 0)
            {
                AddBlock(b);
            }
            Set(cluster, 1);
        }
    }

    /// <summary>
    /// Writes a larger refcount table at the end of the file, followed by the refcount blocks needed to describe the
    /// new table, those blocks themselves and block <paramref name="neededIndex"/>; switches the header to the new
    /// table; then frees the old table.
    /// </summary>
    private void GrowTable(long neededIndex)
    {
        long start = _end;
        long startCluster = start >> _file.ClusterBits;
        long entriesPerTableCluster = ClusterSize / 8;
        long oldClusters = _table.Length / entriesPerTableCluster;
        long tableClusters = Math.Max(oldClusters * 2, ((neededIndex + 1) + entriesPerTableCluster - 1) / entriesPerTableCluster);
        List<long> newBlocks;
        while (true)
        {
            newBlocks = new List<long>();
            // Fixed point: the blocks must cover the table, themselves and the needed index.
            int blockCount = 0;
            while (true)
            {
                long lastCluster = startCluster + tableClusters + blockCount - 1;
                newBlocks.Clear();
                for (long b = startCluster / EntriesPerBlock; b <= lastCluster / EntriesPerBlock; b++)
                {
                    if (b >= _table.Length || _table[b] == 0)
                    {
                        newBlocks.Add(b);
                    }
                }
                if (!newBlocks.Contains(neededIndex) && (neededIndex >= _table.Length || _table[neededIndex] == 0))
                {
                    newBlocks.Add(neededIndex);
                }
                if (newBlocks.Count == blockCount)
                {
                    break;
                }
                blockCount = newBlocks.Count;
            }
            long maxIndex = neededIndex;
            foreach (long b in newBlocks)
            {
                maxIndex = Math.Max(maxIndex, b);
            }
            long needed = (maxIndex + 1 + entriesPerTableCluster - 1) / entriesPerTableCluster;
            if (needed <= tableClusters)
            {
                break;
            }
            tableClusters = needed;
        }
        if (tableClusters * ClusterSize > MaxTableBytes)
        {
            throw new UnsafeToWriteException($"the QCOW2 refcount table would exceed {MaxTableBytes} bytes; the image cannot grow further", _file.Path);
        }

        long[] table = new long[tableClusters * entriesPerTableCluster];
        Array.Copy(_table, table, _table.Length);
        var blockData = new Dictionary<long, byte[]>();
        for (int k = 0; k < newBlocks.Count; k++)
        {
            table[newBlocks[k]] = (startCluster + tableClusters + k) << _file.ClusterBits;
            blockData[newBlocks[k]] = new byte[ClusterSize];
        }
        long totalClusters = tableClusters + newBlocks.Count;
        for (long c = startCluster; c < startCluster + totalClusters; c++)
        {
            long b = c / EntriesPerBlock;
            if (blockData.TryGetValue(b, out byte[]? data))
            {
                WriteEntry(data, c % EntriesPerBlock, 1);
            }
            else
            {
                Set(c, 1); // an existing block: written now, before anything points at the new clusters
            }
        }
        foreach (KeyValuePair<long, byte[]> kv in blockData)
        {
            _file.Write(table[kv.Key], kv.Value);
            CacheBlock(table[kv.Key], kv.Value);
        }
        byte[] raw = new byte[tableClusters * ClusterSize];
        for (int i = 0; i < table.Length; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(raw.AsSpan(i * 8), table[i]);
        }
        _file.Write(start, raw);
        _file.Stream.Flush(flushToDisk: true);

        // One 12-byte write switches to the new table.
        byte[] field = new byte[12];
        BinaryPrimitives.WriteInt64BigEndian(field, start);
        BinaryPrimitives.WriteUInt32BigEndian(field.AsSpan(8), (uint)tableClusters);
        _file.Write(Qcow2Header.RefcountTableOffsetOffset, field);
        _file.Stream.Flush(flushToDisk: true);

        long oldOffset = _tableOffset;
        long oldBytes = _table.Length * 8L;
        _table = table;
        _tableOffset = start;
        _header.RefcountTableOffset = start;
        _header.RefcountTableClusters = (uint)tableClusters;
        _end = start + (totalClusters * ClusterSize);
        Adjust(oldOffset, oldBytes, -1);
    }

    private void Set(long cluster, ulong value) => SetRange(cluster, 1, value);

    /// <summary>Sets the refcounts of <paramref name="count"/> clusters from <paramref name="firstCluster"/> (their blocks exist), one write per block.</summary>
    private void SetRange(long firstCluster, long count, ulong value)
    {
        long c = firstCluster;
        long end = firstCluster + count;
        while (c < end)
        {
            long blockIndex = c / EntriesPerBlock;
            long segmentEnd = Math.Min(end, (blockIndex + 1) * EntriesPerBlock);
            byte[] block = LoadBlock(_table[blockIndex]);
            for (long k = c; k < segmentEnd; k++)
            {
                WriteEntry(block, k % EntriesPerBlock, value);
            }
            WriteBack(blockIndex, block, c, segmentEnd - c);
            c = segmentEnd;
        }
    }

    /// <summary>Writes back the bytes of refcount block <paramref name="blockIndex"/> that hold the entries of
    /// <paramref name="count"/> clusters from <paramref name="firstCluster"/> (whole bytes for sub-byte widths).</summary>
    private void WriteBack(long blockIndex, byte[] block, long firstCluster, long count)
    {
        long firstIndex = firstCluster % EntriesPerBlock;
        long byteStart = firstIndex * RefcountBits / 8;
        long byteEnd = (((firstIndex + count) * RefcountBits) + 7) / 8;
        _file.Write(_table[blockIndex] + byteStart, block.AsSpan((int)byteStart, (int)(byteEnd - byteStart)));
    }

    private void SetTableEntry(long index, long blockOffset)
    {
        _table[index] = blockOffset;
        byte[] e = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(e, blockOffset);
        _file.Write(_tableOffset + (index * 8), e);
    }

    private byte[] LoadBlock(long offset)
    {
        if (_blocks.TryGetValue(offset, out byte[]? block))
        {
            return block;
        }
        block = new byte[ClusterSize];
        _file.Read(offset, block, "refcount block");
        CacheBlock(offset, block);
        return block;
    }

    private void CacheBlock(long offset, byte[] block)
    {
        if ((_blocks.Count + 1) * ClusterSize > CacheBudget)
        {
            _blocks.Clear();
        }
        _blocks[offset] = block;
    }

    private ulong ReadEntry(byte[] block, long index) => ReadEntry(block, index, RefcountBits);

    private void WriteEntry(byte[] block, long index, ulong value) => WriteEntry(block, index, value, RefcountBits);

    /// <summary>Reads entry <paramref name="index"/> of a refcount block of <paramref name="bits"/>-bit entries.</summary>
    internal static ulong ReadEntry(byte[] block, long index, int bits)
    {
        switch (bits)
        {
            case 64:
                return BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan((int)(index * 8)));
            case 32:
                return BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan((int)(index * 4)));
            case 16:
                return BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan((int)(index * 2)));
            case 8:
                return block[index];
            default:
                long bit = index * bits;
                return (ulong)((block[bit / 8] >> (int)(bit % 8)) & ((1 << bits) - 1));
        }
    }

    /// <summary>Writes entry <paramref name="index"/> of a refcount block of <paramref name="bits"/>-bit entries.</summary>
    internal static void WriteEntry(byte[] block, long index, ulong value, int bits)
    {
        switch (bits)
        {
            case 64:
                BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan((int)(index * 8)), value);
                break;
            case 32:
                BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan((int)(index * 4)), (uint)value);
                break;
            case 16:
                BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan((int)(index * 2)), (ushort)value);
                break;
            case 8:
                block[index] = (byte)value;
                break;
            default:
                long bit = index * bits;
                int shift = (int)(bit % 8);
                int mask = ((1 << bits) - 1) << shift;
                block[bit / 8] = (byte)((block[bit / 8] & ~mask) | (((int)value << shift) & mask));
                break;
        }
    }

    private long RoundUp(long length) => (length + ClusterSize - 1) & ~(ClusterSize - 1);
}
