using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Journal;

/// <summary>
/// Every image file the storage layer opens for writing: a pass-through to the file while no write transaction is
/// active; while one is, writes and length changes go to the transaction's journal (<see cref="FileOverlay"/>) and
/// reads and the length come from the overlay, then the file — which is not touched until the commit. A flush to disk
/// inside a transaction does nothing: the journal orders everything. After a rollback that had written anything, the
/// stream refuses every use: the container's in-memory state above it no longer matches the file.
/// A read-only open of an image whose last write is committed but not finished gets the same stream, read-only, over
/// that journal's ranges (<see cref="CommittedJournal"/>): it reads the finished write, and the file is not touched.
/// </summary>
/// <remarks>It is a <see cref="FileStream"/> because the formats hold their files as such; the base is built on the
/// inner file's handle and every member the formats use is overridden to go through the inner stream or the overlay.</remarks>
internal sealed class JournaledFileStream : FileStream
{
    private readonly FileStream _inner;
    private long _position;
    private WriteTransactionCore? _transaction;
    private FileOverlay? _overlay;
    // Where the overlay's bytes are: the transaction's journal, or the committed journal of a read-only view (owned).
    private ImageJournal? _journal;
    private bool _ownsJournal;
    private bool _poisoned;
    private bool _disposed;

    public JournaledFileStream(FileStream inner, string path)
        : base(inner.SafeFileHandle, inner.CanWrite ? FileAccess.ReadWrite : FileAccess.Read, 1) // 1: unbuffered, and valid on .NET Framework too
    {
        _inner = inner;
        FilePath = path;
    }

    /// <summary>A read-only view of <paramref name="inner"/> with a committed journal's ranges over it
    /// (<see cref="CommittedJournal.View"/>); owns <paramref name="inner"/> and <paramref name="journal"/>.</summary>
    public JournaledFileStream(FileStream inner, string path, FileOverlay committed, ImageJournal journal)
        : this(inner, path)
    {
        _overlay = committed;
        _journal = journal;
        _ownsJournal = true;
    }

    /// <summary>The full path the file was opened by.</summary>
    public string FilePath { get; }

#if NET
    /// <inheritdoc/>
    public override string Name => FilePath;
#endif

    /// <summary>True while a write transaction holds this file's writes.</summary>
    public bool InTransaction => _transaction is not null;

    /// <summary>True while reads come from a journal over the file (a transaction, or a committed journal's view).</summary>
    public bool Overlaid => _overlay is not null;

    internal FileOverlay? Overlay => _overlay;

    internal FileStream Inner => _inner;

    internal void Enlist(WriteTransactionCore transaction)
    {
        ThrowIfUnusable();
        _transaction = transaction;
        _journal = transaction.Journal;
        _overlay = new FileOverlay(FilePath, _inner.Length);
    }

    /// <summary>Ends the transaction: after a commit the file holds everything; after a rollback that wrote anything
    /// the stream is unusable.</summary>
    internal void Leave(bool committed)
    {
        if (!committed && _overlay is { Touched: true })
        {
            _poisoned = true;
        }
        _overlay = null;
        _journal = null;
        _transaction = null;
    }

    public override bool CanRead => !_disposed && _inner.CanRead;

    public override bool CanWrite => !_disposed && _inner.CanWrite;

    public override bool CanSeek => !_disposed && _inner.CanSeek;

    public override long Length
    {
        get
        {
            ThrowIfUnusable();
            return _overlay?.Length ?? _inner.Length;
        }
    }

    public override long Position
    {
        get => _position;
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value));
            }
            _position = value;
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        Position = target;
        return target;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadCore(buffer.AsSpan(offset, count));

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return ReadCore(one) == 1 ? one[0] : -1;
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteCore(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => WriteCore(new[] { value });

#if NET
    public override int Read(Span<byte> buffer) => ReadCore(buffer);

    public override void Write(ReadOnlySpan<byte> buffer) => WriteCore(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(ReadCore(buffer.Span));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        WriteCore(buffer.Span);
        return default;
    }
#endif

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(ReadCore(buffer.AsSpan(offset, count)));

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        WriteCore(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    private int ReadCore(Span<byte> buffer)
    {
        ThrowIfUnusable();
        int n = _overlay is { } overlay
            ? overlay.Read(_position, buffer, _inner, _journal!)
            : _inner.ReadAtMost(_position, buffer);
        _position += n;
        return n;
    }

    private void WriteCore(ReadOnlySpan<byte> data)
    {
        ThrowIfUnusable();
        ThrowIfView();
        if (_overlay is { } overlay)
        {
            long at = _transaction!.Journal.Append(data);
            overlay.Write(_position, at, data.Length);
        }
        else
        {
            _inner.WriteAt(_position, data);
        }
        _position += data.Length;
    }

    public override void SetLength(long value)
    {
        ThrowIfUnusable();
        ThrowIfView();
        if (_overlay is { } overlay)
        {
            overlay.SetLength(value);
        }
        else
        {
            _inner.SetLength(value);
        }
    }

    /// <summary>
    /// True while the file is a new image being written under a name nothing uses yet (the converter's OUT.partial):
    /// a crash there leaves a file that is removed, never opened, and the final flush before the rename makes
    /// everything durable, so the flushes a format makes between writes only to order them for crash safety
    /// (<see cref="FlushForOrdering"/>) are skipped.
    /// </summary>
    public bool Unpublished { get; set; }

    /// <summary>
    /// A flush whose only purpose is crash-safe ordering (data durable before the metadata that points at it):
    /// flushed to the disk, except in an <see cref="Unpublished"/> file. A flush that ends an operation (the image's
    /// own Flush) is always a real one.
    /// </summary>
    public static void FlushForOrdering(Stream file)
    {
        if (file is JournaledFileStream { Unpublished: true })
        {
            return;
        }
        if (file is FileStream fs)
        {
            fs.Flush(flushToDisk: true);
        }
        else
        {
            file.Flush();
        }
    }

    /// <summary>Starts writing the file's dirty pages to the disk without waiting (<see cref="HostWriteBack"/>); inside a
    /// transaction nothing has reached the file yet, so there is nothing to start.</summary>
    public void StartWriteBack()
    {
        if (!_disposed && !_poisoned && _overlay is null)
        {
            HostWriteBack.Start(_inner);
        }
    }

    public override void Flush()
    {
        ThrowIfUnusable();
        if (_overlay is null)
        {
            _inner.Flush();
        }
    }

    public override void Flush(bool flushToDisk)
    {
        ThrowIfUnusable();
        if (_overlay is null)
        {
            _inner.Flush(flushToDisk);
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Flush();
        return Task.CompletedTask;
    }

    // A read-only view over a committed journal: the inner file is read-only too, but say why.
    private void ThrowIfView()
    {
        if (_ownsJournal)
        {
            throw new NotSupportedException($"{FilePath} is open read-only, with its unfinished committed write applied in memory.");
        }
    }

    private void ThrowIfUnusable()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(FilePath);
        }
        if (_poisoned)
        {
            throw new InvalidOperationException($"A write transaction on {FilePath} was rolled back: the image file is as it was, but this open image no longer matches it. Open the image again.");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            // Closing a file inside a transaction ends it unfinished: nothing reaches the image.
            _transaction?.Abort();
            _disposed = true;
            ImageFile.Unregister(this);
            _inner.Dispose();
            if (_ownsJournal)
            {
                _journal?.Dispose();
            }
        }
        try
        {
            base.Dispose(disposing);
        }
        catch (ObjectDisposedException)
        {
            // The handle was the inner stream's, closed above.
        }
    }
}
