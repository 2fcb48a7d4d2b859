using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vmdk;

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
