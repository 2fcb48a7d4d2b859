using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>The virtual disk of a VMDK: its extents laid end to end, each read and written by its own kind.</summary>
internal sealed class VmdkContent : SparseStream
{
    private readonly IReadOnlyList<VmdkExtent> _extents;
    private readonly bool _writable;
    private readonly long _length;

    public VmdkContent(IReadOnlyList<VmdkExtent> extents, bool writable)
    {
        _extents = extents;
        _writable = writable;
        _length = extents.Count == 0 ? 0 : extents[extents.Count - 1].End;
    }

    public override long Length => _length;

    protected override bool IsWritable => _writable;

    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(_length, start + length);
        var all = new List<StreamExtent>();
        for (int i = Find(start); i < _extents.Count && start < end; i++)
        {
            VmdkExtent e = _extents[i];
            long s = Math.Max(start, e.Start);
            long t = Math.Min(end, e.End);
            if (t > s)
            {
                all.AddRange(e.GetExtents(s - e.Start, t - s));
            }
        }
        return ExtentMath.Merge(all);
    }

    protected override void ReadCore(long position, Span<byte> buffer)
    {
        for (int i = Find(position); buffer.Length > 0; i++)
        {
            VmdkExtent e = _extents[i];
            int n = (int)Math.Min(buffer.Length, e.End - position);
            e.Read(position - e.Start, buffer.Slice(0, n));
            position += n;
            buffer = buffer.Slice(n);
        }
    }

    protected override void WriteCore(long position, ReadOnlySpan<byte> data)
    {
        for (int i = Find(position); data.Length > 0; i++)
        {
            VmdkExtent e = _extents[i];
            int n = (int)Math.Min(data.Length, e.End - position);
            e.Write(position - e.Start, data.Slice(0, n));
            position += n;
            data = data.Slice(n);
        }
    }

    public override void Flush()
    {
        foreach (VmdkExtent e in _extents)
        {
            e.Flush();
        }
    }

    /// <summary>The index of the extent holding <paramref name="position"/> (binary search; extents are contiguous).</summary>
    private int Find(long position)
    {
        int lo = 0;
        int hi = _extents.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (_extents[mid].Start <= position)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return lo;
    }
}
