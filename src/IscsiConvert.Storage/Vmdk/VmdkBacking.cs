using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vmdk;

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
