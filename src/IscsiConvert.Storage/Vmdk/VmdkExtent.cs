using System;
using System.Collections.Generic;

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

    /// <summary>The first table or data pointer that lies past the end of the extent's file (a truncated file), or null.</summary>
    public virtual CorruptDataException? FindTruncation() => null;

    public virtual void Flush()
    {
    }

    public virtual void Dispose()
    {
    }
}
