using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Vmdk;

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
