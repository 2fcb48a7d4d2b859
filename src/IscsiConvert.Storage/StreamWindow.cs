using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage;

/// <summary>
/// A part of a <see cref="SparseStream"/> seen as a stream of its own, such as a partition of a disk.
/// Reads and writes go straight through; disposing the window leaves the underlying stream open.
/// </summary>
public sealed class StreamWindow : SparseStream
{
    private readonly SparseStream _inner;
    private readonly long _offset;
    private readonly long _length;

    /// <summary>Creates a window of <paramref name="length"/> bytes starting at <paramref name="offset"/> of <paramref name="inner"/>.</summary>
    public StreamWindow(SparseStream inner, long offset, long length)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        if (offset < 0 || length < 0 || offset > inner.Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "The window must lie inside the stream.");
        }
        _offset = offset;
        _length = length;
    }

    /// <summary>Where the window starts in the underlying stream.</summary>
    public long Offset => _offset;

    /// <inheritdoc/>
    public override long Length => _length;

    /// <inheritdoc/>
    protected override bool IsWritable => _inner.CanWrite;

    /// <inheritdoc/>
    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(_length, start + length);
        if (start >= end)
        {
            yield break;
        }
        foreach (StreamExtent e in _inner.GetExtents(_offset + start, end - start))
        {
            yield return new StreamExtent(e.Start - _offset, e.Length);
        }
    }

    /// <inheritdoc/>
    protected override void ReadCore(long position, Span<byte> buffer)
    {
        int n = _inner.ReadAt(_offset + position, buffer);
        if (n != buffer.Length)
        {
            buffer.Slice(n).Clear();
        }
    }

    /// <inheritdoc/>
    protected override void WriteCore(long position, ReadOnlySpan<byte> data) => _inner.WriteAt(_offset + position, data);

    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();
}
