using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Raw;

/// <summary>A raw image: the file is the disk, byte for byte.</summary>
public sealed class RawDisk : VirtualDisk
{
    private readonly FileStream _file;
    private readonly FileRegionStream _content;

    private RawDisk(FileStream file, string path, DiskAccess access)
        : base(path, access)
    {
        _file = file;
        _content = new FileRegionStream(file, file.Length, access == DiskAccess.ReadWrite);
    }

    /// <inheritdoc/>
    public override DiskFormat Format => DiskFormat.Raw;

    /// <inheritdoc/>
    public override string Subformat => "raw";

    /// <inheritdoc/>
    public override SparseStream Content => _content;

    /// <summary>The bytes the host file system reports as data (holes of a sparse file do not count).</summary>
    public override long StoredBytes => ExtentMath.Sum(_content.GetExtents());

    internal static RawDisk Open(string path, DiskAccess access) => new(ImageFile.Open(path, access), path, access);

    internal static RawDisk Create(string path, DiskCreateOptions options)
    {
        if (options.Capacity <= 0 || options.Capacity % 512 != 0)
        {
            throw new ArgumentException("A raw image's capacity must be a positive multiple of 512 bytes.", nameof(options));
        }
        FileStream file = ImageFile.CreateNew(path);
        try
        {
            file.SetLength(options.Capacity); // sparse on file systems that support it; zeros either way
            return new RawDisk(file, path, DiskAccess.ReadWrite);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        _file.Flush(flushToDisk: true);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _content.Dispose();
            _file.Dispose();
        }
        base.Dispose(disposing);
    }
}
