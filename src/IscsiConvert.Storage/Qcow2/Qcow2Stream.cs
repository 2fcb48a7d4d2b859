using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// The virtual disk of a QCOW2 image, one guest cluster per block. Reads follow the L2 entry (standard, compressed,
/// zero, or unallocated → backing file or zeros). Writes go in place only to standard clusters whose refcount is one;
/// every other cluster (unallocated, zero, compressed, or shared with a snapshot) is copied to a new cluster at the
/// end of the file: data first, then the L2 entry, then the old cluster's refcount is dropped.
/// </summary>
internal sealed class Qcow2Stream : BlockMappedStream
{
    private readonly Qcow2File _file;
    private readonly Qcow2ClusterMap _map;
    private readonly Qcow2Refcounts? _refcounts;
    private readonly VirtualDisk? _parent;
    private readonly Action? _beforeFirstWrite;
    private long _inflatedCluster = -1;
    private byte[]? _inflated;
    private bool _wrote;

    public Qcow2Stream(Qcow2File file, Qcow2ClusterMap map, long size, Qcow2Refcounts? refcounts, VirtualDisk? parent, Action? beforeFirstWrite)
        : base(size, file.ClusterSize)
    {
        _file = file;
        _map = map;
        _refcounts = refcounts;
        _parent = parent;
        _beforeFirstWrite = beforeFirstWrite;
    }

    protected override bool IsWritable => _refcounts is not null;

    /// <summary>Bytes of guest data stored in this file (standard and compressed clusters, whole clusters).</summary>
    public long CountStoredBytes()
    {
        long clusters = 0;
        long l1Needed = (Length + (BlockSize * _map.L2Entries) - 1) / (BlockSize * _map.L2Entries);
        for (long i = 0; i < l1Needed; i++)
        {
            ulong[]? l2 = _map.RawL2(i);
            if (l2 is null)
            {
                continue;
            }
            for (int j = 0; j < l2.Length; j++)
            {
                long gc = (i * _map.L2Entries) + j;
                if (gc * BlockSize >= Length)
                {
                    break;
                }
                Qcow2L2Entry e = _map.Decode(l2[j], _map.L2Offset(i) + (j * 8L));
                if (e.Kind == Qcow2ClusterKind.Standard || e.Kind == Qcow2ClusterKind.Compressed)
                {
                    clusters++;
                }
            }
        }
        return clusters * BlockSize;
    }

    /// <summary>Lists extents walking L1 then L2 so that unallocated L2 ranges are skipped (or passed to the parent) whole.</summary>
    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(Length, start + length);
        if (start >= end)
        {
            return Array.Empty<StreamExtent>();
        }
        return ExtentMath.Merge(Enumerate(start, end));
    }

    private IEnumerable<StreamExtent> Enumerate(long start, long end)
    {
        long l1Span = BlockSize * _map.L2Entries;
        for (long l1 = start / l1Span; l1 * l1Span < end; l1++)
        {
            long spanStart = Math.Max(start, l1 * l1Span);
            long spanEnd = Math.Min(end, (l1 + 1) * l1Span);
            ulong[]? l2 = _map.RawL2(l1);
            if (l2 is null)
            {
                foreach (StreamExtent e in ParentExtents(spanStart, spanEnd))
                {
                    yield return e;
                }
                continue;
            }
            for (long gc = spanStart / BlockSize; gc * BlockSize < spanEnd; gc++)
            {
                long cs = Math.Max(spanStart, gc * BlockSize);
                long ce = Math.Min(spanEnd, (gc + 1) * BlockSize);
                int index = (int)(gc % _map.L2Entries);
                Qcow2L2Entry entry = _map.Decode(l2[index], _map.L2Offset(l1) + (index * 8L));
                switch (entry.Kind)
                {
                    case Qcow2ClusterKind.Standard:
                    case Qcow2ClusterKind.Compressed:
                        yield return new StreamExtent(cs, ce - cs);
                        break;
                    case Qcow2ClusterKind.Unallocated:
                        foreach (StreamExtent e in ParentExtents(cs, ce))
                        {
                            yield return e;
                        }
                        break;
                }
            }
        }
    }

    private IEnumerable<StreamExtent> ParentExtents(long start, long end)
    {
        if (_parent is null || start >= _parent.Capacity)
        {
            return Array.Empty<StreamExtent>();
        }
        return _parent.Content.GetExtents(start, Math.Min(end, _parent.Capacity) - start);
    }

    protected override bool IsBlockAllocated(long blockIndex) =>
        GetExtents(blockIndex * BlockSize, BlockSize).GetEnumerator().MoveNext();

    protected override void ReadFromBlock(long blockIndex, long offsetInBlock, Span<byte> buffer)
    {
        Qcow2L2Entry entry = _map.Lookup(blockIndex);
        switch (entry.Kind)
        {
            case Qcow2ClusterKind.Unallocated:
                ReadParent((blockIndex * BlockSize) + offsetInBlock, buffer);
                break;
            case Qcow2ClusterKind.Zero:
                buffer.Clear();
                break;
            case Qcow2ClusterKind.Standard:
                _file.ReadZeroFilled(entry.HostOffset + offsetInBlock, buffer);
                break;
            case Qcow2ClusterKind.Compressed:
                Inflated(blockIndex, entry).AsSpan((int)offsetInBlock, buffer.Length).CopyTo(buffer);
                break;
        }
    }

    protected override void WriteToBlock(long blockIndex, long offsetInBlock, ReadOnlySpan<byte> data)
    {
        Qcow2Refcounts refcounts = _refcounts ?? throw new NotSupportedException("The image was opened read-only.");
        if (!_wrote)
        {
            _beforeFirstWrite?.Invoke();
            _wrote = true;
        }
        Qcow2L2Entry entry = _map.Lookup(blockIndex);
        if (entry.Kind == Qcow2ClusterKind.Standard && refcounts.Get(entry.HostOffset) == 1)
        {
            _file.Write(entry.HostOffset + offsetInBlock, data);
            return;
        }

        // Copy on write: build the whole new cluster, write it, then point the L2 entry at it.
        byte[] cluster = new byte[BlockSize];
        if (data.Length != BlockSize)
        {
            long validBytes = Math.Min(BlockSize, Length - (blockIndex * BlockSize));
            ReadFromBlock(blockIndex, 0, cluster.AsSpan(0, (int)validBytes));
        }
        data.CopyTo(cluster.AsSpan((int)offsetInBlock));
        long host = refcounts.Allocate(1);
        _file.Write(host, cluster);
        _map.Set(blockIndex, Qcow2L2Entry.StandardCopied(host), refcounts);
        if (_inflatedCluster == blockIndex)
        {
            _inflatedCluster = -1;
        }
        switch (entry.Kind)
        {
            case Qcow2ClusterKind.Standard:
                refcounts.Adjust(entry.HostOffset, 1, -1);
                break;
            case Qcow2ClusterKind.Zero when entry.HostOffset != 0:
                refcounts.Adjust(entry.HostOffset, 1, -1);
                break;
            case Qcow2ClusterKind.Compressed:
                refcounts.Adjust(entry.HostOffset, entry.CompressedLength, -1);
                break;
        }
    }

    public override void Flush() => _file.Stream.Flush();

    private void ReadParent(long position, Span<byte> buffer)
    {
        int n = 0;
        if (_parent is not null && position < _parent.Capacity)
        {
            n = _parent.Content.ReadAt(position, buffer);
        }
        buffer.Slice(n).Clear();
    }

    private byte[] Inflated(long guestCluster, Qcow2L2Entry entry)
    {
        if (_inflatedCluster == guestCluster && _inflated is not null)
        {
            return _inflated;
        }
        long available = Math.Min(entry.CompressedLength, _file.Length - entry.HostOffset);
        byte[] compressed = new byte[available];
        _file.Read(entry.HostOffset, compressed, "compressed cluster");
        byte[] cluster = _inflated ?? new byte[BlockSize];
        _inflatedCluster = -1;
        Qcow2Compression.Inflate(compressed, compressed.Length, cluster, _file, entry.HostOffset);
        _inflated = cluster;
        _inflatedCluster = guestCluster;
        return cluster;
    }
}
