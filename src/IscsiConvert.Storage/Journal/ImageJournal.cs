using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Shared;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage.Journal;

/// <summary>
/// The redo journal of a write transaction, a file beside the image (<c>IMAGE.iscsiconvert-journal</c>,
/// docs/formats/journal.md). While the transaction runs, every write to the image's files is appended here instead
/// (buffered up to 1 MiB, so that a large file copy costs few writes and no memory beyond that); at the commit the
/// commit record and its trailer (with a CRC-32C over the whole journal) are appended and the journal is made durable
/// — the commit point — then every range is copied into the files, the files are made durable, and the journal is cut
/// to nothing and deleted. A journal found beside an image is finished (complete record) or discarded (anything else)
/// by <see cref="RecoverBeside"/> before the image is opened.
/// </summary>
internal sealed class ImageJournal : IDisposable
{
    public const string Suffix = ".iscsiconvert-journal";
    private const int BufferLimit = 1 << 20;
    private const int CopyChunk = 1 << 20;

    private readonly FileStream _file;
    private readonly byte[] _pending = new byte[BufferLimit];
    private int _pendingLength;
    private long _written;
    private uint _crc = 0xFFFFFFFFu;
    private bool _disposed;

    private ImageJournal(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    public string Path { get; }

    /// <summary>Bytes appended so far (written or pending).</summary>
    public long Length => _written + _pendingLength;

    public static string PathFor(string primaryPath) => primaryPath + Suffix;

    /// <summary>Creates the journal beside <paramref name="primaryPath"/>; one left there must have been dealt with
    /// by <see cref="RecoverBeside"/> at open, so finding one now means another writer.</summary>
    public static ImageJournal Create(string primaryPath)
    {
        string path = PathFor(primaryPath);
        FileStream file;
        try
        {
            file = ImageFile.OpenPlain(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new UnsafeToWriteException($"A write journal already lies beside the image ({path}): another writer is at work, or an earlier write was not finished; open the image again to finish it", primaryPath, ex);
        }
        var journal = new ImageJournal(path, file);
        Span<byte> header = stackalloc byte[JournalRecord.HeaderSize];
        JournalRecord.HeaderMagic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(8), JournalRecord.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(12), JournalRecord.PieceSize);
        journal.Append(header);
        return journal;
    }

    /// <summary>Appends <paramref name="data"/>; returns where it starts in the journal.</summary>
    public long Append(ReadOnlySpan<byte> data)
    {
        long at = Length;
        _crc = Crc32C.Append(_crc, data);
        if (_pendingLength + data.Length > BufferLimit)
        {
            FlushPending();
        }
        if (data.Length > BufferLimit)
        {
            _file.WriteAt(_written, data);
            _written += data.Length;
        }
        else
        {
            data.CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += data.Length;
        }
        return at;
    }

    /// <summary>Reads journal bytes back (from the file, or from what is still buffered).</summary>
    public void ReadAt(long position, Span<byte> buffer)
    {
        if (position < _written)
        {
            int fromFile = (int)Math.Min(buffer.Length, _written - position);
            if (_file.ReadAtMost(position, buffer.Slice(0, fromFile)) != fromFile)
            {
                throw new IOException($"The write journal {Path} ended early at {position + fromFile}.");
            }
            buffer = buffer.Slice(fromFile);
            position += fromFile;
        }
        if (buffer.Length > 0)
        {
            _pending.AsSpan((int)(position - _written), buffer.Length).CopyTo(buffer);
        }
    }

    private void FlushPending()
    {
        if (_pendingLength > 0)
        {
            _file.WriteAt(_written, _pending.AsSpan(0, _pendingLength));
            _written += _pendingLength;
            _pendingLength = 0;
        }
    }

    /// <summary>
    /// Commits: appends the record of <paramref name="files"/>' overlays and the trailer, makes the journal durable
    /// (the commit point), copies every range into the files and makes them durable, then removes the journal.
    /// </summary>
    public void Commit(IReadOnlyList<(string RelativeName, FileOverlay Overlay, Stream File)> files, ILogger logger)
    {
        var zeros = new byte[64 * 1024];
        foreach ((_, FileOverlay overlay, _) in files)
        {
            // A file cut and grown again within the transaction holds zeros where it was cut: write them.
            foreach ((long start, long length) in overlay.ZeroGaps().ToList())
            {
                for (long done = 0; done < length; done += zeros.Length)
                {
                    int n = (int)Math.Min(zeros.Length, length - done);
                    overlay.Write(start + done, Append(zeros.AsSpan(0, n)), n);
                }
            }
        }
        var recordFiles = new List<JournalFile>();
        var ranges = new List<JournalRange>();
        for (int i = 0; i < files.Count; i++)
        {
            (string name, FileOverlay overlay, Stream file) = files[i];
            recordFiles.Add(new JournalFile(name, overlay.OriginalLength, overlay.Length));
            foreach (FileOverlay.Segment s in overlay.Segments)
            {
                int pieces = JournalRecord.PieceCount(s.Start, s.Length);
                var olds = new uint[pieces];
                var news = new uint[pieces];
                PieceCrcs(s.Start, s.Length, (pos, buf) => ReadFileOrZeros(file, overlay.OriginalLength, pos, buf), olds);
                PieceCrcs(s.Start, s.Length, (pos, buf) => ReadAt(s.JournalPosition + (pos - s.Start), buf), news);
                ranges.Add(new JournalRange(i, s.Start, s.Length, s.JournalPosition, olds, news));
            }
        }
        var record = new JournalRecord(recordFiles, ranges);
        long recordStart = Length;
        Append(record.Encode());
        Span<byte> trailer = stackalloc byte[JournalRecord.TrailerSize];
        BinaryPrimitives.WriteInt64LittleEndian(trailer, recordStart);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.Slice(8), ~_crc);
        BinaryPrimitives.WriteInt64LittleEndian(trailer.Slice(16), Length + JournalRecord.TrailerSize);
        JournalRecord.TrailerMagic.CopyTo(trailer.Slice(24));
        Append(trailer);
        FlushPending();
        _file.Flush(flushToDisk: true);
        // The journal's name must be durable too before the image is touched: on Linux a new file's fsync does not
        // make its folder entry durable, and a power loss during the replay could otherwise lose the journal and leave
        // a half-copied image with nothing to finish it.
        ImageFile.FlushFolderOf(Path);
        // The commit point: from here the journal holds the complete transaction, and any open finishes it.
        Replay(record, i => files[i].File);
        logger.LogDebug("Committed {Ranges} range(s), {Bytes} bytes, through {Journal}", ranges.Count, record.DataBytes, Path);
        Remove();
    }

    /// <summary>Copies every range into its file in file order, sets the final lengths and makes the files durable.
    /// Idempotent: a replay cut short is simply done again.</summary>
    private void Replay(JournalRecord record, Func<int, Stream> file)
    {
        byte[] buffer = new byte[CopyChunk];
        foreach (JournalRange r in record.Ranges)
        {
            Stream target = file(r.FileIndex);
            for (long done = 0; done < r.Length; done += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, r.Length - done);
                ReadAt(r.JournalPosition + done, buffer.AsSpan(0, n));
                target.WriteAt(r.Offset + done, buffer.AsSpan(0, n));
            }
        }
        for (int i = 0; i < record.Files.Count; i++)
        {
            Stream target = file(i);
            if (target.Length != record.Files[i].FinalLength)
            {
                target.SetLength(record.Files[i].FinalLength);
            }
            if (target is FileStream fs)
            {
                fs.Flush(flushToDisk: true);
            }
        }
    }

    /// <summary>Cuts the journal to nothing and makes that durable, deletes it, and makes the deletion durable. Should
    /// the deletion still be lost (a power loss before the folder is flushed), the journal comes back empty: an
    /// incomplete journal, which the next writable open deletes and a read-only open ignores — never replayed again.</summary>
    private void Remove()
    {
        _file.SetLength(0);
        _file.Flush(flushToDisk: true);
        Dispose();
        ImageFile.DeleteFile(Path);
        ImageFile.FlushFolderOf(Path);
    }

    /// <summary>Ends a transaction that is not committed: the journal is deleted; the image was never touched.</summary>
    public void Discard()
    {
        Dispose();
        ImageFile.DeleteFile(Path);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _file.Dispose();
        }
    }

    private delegate void PieceReader(long position, Span<byte> buffer);

    // One CRC-32C per piece of [offset, offset + length), reading up to 1 MiB at a time (cut at piece boundaries).
    private static void PieceCrcs(long offset, long length, PieceReader read, uint[] crcs)
    {
        byte[] buffer = new byte[Math.Min(CopyChunk, length)];
        int piece = 0;
        long cur = offset;
        long end = offset + length;
        while (cur < end)
        {
            long chunkEnd = Math.Min(end, (cur + CopyChunk) / JournalRecord.PieceSize * JournalRecord.PieceSize);
            int n = (int)(chunkEnd - cur);
            read(cur, buffer.AsSpan(0, n));
            for (int at = 0; at < n; piece++)
            {
                int len = JournalRecord.Piece(offset, length, piece).Length;
                crcs[piece] = Crc32C.Compute(buffer.AsSpan(at, len));
                at += len;
            }
            cur = chunkEnd;
        }
    }

    private static void ReadFileOrZeros(Stream file, long fileLength, long position, Span<byte> buffer)
    {
        int fromFile = (int)Math.Max(0, Math.Min(buffer.Length, fileLength - position));
        int n = fromFile > 0 ? file.ReadAtMost(position, buffer.Slice(0, fromFile)) : 0;
        buffer.Slice(n).Clear();
    }

    /// <summary>
    /// Deals with a journal left beside <paramref name="primaryPath"/> by a write that stopped, for a writable open: none →
    /// nothing; an incomplete one (the write stopped before its commit point, so the image was never touched) → deleted;
    /// a complete one → finished (checked against the image, replayed, made durable, deleted, logged). A read-only open
    /// uses <see cref="ReadBeside"/> instead, which writes nothing.
    /// </summary>
    /// <exception cref="CorruptDataException">The journal does not fit the image (a piece reads as neither its old nor its new bytes): nothing is written.</exception>
    public static JournalRecovery RecoverBeside(string primaryPath, ILogger logger)
    {
        string path = PathFor(primaryPath);
        if (!File.Exists(path))
        {
            return JournalRecovery.None;
        }
        // Hold the image exclusively first: the journal may belong to a writer that is still at work.
        using FileStream primary = ImageFile.OpenPlain(primaryPath, FileAccess.ReadWrite);
        FileStream journalFile = ImageFile.OpenPlain(path, FileAccess.ReadWrite);
        var journal = new ImageJournal(path, journalFile);
        try
        {
            JournalRecord? record = ReadRecord(journalFile, path);
            if (record is null)
            {
                logger.LogInformation("Deleted the incomplete write journal {Journal}: the write stopped before its commit point, so the image is as it was", path);
                journal.Discard();
                return JournalRecovery.Discarded;
            }
            journal._written = journalFile.Length;
            string folder = System.IO.Path.GetDirectoryName(primaryPath) ?? ".";
            var files = new List<FileStream>();
            try
            {
                foreach (JournalFile f in record.Files)
                {
                    string full = ResolveName(folder, f.RelativeName, path);
                    files.Add(string.Equals(full, primaryPath, StringComparison.Ordinal) ? primary : ImageFile.OpenPlain(full, FileAccess.ReadWrite));
                }
                Check(record, files, path);
                journal.Replay(record, i => files[i]);
            }
            finally
            {
                foreach (FileStream f in files.Where(f => !ReferenceEquals(f, primary)))
                {
                    f.Dispose();
                }
            }
            logger.LogInformation("Finished the interrupted write of {ImagePath} from its journal {Journal}: {Ranges} range(s), {Bytes} bytes", primaryPath, path, record.Ranges.Count, record.DataBytes);
            journal.Remove();
            return JournalRecovery.Finished;
        }
        finally
        {
            journal.Dispose();
        }
    }

    /// <summary>
    /// Deals with a journal left beside <paramref name="primaryPath"/> for a read-only open, writing nothing: none or an
    /// incomplete one (the image was never touched) → null, the image is read as it is; a complete one → checked against
    /// the image and returned, so that the open reads the image as the finished write leaves it
    /// (<see cref="CommittedJournal"/>: the write applied in memory, the file unchanged), as a read-only open of a VHDX
    /// applies its log.
    /// </summary>
    /// <exception cref="CorruptDataException">The journal does not fit the image (stale: restored from a backup, or the
    /// image changed by another tool since): reading either state would be a guess.</exception>
    public static CommittedJournal? ReadBeside(string primaryPath, ILogger logger)
    {
        string path = PathFor(primaryPath);
        if (!File.Exists(path))
        {
            return null;
        }
        JournalRecord? record;
        using (FileStream journal = ImageFile.OpenPlain(path, FileAccess.Read))
        {
            record = ReadRecord(journal, path);
        }
        if (record is null)
        {
            logger.LogDebug("Ignoring the incomplete write journal {Journal}: the write it belonged to stopped before its commit point, so the image is as it was", path);
            return null;
        }
        string folder = System.IO.Path.GetDirectoryName(primaryPath) ?? ".";
        var names = record.Files.Select(f => ResolveName(folder, f.RelativeName, path)).ToList();
        var files = new List<FileStream>();
        try
        {
            foreach (string name in names)
            {
                files.Add(ImageFile.OpenPlain(name, FileAccess.Read));
            }
            Check(record, files, path);
        }
        finally
        {
            foreach (FileStream f in files)
            {
                f.Dispose();
            }
        }
        logger.LogWarning("{ImagePath}: its last write was committed but not finished; reading it with that write applied in memory from {Journal} (the file is unchanged; a writable open, such as 'iscsi-convert disk recover', finishes it)", primaryPath, path);
        return new CommittedJournal(path, record, names);
    }

    /// <summary>Opens a journal already known to be complete, read-only, to read its data (<see cref="CommittedJournal"/>).</summary>
    internal static ImageJournal OpenForReading(string path)
    {
        FileStream file = ImageFile.OpenPlain(path, FileAccess.Read);
        return new ImageJournal(path, file) { _written = file.Length };
    }

    private static string ResolveName(string folder, string relative, string journalPath)
    {
        if (relative.Length == 0 || System.IO.Path.IsPathRooted(relative) || relative.Split('/', '\\').Any(p => p is ".." or "." or "") || relative.IndexOf('\0') >= 0)
        {
            throw new CorruptDataException("IscsiConvert journal", "file name", -1, $"'{relative}' does not name a file beside the journal", journalPath);
        }
        return System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, relative));
    }

    // Every piece must read as its old or its new bytes; otherwise the journal is not this image's (the image was
    // restored from elsewhere, or edited by another tool after the crash), and replaying it would corrupt the image.
    private static void Check(JournalRecord record, IReadOnlyList<FileStream> files, string journalPath)
    {
        var crcs = new uint[0];
        foreach (JournalRange r in record.Ranges)
        {
            FileStream file = files[r.FileIndex];
            if (crcs.Length < r.OldCrcs.Length)
            {
                crcs = new uint[r.OldCrcs.Length];
            }
            long length = file.Length;
            PieceCrcs(r.Offset, r.Length, (pos, buf) => ReadFileOrZeros(file, length, pos, buf), crcs);
            for (int p = 0; p < r.OldCrcs.Length; p++)
            {
                if (crcs[p] != r.OldCrcs[p] && crcs[p] != r.NewCrcs[p])
                {
                    (long at, _) = JournalRecord.Piece(r.Offset, r.Length, p);
                    throw new CorruptDataException("IscsiConvert journal", $"range at 0x{r.Offset:X} of {record.Files[r.FileIndex].RelativeName}", at,
                        "the image holds neither the bytes from before the journaled write nor those it wrote: the journal does not belong to this image (restored from a backup, or changed by another tool since). Nothing was written; move the journal away to open the image as it is",
                        journalPath);
                }
            }
        }
    }

    /// <summary>The commit record, or null when the journal has none that checks out (a write stopped before its commit point).</summary>
    private static JournalRecord? ReadRecord(FileStream file, string path)
    {
        long length = file.Length;
        if (length < JournalRecord.HeaderSize + JournalRecord.TrailerSize)
        {
            return null;
        }
        Span<byte> header = stackalloc byte[JournalRecord.HeaderSize];
        Span<byte> trailer = stackalloc byte[JournalRecord.TrailerSize];
        if (file.ReadAtMost(0, header) != header.Length || !header.Slice(0, 8).SequenceEqual(JournalRecord.HeaderMagic)
            || file.ReadAtMost(length - JournalRecord.TrailerSize, trailer) != trailer.Length || !trailer.Slice(24).SequenceEqual(JournalRecord.TrailerMagic))
        {
            return null;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(8)) != JournalRecord.Version)
        {
            throw new UnsupportedFormatException($"The write journal {path} has version {BinaryPrimitives.ReadUInt32LittleEndian(header.Slice(8))}, which this version of IscsiConvert does not know", path);
        }
        long recordStart = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer.Slice(8));
        long total = BinaryPrimitives.ReadInt64LittleEndian(trailer.Slice(16));
        long trailerStart = length - JournalRecord.TrailerSize;
        if (total != length || recordStart < JournalRecord.HeaderSize || recordStart >= trailerStart || trailerStart - recordStart > int.MaxValue)
        {
            return null;
        }
        uint running = 0xFFFFFFFFu;
        byte[] buffer = new byte[CopyChunk];
        for (long at = 0; at < trailerStart; at += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, trailerStart - at);
            if (file.ReadAtMost(at, buffer.AsSpan(0, n)) != n)
            {
                return null;
            }
            running = Crc32C.Append(running, buffer.AsSpan(0, n));
        }
        if (~running != crc)
        {
            return null;
        }
        byte[] recordBytes = new byte[trailerStart - recordStart];
        file.ReadAtMost(recordStart, recordBytes);
        return JournalRecord.Decode(recordBytes, recordStart);
    }
}
