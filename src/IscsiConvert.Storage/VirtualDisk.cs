using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Storage.Journal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Storage;

/// <summary>
/// An open virtual disk of any format: its size, its format, its parent chain, and <see cref="Content"/>, one stream
/// over the whole virtual disk. Open one with <see cref="DiskImage.Open(string, DiskAccess)"/>; dispose it to close the
/// file (and its parents).
/// </summary>
public abstract class VirtualDisk : IDisposable
{
    private bool _disposed;
    private DiskWriteTransaction? _transaction;
    private bool _rolledBack;

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
    /// True when this read-only open found beside the image the journal of an in-place write that was committed but not
    /// finished (the process stopped while copying it in; docs/formats/journal.md) and reads the image with that write
    /// applied in memory: what is read is the finished write, and the file is unchanged. A writable open (or
    /// <see cref="DiskImage.Recover"/>) finishes the write in the file.
    /// </summary>
    public bool JournalReplayedInMemory { get; internal set; }

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

    /// <summary>The logger of the open, for the write transactions (set by the formats that have one).</summary>
    internal ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>
    /// Starts an all-or-nothing write (<see cref="DiskWriteTransaction"/>): until it is committed, nothing written to
    /// this disk reaches the image file; it goes to a journal beside it, and disposing the transaction without
    /// committing leaves the image byte-identical. One transaction at a time; covers every file of the image itself
    /// (VMDK extents included, when they lie in the image's folder or below), never the read-only parents.
    /// </summary>
    /// <exception cref="InvalidOperationException">The disk is open read-only, was opened on a stream rather than a
    /// file, or already has a transaction.</exception>
    /// <exception cref="UnsafeToWriteException">A journal already lies beside the image.</exception>
    public DiskWriteTransaction BeginWriteTransaction()
    {
        ThrowIfDisposed();
        if (Access != DiskAccess.ReadWrite)
        {
            throw new InvalidOperationException($"{FilePath ?? "The disk"} is open read-only: a write transaction needs DiskAccess.ReadWrite.");
        }
        if (_transaction is not null)
        {
            throw new InvalidOperationException("The disk already has a write transaction: commit or dispose it first.");
        }
        if (_rolledBack)
        {
            throw new InvalidOperationException($"A write transaction on {FilePath} was rolled back: open the image again.");
        }
        List<JournaledFileStream> files = ImageFiles.Select(ImageFile.FindWritable).Where(f => f is not null).Select(f => f!).ToList();
        if (FilePath is null || files.Count == 0 || !string.Equals(files[0].FilePath, FilePath, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Write transactions need an image opened from its file for writing.");
        }
        _transaction = new DiskWriteTransaction(this, WriteTransactionCore.Begin(files, Logger));
        return _transaction;
    }

    /// <summary>The write transaction in progress on this disk, or null.</summary>
    public DiskWriteTransaction? WriteTransaction => _transaction;

    internal void EndTransaction(DiskWriteTransaction transaction)
    {
        if (ReferenceEquals(_transaction, transaction))
        {
            _transaction = null;
            _rolledBack |= !transaction.IsCommitted;
        }
    }

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
        _disposed = true;
        if (_rolledBack)
        {
            // The files refuse every use after a rollback; close them first, so that whatever the format's close
            // tries to write fails without reaching them, and the parents, should the format's close stop early.
            foreach (JournaledFileStream? file in ImageFiles.Select(ImageFile.FindWritable))
            {
                file?.Dispose();
            }
            try
            {
                Dispose(true);
            }
            catch (InvalidOperationException)
            {
            }
            catch (System.IO.IOException)
            {
            }
            Parent?.Dispose();
        }
        else
        {
            Dispose(true);
        }
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
