using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Storage;

/// <summary>
/// A seekable, fixed-length stream that knows which of its bytes are stored: <see cref="GetExtents"/> lists the
/// allocated ranges, and everything outside them reads as zeros. Copying and converting use it to skip holes.
/// </summary>
/// <remarks>
/// Derived classes implement positional <see cref="ReadCore"/> and <see cref="WriteCore"/>; this base keeps the
/// position, clamps reads at the end and refuses writes past it (a virtual disk never grows by writing).
/// </remarks>
public abstract class SparseStream : Stream
{
    private long _position;
    private bool _disposed;

    /// <summary>Lists the allocated extents that overlap [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>),
    /// clipped to that range, in ascending order and without overlaps. Bytes outside them read as zeros.</summary>
    public abstract IEnumerable<StreamExtent> GetExtents(long start, long length);

    /// <summary>Lists all allocated extents.</summary>
    public IEnumerable<StreamExtent> GetExtents() => GetExtents(0, Length);

    /// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="position"/>, which lies wholly inside the stream.</summary>
    protected abstract void ReadCore(long position, Span<byte> buffer);

    /// <summary>Writes <paramref name="data"/> at <paramref name="position"/>, wholly inside the stream. Called only when <see cref="CanWrite"/>.</summary>
    protected abstract void WriteCore(long position, ReadOnlySpan<byte> data);

    /// <summary>True when the stream was opened for writing.</summary>
    protected abstract bool IsWritable { get; }

    /// <summary>Reads at a position without moving <see cref="Position"/>; returns the number of bytes read (fewer only at the end).</summary>
    public int ReadAt(long position, Span<byte> buffer)
    {
        ThrowIfDisposed();
        if (position < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(position));
        }
        long available = Length - position;
        if (available <= 0)
        {
            return 0;
        }
        int count = (int)Math.Min(buffer.Length, available);
        ReadCore(position, buffer.Slice(0, count));
        return count;
    }

    /// <summary>Writes at a position without moving <see cref="Position"/>.</summary>
    public void WriteAt(long position, ReadOnlySpan<byte> data)
    {
        ThrowIfDisposed();
        if (!CanWrite)
        {
            throw new NotSupportedException("The stream was opened read-only.");
        }
        if (position < 0 || position > Length - data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(position), "A write must lie inside the virtual disk; virtual disks do not grow by writing.");
        }
        if (data.Length > 0)
        {
            WriteCore(position, data);
        }
    }

    /// <inheritdoc/>
    public override bool CanRead => !_disposed;

    /// <inheritdoc/>
    public override bool CanSeek => !_disposed;

    /// <inheritdoc/>
    public override bool CanWrite => !_disposed && IsWritable;

    /// <inheritdoc/>
    public override long Position
    {
        get => _position;
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value));
            }
            _position = value;
        }
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count)
    {
        CheckBuffer(buffer, offset, count);
        int n = ReadAt(_position, buffer.AsSpan(offset, count));
        _position += n;
        return n;
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count)
    {
        CheckBuffer(buffer, offset, count);
        WriteAt(_position, buffer.AsSpan(offset, count));
        _position += count;
    }


    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        Position = target;
        return target;
    }

    /// <summary>Virtual disks have a fixed size; use the format's resize operation instead.</summary>
    public override void SetLength(long value) => throw new NotSupportedException("A virtual disk's size cannot be changed through its stream.");

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> after disposal.</summary>
    protected void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(GetType().Name);
        }
    }

    private static void CheckBuffer(byte[] buffer, int offset, int count)
    {
        if (buffer is null)
        {
            throw new ArgumentNullException(nameof(buffer));
        }
        if (offset < 0 || count < 0 || offset > buffer.Length - count)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
    }
}
