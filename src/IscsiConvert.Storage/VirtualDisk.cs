using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage;

/// <summary>
/// An open virtual disk of any format: its size, its format, its parent chain, and <see cref="Content"/>, one stream
/// over the whole virtual disk. Open one with <see cref="DiskImage.Open(string, DiskAccess)"/>; dispose it to close the
/// file (and its parents).
/// </summary>
public abstract class VirtualDisk : IDisposable
{
    private bool _disposed;

    /// <summary>Creates the disk object.</summary>
    protected VirtualDisk(string? filePath, DiskAccess access)
    {
        FilePath = filePath;
        Access = access;
    }

    /// <summary>The image file, or null for a disk opened on a caller's stream.</summary>
    public string? FilePath { get; }

    /// <summary>
    /// True when the image had a pending log (a VHDX that was not closed cleanly) and, being opened read-only, the log
    /// was replayed in memory only: what is read is the replayed content, and the file is unchanged.
    /// </summary>
    public virtual bool LogReplayedInMemory => false;

    /// <summary>
    /// Why this read-only image is damaged (for example a truncated file whose tables or data point past its end), or
    /// null when its tables check out. The header, size and parents stay usable; a read that needs the missing data
    /// throws <see cref="CorruptDataException"/>. Computed on first use by walking the image's tables (as
    /// <see cref="StoredBytes"/> does); opening a damaged image for writing is refused.
    /// </summary>
    public virtual string? Damage => null;

    /// <summary>How the disk was opened.</summary>
    public DiskAccess Access { get; }

    /// <summary>The container format.</summary>
    public abstract DiskFormat Format { get; }

    /// <summary>The variant within the format, in lower case: "fixed", "dynamic", "differencing", "monolithicSparse", …</summary>
    public abstract string Subformat { get; }

    /// <summary>The whole virtual disk as a stream; holes read as zeros and are not listed by <see cref="SparseStream.GetExtents()"/>.</summary>
    public abstract SparseStream Content { get; }

    /// <summary>The virtual size in bytes.</summary>
    public long Capacity => Content.Length;

    /// <summary>The disk this one stores differences against, or null.</summary>
    public virtual VirtualDisk? Parent => null;

    /// <summary>The parent path stored in this differencing image when it was opened with
    /// <see cref="DiskOpenOptions.AllowMissingParent"/> and the parent was not found; null otherwise. When set, the
    /// content reads zeros where the parent would supply data.</summary>
    public virtual string? MissingParentPath => null;

    /// <summary>Bytes per logical sector as the guest sees it (512, or 4096 for 4Kn VHDX disks).</summary>
    public virtual int LogicalSectorSize => 512;

    /// <summary>Bytes of virtual-disk data stored in this file itself (not counting parents); an upper bound for raw files.</summary>
    public abstract long StoredBytes { get; }

    /// <summary>This disk, then its parent, then the parent's parent, to the base.</summary>
    public IEnumerable<VirtualDisk> Chain
    {
        get
        {
            for (VirtualDisk? d = this; d is not null; d = d.Parent)
            {
                yield return d;
            }
        }
    }

    /// <summary>Every file this image itself consists of (not its parents): the image file, plus extent files for
    /// formats that split the disk over several files. Conversion removes them all when it fails part way.</summary>
    internal virtual IReadOnlyList<string> ImageFiles => FilePath is null ? Array.Empty<string>() : new[] { FilePath };

    /// <summary>Writes everything buffered to the file, leaving the image consistent on disk.</summary>
    public virtual void Flush() => Content.Flush();

    /// <summary>Throws <see cref="ObjectDisposedException"/> after disposal.</summary>
    protected void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(GetType().Name);
        }
    }

    /// <summary>Closes the file and the parents.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        Dispose(true);
        _disposed = true;
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the file and the parent chain.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Parent?.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Format} ({Subformat}) {Capacity} bytes{(FilePath is null ? string.Empty : " " + FilePath)}";
}
