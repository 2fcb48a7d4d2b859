using System;
using IscsiConvert.Storage.Journal;

namespace IscsiConvert.Storage;

/// <summary>
/// All or nothing for an in-place write to an image (<see cref="VirtualDisk.BeginWriteTransaction"/>): until
/// <see cref="Commit"/>, every write to the image's files goes to a redo journal beside the image
/// (<c>IMAGE.iscsiconvert-journal</c>, docs/formats/journal.md) and the image file is not touched; reads see the
/// writes. <see cref="Commit"/> makes the journal durable — the commit point — and then copies it into the image;
/// a crash after the commit point is finished by the next open of the image by IscsiConvert, a crash before it leaves
/// the image as it was. Disposing without <see cref="Commit"/> rolls back: the journal is deleted and the image file
/// is byte-identical to before; if anything had been written, the <see cref="VirtualDisk"/> is then unusable (its
/// in-memory state no longer matches the file) and must be opened again.
/// </summary>
public sealed class DiskWriteTransaction : IDisposable
{
    private readonly VirtualDisk _disk;
    private readonly WriteTransactionCore _core;

    internal DiskWriteTransaction(VirtualDisk disk, WriteTransactionCore core)
    {
        _disk = disk;
        _core = core;
    }

    /// <summary>The journal file beside the image.</summary>
    public string JournalPath => _core.Journal.Path;

    /// <summary>True once <see cref="Commit"/> has returned.</summary>
    public bool IsCommitted { get; private set; }

    /// <summary>
    /// Flushes the disk's own pending state into the transaction, then commits: journal made durable (the commit
    /// point), copied into the image, image made durable, journal deleted.
    /// </summary>
    /// <exception cref="InvalidOperationException">The transaction has already ended.</exception>
    public void Commit()
    {
        if (_core.Ended)
        {
            throw new InvalidOperationException("The write transaction has ended (committed or rolled back).");
        }
        _disk.Flush();
        _core.Commit();
        _disk.EndTransaction(this);
        IsCommitted = true;
    }

    /// <summary>Rolls back unless committed: the journal is deleted and the image file was never touched.</summary>
    public void Dispose()
    {
        if (!_core.Ended)
        {
            _core.Abort();
        }
        _disk.EndTransaction(this);
    }
}
