using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>One extent of a VMDK: a run of the virtual disk stored one way (flat file, sparse file, zeros).</summary>
internal abstract class VmdkExtent : IDisposable
{
    protected VmdkExtent(long start, long length)
    {
        Start = start;
        Length = length;
    }

    /// <summary>The extent's first byte in the virtual disk.</summary>
    public long Start { get; }

    /// <summary>The extent's size in bytes.</summary>
    public long Length { get; }

    public long End => Start + Length;

    /// <summary>Bytes of disk data this extent stores in its file.</summary>
    public abstract long StoredBytes { get; }

    /// <summary>Reads at <paramref name="offset"/> bytes into the extent; the span lies wholly inside it.</summary>
    public abstract void Read(long offset, Span<byte> buffer);

    /// <summary>Writes at <paramref name="offset"/> bytes into the extent; the span lies wholly inside it.</summary>
    public abstract void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>The allocated extents in [<paramref name="offset"/>, +<paramref name="length"/>) of the extent, in disk coordinates, ascending.</summary>
    public abstract IEnumerable<StreamExtent> GetExtents(long offset, long length);

    public virtual void Flush()
    {
    }

    public virtual void Dispose()
    {
    }
}

/// <summary>What an unallocated grain of a sparse extent reads as: the parent disk's bytes, or zeros without a parent.</summary>
internal sealed class VmdkBacking
{
    public static readonly VmdkBacking None = new(null);

    private readonly SparseStream? _parent;

    public VmdkBacking(SparseStream? parent)
    {
        _parent = parent;
    }

    public bool HasParent => _parent is not null;

    /// <summary>Reads disk bytes at <paramref name="position"/>; past the parent's end (or without one) they are zeros.</summary>
    public void Read(long position, Span<byte> buffer)
    {
        int n = 0;
        if (_parent is not null && position < _parent.Length)
        {
            n = _parent.ReadAt(position, buffer);
        }
        buffer.Slice(n).Clear();
    }

    public IEnumerable<StreamExtent> GetExtents(long start, long length) =>
        _parent is null ? Array.Empty<StreamExtent>() : _parent.GetExtents(start, length);
}

/// <summary>A FLAT (or VMFS) extent: the bytes lie in a file from a sector offset on.</summary>
internal sealed class FlatExtent : VmdkExtent
{
    private readonly FileStream _file;
    private readonly long _fileOffset;
    private readonly bool _writable;

    public FlatExtent(long start, long length, FileStream file, long fileOffset, bool writable)
        : base(start, length)
    {
        _file = file;
        _fileOffset = fileOffset;
        _writable = writable;
    }

    public override long StoredBytes => Math.Max(0, Math.Min(Length, _file.Length - _fileOffset));

    public override void Read(long offset, Span<byte> buffer)
    {
        // A flat file shorter than its extent (a truncated or sparse copy) reads as zeros past its end, as qemu does.
        int n = _file.ReadAtMost(_fileOffset + offset, buffer);
        buffer.Slice(n).Clear();
    }

    public override void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (!_writable)
        {
            throw new NotSupportedException("This VMDK extent is read-only (RDONLY in the descriptor).");
        }
        _file.WriteAt(_fileOffset + offset, data);
    }

    public override IEnumerable<StreamExtent> GetExtents(long offset, long length)
    {
        if (length > 0)
        {
            yield return new StreamExtent(Start + offset, length);
        }
    }

    public override void Flush()
    {
        if (_writable)
        {
            _file.Flush(flushToDisk: true);
        }
    }
}

/// <summary>A ZERO extent: no file, reads as zeros, cannot be written.</summary>
internal sealed class ZeroExtent : VmdkExtent
{
    public ZeroExtent(long start, long length)
        : base(start, length)
    {
    }

    public override long StoredBytes => 0;

    public override void Read(long offset, Span<byte> buffer) => buffer.Clear();

    public override void Write(long offset, ReadOnlySpan<byte> data) =>
        throw new NotSupportedException("This part of the VMDK is a ZERO extent, which has no storage to write to.");

    public override IEnumerable<StreamExtent> GetExtents(long offset, long length) => Array.Empty<StreamExtent>();
}
