using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage;

/// <summary>
/// A fully allocated disk stored as the first <see cref="Length"/> bytes of a file, read and written straight through:
/// a raw image, or the data part of a fixed VHD. Bytes past the end of a shorter (truncated) file read as zeros.
/// </summary>
internal sealed class FileRegionStream : SparseStream
{
    private readonly FileStream _file;
    private readonly long _length;
    private readonly bool _writable;

    public FileRegionStream(FileStream file, long length, bool writable)
    {
        _file = file;
        _length = length;
        _writable = writable;
    }

    public override long Length => _length;

    protected override bool IsWritable => _writable;

    /// <summary>The parts of the file that hold data, as the host file system reports them (all of it where it cannot tell).</summary>
    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(_length, start + length);
        return HostFileHoles.DataExtents(_file, start, end);
    }

    protected override void ReadCore(long position, Span<byte> buffer)
    {
        int n = _file.ReadAtMost(position, buffer);
        buffer.Slice(n).Clear();
    }

    protected override void WriteCore(long position, ReadOnlySpan<byte> data) => _file.WriteAt(position, data);

    public override void Flush() => _file.Flush();
}
