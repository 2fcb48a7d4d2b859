using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Tests;

/// <summary>
/// The fault-injecting layer of the crash-consistency tests (docs/reliability.md, "Crash consistency"). Files opened
/// through <see cref="Open"/> are <see cref="RecordingFileStream"/>s: every write, length change, flush to disk, file
/// creation, (through <see cref="Delete"/>) deletion and (through <see cref="FlushFolder"/>) folder flush is recorded in order, with the bytes it replaced. After the operation has run once, <see cref="Replay"/> puts every
/// touched file back as it was and then re-applies the recorded events one at a time, stopping at every crash point:
///  - after each number of complete writes (a crash after the 0th, 1st, …, Nth write; later writes lost), and
///  - inside each write: only up to its first sector boundary, its first 4 KiB page boundary or its last sector boundary
///    (a torn write), whenever that is a strict prefix of the write.
/// A process that stops keeps exactly the writes it issued, so replaying a prefix of the recorded writes is that crash;
/// the operation is deterministic and runs once, so every crash point of a path costs one replay step, not one run.
/// </summary>
public sealed class WriteJournal
{
    private readonly List<JournalEvent> _events = new();

    /// <summary>Every recorded event, in order.</summary>
    public IReadOnlyList<JournalEvent> Events => _events;

    /// <summary>The number of writes recorded (the complete-write crash points are 0 … this number).</summary>
    public int WriteCount { get; private set; }

    /// <summary>Opens a file as the storage layer would, recording every write made through it.</summary>
    public FileStream Open(string path, FileMode mode, FileAccess access, FileShare share)
    {
        bool existed = File.Exists(path);
        var stream = new RecordingFileStream(this, path, mode, access, share);
        if (!existed)
        {
            _events.Add(new JournalEvent(JournalEventKind.Create, path, 0, Array.Empty<byte>(), Array.Empty<byte>(), 0));
        }
        return stream;
    }

    /// <summary>Deletes a file as the storage layer would (its write journal, once done with), recording the deletion
    /// with the bytes the file held, so that a replay can put it back.</summary>
    public void Delete(string path)
    {
        byte[] content = File.Exists(path) ? File.ReadAllBytes(path) : Array.Empty<byte>();
        _events.Add(new JournalEvent(JournalEventKind.Delete, path, 0, Array.Empty<byte>(), content, content.Length));
        File.Delete(path);
    }

    /// <summary>Records that the storage layer made the entries of <paramref name="path"/>'s folder durable (its
    /// <c>ImageFile.FolderFlusher</c> seam). A process crash is not affected by it; the write-order tests read it.</summary>
    public void FlushFolder(string path) =>
        _events.Add(new JournalEvent(JournalEventKind.FolderFlush, path, 0, Array.Empty<byte>(), Array.Empty<byte>(), 0));

    internal void Add(JournalEvent e)
    {
        _events.Add(e);
        if (e.Kind == JournalEventKind.Write)
        {
            WriteCount++;
        }
    }

    /// <summary>
    /// Undoes every recorded event (the files are as before the operation), then re-applies them one at a time and calls
    /// <paramref name="check"/> at every crash point, the last being the complete operation. Returns the number of crash
    /// points checked. The files are left in the state of the complete operation.
    /// </summary>
    public int Replay(Action<CrashPoint> check, bool torn = true)
    {
        for (int i = _events.Count - 1; i >= 0; i--)
        {
            Undo(_events[i]);
        }
        int points = 0;
        int writes = 0;
        for (int i = 0; i < _events.Count; i++)
        {
            JournalEvent e = _events[i];
            if (e.Kind == JournalEventKind.Write)
            {
                check(new CrashPoint(writes, 0, e));
                points++;
                if (torn)
                {
                    foreach (int part in TornLengths(e))
                    {
                        ApplyWrite(e, part);
                        check(new CrashPoint(writes, part, e));
                        points++;
                    }
                }
                writes++;
            }
            Apply(e);
        }
        check(new CrashPoint(writes, 0, null));
        return points + 1;
    }

    /// <summary>
    /// The torn lengths of a write: the strict prefixes ending at its first and at its last 512-byte sector boundary
    /// and at its first 4 KiB page boundary (in file offsets). Devices write a sector atomically (and a process that
    /// stops cannot tear a single write at all), so a write is torn between sectors, never inside one.
    /// </summary>
    public static IEnumerable<int> TornLengths(JournalEvent e)
    {
        var parts = new SortedSet<int>();
        int length = e.Bytes.Length;
        long end = e.Offset + length;
        foreach (long boundary in new[] { ((e.Offset / 512) + 1) * 512, ((e.Offset / 4096) + 1) * 4096, ((end - 1) / 512) * 512 })
        {
            long part = boundary - e.Offset;
            if (part > 0 && part < length)
            {
                parts.Add((int)part);
            }
        }
        return parts;
    }

    private static void Apply(JournalEvent e)
    {
        switch (e.Kind)
        {
            case JournalEventKind.Create:
                using (new FileStream(e.Path, FileMode.Create, FileAccess.Write))
                {
                }
                break;
            case JournalEventKind.Write:
                ApplyWrite(e, e.Bytes.Length);
                break;
            case JournalEventKind.SetLength:
                using (var fs = new FileStream(e.Path, FileMode.Open, FileAccess.Write))
                {
                    fs.SetLength(e.Offset);
                }
                break;
            case JournalEventKind.Delete:
                File.Delete(e.Path);
                break;
        }
    }

    private static void ApplyWrite(JournalEvent e, int length)
    {
        using var fs = new FileStream(e.Path, FileMode.Open, FileAccess.Write);
        fs.Position = e.Offset;
        fs.Write(e.Bytes, 0, length);
    }

    private static void Undo(JournalEvent e)
    {
        switch (e.Kind)
        {
            case JournalEventKind.Create:
                File.Delete(e.Path);
                break;
            case JournalEventKind.Delete:
                File.WriteAllBytes(e.Path, e.Replaced);
                break;
            case JournalEventKind.Write:
            case JournalEventKind.SetLength:
                using (var fs = new FileStream(e.Path, FileMode.Open, FileAccess.Write))
                {
                    long writeStart = e.Kind == JournalEventKind.Write ? e.Offset : e.LengthBefore;
                    if (e.Kind == JournalEventKind.SetLength && e.Offset < e.LengthBefore)
                    {
                        fs.SetLength(e.LengthBefore);
                        writeStart = e.Offset;
                    }
                    fs.Position = writeStart;
                    fs.Write(e.Replaced, 0, e.Replaced.Length);
                    fs.SetLength(e.LengthBefore);
                }
                break;
        }
    }
}

/// <summary>What a <see cref="WriteJournal"/> records.</summary>
public enum JournalEventKind
{
    /// <summary>A file was created (it did not exist before the operation opened it).</summary>
    Create,

    /// <summary>Bytes were written at an offset.</summary>
    Write,

    /// <summary>The file's length was set (to <see cref="JournalEvent.Offset"/>).</summary>
    SetLength,

    /// <summary>The file was deleted (its bytes before in <see cref="JournalEvent.Replaced"/>).</summary>
    Delete,

    /// <summary>The file's data was made durable (a flush to disk, fsync); no change to replay.</summary>
    Sync,

    /// <summary>The entries of the folder holding <see cref="JournalEvent.Path"/> were made durable (a folder fsync); no
    /// change to replay.</summary>
    FolderFlush,
}

/// <summary>One recorded event: for a write, its offset and bytes, the bytes it replaced and the file's length before;
/// for a length change, the new length in <see cref="Offset"/>, the bytes cut off and the length before.</summary>
public sealed record JournalEvent(JournalEventKind Kind, string Path, long Offset, byte[] Bytes, byte[] Replaced, long LengthBefore);

/// <summary>A crash point: <see cref="CompleteWrites"/> writes done, then <see cref="TornBytes"/> bytes of the next
/// (<see cref="Torn"/>; 0 when the crash fell between writes). <see cref="Torn"/> is null after the last write.</summary>
public readonly record struct CrashPoint(int CompleteWrites, int TornBytes, JournalEvent? Torn)
{
    /// <summary>True for the point after every write: the complete new state.</summary>
    public bool IsComplete => Torn is null;

    /// <inheritdoc/>
    public override string ToString() => Torn is null
        ? $"after all {CompleteWrites} writes"
        : TornBytes == 0
            ? $"after {CompleteWrites} writes (next: {Torn.Bytes.Length} bytes at {Torn.Offset} of {System.IO.Path.GetFileName(Torn.Path)})"
            : $"after {CompleteWrites} writes and {TornBytes} of the {Torn.Bytes.Length} bytes at {Torn.Offset} of {System.IO.Path.GetFileName(Torn.Path)} (torn)";
}

/// <summary>A file stream that records in a <see cref="WriteJournal"/> every write and length change made through it,
/// with the bytes each replaced. Unbuffered, like the storage layer's own streams.</summary>
public sealed class RecordingFileStream : FileStream
{
    private readonly WriteJournal _journal;
    private readonly string _path;

    public RecordingFileStream(WriteJournal journal, string path, FileMode mode, FileAccess access, FileShare share)
        : base(path, mode, access, share, 1, FileOptions.RandomAccess)
    {
        _journal = journal;
        _path = path;
    }

    // A derived FileStream routes its span overloads through Write(byte[], int, int), so the recording lives there
    // and the others forward to it.
    public override void Write(byte[] buffer, int offset, int count)
    {
        long position = Position;
        long lengthBefore = Length;
        byte[] replaced = ReadOld(position, (int)Math.Max(0, Math.Min(count, lengthBefore - position)));
        _journal.Add(new JournalEvent(JournalEventKind.Write, _path, position, buffer.AsSpan(offset, count).ToArray(), replaced, lengthBefore));
        base.Write(buffer, offset, count);
    }

    public override void WriteByte(byte value) => Write(new[] { value }, 0, 1);

    public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);

    public override System.Threading.Tasks.Task WriteAsync(byte[] buffer, int offset, int count, System.Threading.CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return System.Threading.Tasks.Task.CompletedTask;
    }

    public override System.Threading.Tasks.ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, System.Threading.CancellationToken cancellationToken = default)
    {
        Write(buffer.ToArray(), 0, buffer.Length);
        return default;
    }

    public override void Flush(bool flushToDisk)
    {
        base.Flush(flushToDisk);
        if (flushToDisk)
        {
            _journal.Add(new JournalEvent(JournalEventKind.Sync, _path, 0, Array.Empty<byte>(), Array.Empty<byte>(), Length));
        }
    }

    public override void SetLength(long value)
    {
        long lengthBefore = Length;
        byte[] cut = value < lengthBefore ? ReadOld(value, (int)(lengthBefore - value)) : Array.Empty<byte>();
        _journal.Add(new JournalEvent(JournalEventKind.SetLength, _path, value, Array.Empty<byte>(), cut, lengthBefore));
        base.SetLength(value);
    }

    private byte[] ReadOld(long position, int count)
    {
        var old = new byte[count];
        long keep = Position;
        Position = position;
        int done = 0;
        while (done < count)
        {
            int n = base.Read(old, done, count - done);
            if (n <= 0)
            {
                break;
            }
            done += n;
        }
        Position = keep;
        return old;
    }
}
