using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Shared;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Every change to the volume, held in memory until <see cref="Commit"/>: whole clusters keyed by cluster number. Reads
/// of the volume see these pages over the bytes on disk, so the reader code works unchanged on a volume being edited,
/// and nothing reaches the stream before the whole change set is known to be complete. A failed or abandoned edit
/// leaves the volume exactly as it was.
/// </summary>
internal sealed class PendingWrites
{
    private readonly Stream _stream;
    private readonly long _clusterSize;
    private readonly SortedDictionary<long, byte[]> _pages = new();

    // While a savepoint is open: each page's content before its first change since the savepoint (null: no page).
    private Dictionary<long, byte[]?>? _undo;

    public PendingWrites(Stream stream, long clusterSize)
    {
        _stream = stream;
        _clusterSize = clusterSize;
    }

    public int PageCount => _pages.Count;

    public long PendingBytes => _pages.Count * _clusterSize;

    public bool IsEmpty => _pages.Count == 0;

    /// <summary>Overlays pending bytes on <paramref name="buffer"/>, which holds the volume's bytes at <paramref name="position"/>.</summary>
    public void Patch(long position, Span<byte> buffer)
    {
        if (_pages.Count == 0 || buffer.Length == 0)
        {
            return;
        }
        long first = position / _clusterSize;
        long last = (position + buffer.Length - 1) / _clusterSize;
        for (long c = first; c <= last; c++)
        {
            if (!_pages.TryGetValue(c, out byte[]? page))
            {
                continue;
            }
            long pageStart = c * _clusterSize;
            long from = Math.Max(position, pageStart);
            long to = Math.Min(position + buffer.Length, pageStart + _clusterSize);
            page.AsSpan((int)(from - pageStart), (int)(to - from)).CopyTo(buffer.Slice((int)(from - position)));
        }
    }

    /// <summary>
    /// Fills <paramref name="buffer"/> with the bytes at <paramref name="position"/> when pending pages cover all of it
    /// (a record or index node written earlier in the same change set), so the caller need not read the stream; false
    /// (and the buffer untouched) otherwise.
    /// </summary>
    public bool TryRead(long position, Span<byte> buffer)
    {
        if (_pages.Count == 0 || buffer.Length == 0)
        {
            return false;
        }
        long first = position / _clusterSize;
        long last = (position + buffer.Length - 1) / _clusterSize;
        for (long c = first; c <= last; c++)
        {
            if (!_pages.ContainsKey(c))
            {
                return false;
            }
        }
        Patch(position, buffer);
        return true;
    }

    /// <summary>Records <paramref name="data"/> as the new content at <paramref name="position"/>.</summary>
    public void Write(long position, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            long cluster = position / _clusterSize;
            int inPage = (int)(position - (cluster * _clusterSize));
            int count = (int)Math.Min(data.Length, _clusterSize - inPage);
            if (_undo is not null && !_undo.ContainsKey(cluster))
            {
                _undo[cluster] = _pages.TryGetValue(cluster, out byte[]? before) ? (byte[])before.Clone() : null;
            }
            if (!_pages.TryGetValue(cluster, out byte[]? page))
            {
                page = new byte[_clusterSize];
                if (inPage != 0 || count != _clusterSize)
                {
                    _stream.ReadAtMost(cluster * _clusterSize, page);
                }
                _pages[cluster] = page;
            }
            data.Slice(0, count).CopyTo(page.AsSpan(inPage));
            data = data.Slice(count);
            position += count;
        }
    }

    /// <summary>
    /// Writes every pending page to the stream, then flushes. Pages of clusters that the volume on disk does not use
    /// (<paramref name="unusedOnDisk"/>: new file data, new index blocks, a grown $MFT) go first, in volume order, and
    /// are flushed: nothing on disk refers to them yet, so a crash among them leaves the old volume exactly as it was.
    /// Then <paramref name="first"/> is written (and flushed), the remaining pages in volume order, and
    /// <paramref name="last"/>: the caller uses these to mark the volume dirty before the in-place part of the change
    /// and clean after it, so that an interrupted commit is caught by chkdsk.
    /// </summary>
    /// <remarks>
    /// Pages that hold exactly the bytes already on the stream (an edit that put back what was there, a bitmap
    /// allocated and freed again) are dropped first; when nothing is left, nothing at all is written — not even the
    /// first/last pair — so a no-op leaves the volume, and the container under it, byte for byte as it was.
    /// </remarks>
    public void Commit(Action<Stream>? first, Action<Stream>? last, Func<long, bool>? unusedOnDisk = null)
    {
        DropUnchangedPages();
        if (_pages.Count == 0)
        {
            return;
        }
        List<KeyValuePair<long, byte[]>> pages = _pages.ToList();
        var inPlace = new List<KeyValuePair<long, byte[]>>(pages.Count);
        bool wroteUnused = false;
        foreach (KeyValuePair<long, byte[]> page in pages)
        {
            if (unusedOnDisk is not null && unusedOnDisk(page.Key))
            {
                WritePage(page);
                wroteUnused = true;
            }
            else
            {
                inPlace.Add(page);
            }
        }
        if (wroteUnused)
        {
            _stream.Flush();
        }
        first?.Invoke(_stream);
        _stream.Flush();
        foreach (KeyValuePair<long, byte[]> page in inPlace)
        {
            WritePage(page);
        }
        _stream.Flush();
        last?.Invoke(_stream);
        _stream.Flush();
        _pages.Clear();
    }

    private void WritePage(KeyValuePair<long, byte[]> page)
    {
        long position = page.Key * _clusterSize;
        int length = (int)Math.Min(_clusterSize, _stream.Length - position);
        _stream.WriteAt(position, page.Value.AsSpan(0, length));
    }

    // Above this much staged data the comparison is skipped: a change set that large (a big file copied in) is never
    // a no-op, and reading it all back would double the commit's I/O.
    private const long MaxComparedBytes = 64L << 20;

    private void DropUnchangedPages()
    {
        if (_pages.Count == 0 || _undo is not null || PendingBytes > MaxComparedBytes)
        {
            return; // inside a savepoint the undo log refers to these pages; they are compared at the next commit
        }
        byte[] onDisk = new byte[_clusterSize];
        var unchanged = new List<long>();
        foreach (KeyValuePair<long, byte[]> page in _pages)
        {
            long position = page.Key * _clusterSize;
            int length = (int)Math.Max(0, Math.Min(_clusterSize, _stream.Length - position));
            int n = _stream.ReadAtMost(position, onDisk.AsSpan(0, length));
            if (n == length && onDisk.AsSpan(0, length).SequenceEqual(page.Value.AsSpan(0, length)))
            {
                unchanged.Add(page.Key);
            }
        }
        foreach (long cluster in unchanged)
        {
            _pages.Remove(cluster);
        }
    }

    /// <summary>Drops every pending change.</summary>
    public void Discard()
    {
        _pages.Clear();
        _undo = null;
    }

    /// <summary>Starts remembering changes so that <see cref="Rollback"/> can undo them (one level).</summary>
    public void BeginSavepoint() => _undo = new Dictionary<long, byte[]?>();

    /// <summary>Keeps the changes made since the savepoint.</summary>
    public void ReleaseSavepoint() => _undo = null;

    /// <summary>Undoes every change made since the savepoint.</summary>
    public void Rollback()
    {
        if (_undo is null)
        {
            return;
        }
        foreach (KeyValuePair<long, byte[]?> before in _undo)
        {
            if (before.Value is null)
            {
                _pages.Remove(before.Key);
            }
            else
            {
                _pages[before.Key] = before.Value;
            }
        }
        _undo = null;
    }
}
