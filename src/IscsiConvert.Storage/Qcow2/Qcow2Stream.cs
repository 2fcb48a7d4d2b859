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
    /// <summary>The most bytes one run writes at once (bounds the entry arrays built for it).</summary>
    private const long MaxRunBytes = 32L << 20;

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

    /// <summary>The first table or cluster past the end of a truncated file (or other damage), or null.</summary>
    public CorruptDataException? FindTruncation() => _map.FindTruncation(Length);

    /// <summary>Bytes of guest data stored in this file (standard and compressed clusters, whole clusters).</summary>

    public long CountStoredBytes()
    {
        long clusters = 0;
        long l1Needed = (Length + (BlockSize * _map.L2Entries) - 1) / (BlockSize * _map.L2Entries);
        for (long i = 0; i < l1Needed; i++)
        {
            // A truncated file: tables and clusters past its end store nothing here (Damage reports them).
            ulong[]? l2 = _map.L2PastEnd(i) ? null : _map.RawL2(i);
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
                Qcow2L2Entry? e = _map.DecodeInFile(l2[j], _map.L2Offset(i) + (j * 8L));
                if (e is { Kind: Qcow2ClusterKind.Standard or Qcow2ClusterKind.Compressed })
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

    /// <summary>
    /// Writes in runs rather than cluster by cluster: clusters already private to this image whose host clusters follow
    /// one another get one data write; whole clusters that need new host clusters are allocated together (one refcount
    /// write per refcount block), written with one data write, then mapped (one entry write per L2 table), then their old
    /// clusters are released - the same order as for a single cluster. Partial clusters that need a copy go through
    /// <see cref="WriteToBlock"/>.
    /// </summary>
    protected override void WriteCore(long position, ReadOnlySpan<byte> data)
    {
        Qcow2Refcounts refcounts = BeginWrite();
        while (data.Length > 0)
        {
            long cluster = position / BlockSize;
            long inCluster = position % BlockSize;
            Qcow2L2Entry entry = _map.Lookup(cluster);
            int n;
            if (IsPrivate(entry, refcounts))
            {
                n = WriteInPlaceRun(cluster, inCluster, entry, data, refcounts);
            }
            else if (inCluster == 0 && data.Length >= BlockSize)
            {
                n = WriteNewRun(cluster, entry, data, refcounts);
            }
            else
            {
                n = (int)Math.Min(data.Length, BlockSize - inCluster);
                WriteToBlock(cluster, inCluster, data.Slice(0, n));
            }
            position += n;
            data = data.Slice(n);
        }
    }

    /// <summary>A standard cluster with refcount one belongs to this image alone and is overwritten in place.</summary>
    private static bool IsPrivate(Qcow2L2Entry entry, Qcow2Refcounts refcounts) =>
        entry.Kind == Qcow2ClusterKind.Standard && refcounts.Get(entry.HostOffset) == 1;

    /// <summary>Writes in place over private clusters stored back to back in the file; returns the bytes written.</summary>
    private int WriteInPlaceRun(long cluster, long inCluster, Qcow2L2Entry first, ReadOnlySpan<byte> data, Qcow2Refcounts refcounts)
    {
        long length = Math.Min(data.Length, BlockSize - inCluster);
        for (long next = cluster + 1; length < data.Length && length < MaxRunBytes; next++)
        {
            Qcow2L2Entry e = _map.Lookup(next);
            if (!IsPrivate(e, refcounts) || e.HostOffset != first.HostOffset + ((next - cluster) * BlockSize))
            {
                break;
            }
            length = Math.Min(data.Length, length + BlockSize);
        }
        _file.Write(first.HostOffset + inCluster, data.Slice(0, (int)length));
        return (int)length;
    }

    /// <summary>
    /// Writes the whole clusters at the start of <paramref name="data"/> that are not private (unallocated, zero,
    /// compressed or shared) to newly allocated, contiguous host clusters; returns the bytes written.
    /// </summary>
    private int WriteNewRun(long cluster, Qcow2L2Entry first, ReadOnlySpan<byte> data, Qcow2Refcounts refcounts)
    {
        long maxCount = Math.Min(data.Length / BlockSize, Math.Max(1, MaxRunBytes / BlockSize));
        var old = new List<Qcow2L2Entry> { first };
        while (old.Count < maxCount)
        {
            Qcow2L2Entry e = _map.Lookup(cluster + old.Count);
            if (IsPrivate(e, refcounts))
            {
                break;
            }
            old.Add(e);
        }
        int count = old.Count;
        int bytes = (int)(count * BlockSize);
        long host = refcounts.Allocate(count);
        _file.Write(host, data.Slice(0, bytes));
        ulong[] entries = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            entries[i] = Qcow2L2Entry.StandardCopied(host + (i * BlockSize));
        }
        _map.SetRange(cluster, entries, refcounts);
        if (_inflatedCluster >= cluster && _inflatedCluster < cluster + count)
        {
            _inflatedCluster = -1;
        }
        foreach (Qcow2L2Entry e in old)
        {
            Release(e, refcounts);
        }
        return bytes;
    }

    /// <summary>Copies one cluster that is not private to a new host cluster with <paramref name="data"/> over its old content.</summary>
    protected override void WriteToBlock(long blockIndex, long offsetInBlock, ReadOnlySpan<byte> data)
    {
        Qcow2Refcounts refcounts = BeginWrite();
        Qcow2L2Entry entry = _map.Lookup(blockIndex);
        if (IsPrivate(entry, refcounts))
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
        Release(entry, refcounts);
    }

    private Qcow2Refcounts BeginWrite()
    {
        Qcow2Refcounts refcounts = _refcounts ?? throw new NotSupportedException("The image was opened read-only.");
        if (!_wrote)
        {
            _beforeFirstWrite?.Invoke();
            _wrote = true;
        }
        return refcounts;
    }

    /// <summary>Drops the reference an L2 entry held, after the entry has been replaced.</summary>
    private static void Release(Qcow2L2Entry old, Qcow2Refcounts refcounts)
    {
        switch (old.Kind)
        {
            case Qcow2ClusterKind.Standard:
                refcounts.Adjust(old.HostOffset, 1, -1);
                break;
            case Qcow2ClusterKind.Zero when old.HostOffset != 0:
                refcounts.Adjust(old.HostOffset, 1, -1);
                break;
            case Qcow2ClusterKind.Compressed:
                refcounts.Adjust(old.HostOffset, old.CompressedLength, -1);
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
