using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using IscsiConvert.Shared;
using IscsiConvert.Storage.Journal;

namespace IscsiConvert.Storage;

/// <summary>Opens image files with the sharing rules that keep two writers apart.</summary>
internal static class ImageFile
{
    private const int SharingViolation = unchecked((int)0x80070020);
    private const int LockViolation = unchecked((int)0x80070021);

    // On Unix, .NET emulates FileShare with advisory locks and reports a conflict with the raw errno EWOULDBLOCK
    // (11 on Linux, 35 on macOS) as the HResult.
    private const int LinuxWouldBlock = 11;
    private const int MacWouldBlock = 35;

    /// <summary>
    /// The seam of the crash-consistency tests (docs/reliability.md): when set, every image file this layer opens or
    /// creates is opened through it (path, mode, access, share), so a test can hand back a stream that records every
    /// write and replay any prefix of them as a crash. Per async flow, so tests running side by side do not see each
    /// other's opener. Never set by the library itself.
    /// </summary>
    internal static readonly AsyncLocal<Func<string, FileMode, FileAccess, FileShare, FileStream>?> Opener = new();

    /// <summary>
    /// The seam's other half: when set, files this layer deletes (the write journal, docs/formats/journal.md) are
    /// deleted through it, so the crash tests record the deletion too. Per async flow; never set by the library.
    /// </summary>
    internal static readonly AsyncLocal<Action<string>?> Deleter = new();

    /// <summary>
    /// The seam's third half: when set, making a folder's entries durable (<see cref="FlushFolderOf"/>) goes through it,
    /// so the crash tests record where in the write order it happens. Per async flow; never set by the library.
    /// </summary>
    internal static readonly AsyncLocal<Action<string>?> FolderFlusher = new();

    // The committed, unfinished journal of the image a read-only open is opening (DiskImage.Open sets it around the
    // format's open, so that every file of the image it opens, extents included, reads the finished write).
    private static readonly AsyncLocal<CommittedJournal?> Committed = new();

    /// <summary>Until disposed, read-only opens of the files <paramref name="journal"/> names read them with its
    /// write applied (null: as they are). Restores the previous one when disposed (a parent is opened inside its child's open).</summary>
    public static IDisposable ReadingThrough(CommittedJournal? journal)
    {
        var scope = new CommittedScope(Committed.Value);
        Committed.Value = journal;
        return scope;
    }

    private static FileStream ViewOf(FileStream file, string path) =>
        Committed.Value is { } journal ? journal.View(file, Path.GetFullPath(path)) : file;

    private sealed class CommittedScope : IDisposable
    {
        private readonly CommittedJournal? _previous;

        public CommittedScope(CommittedJournal? previous) => _previous = previous;

        public void Dispose() => Committed.Value = _previous;
    }

    // Every file open for writing, by full path (a writable open is exclusive, so a path is open once at most), so
    // that VirtualDisk.BeginWriteTransaction finds the files of an image without each format handing them over.
    private static readonly Dictionary<string, JournaledFileStream> Writable = new(StringComparer.Ordinal);

    /// <summary>The open writable file at <paramref name="path"/>, or null.</summary>
    public static JournaledFileStream? FindWritable(string path)
    {
        lock (Writable)
        {
            return Writable.TryGetValue(Path.GetFullPath(path), out JournaledFileStream? f) ? f : null;
        }
    }

    /// <summary>The path a file of this layer was opened by (FileStream.Name is not virtual on .NET Framework, so a
    /// journaled file names itself).</summary>
    public static string PathOf(FileStream file) => file is JournaledFileStream j ? j.FilePath : file.Name;

    internal static void Unregister(JournaledFileStream file)
    {
        lock (Writable)
        {
            if (Writable.TryGetValue(file.FilePath, out JournaledFileStream? f) && ReferenceEquals(f, file))
            {
                Writable.Remove(file.FilePath);
            }
        }
    }

    private static FileStream Journaled(FileStream file, string path)
    {
        var journaled = new JournaledFileStream(file, Path.GetFullPath(path));
        lock (Writable)
        {
            Writable[journaled.FilePath] = journaled;
        }
        return journaled;
    }

    /// <summary>Deletes a file of this layer (through the test seam when set).</summary>
    public static void DeleteFile(string path)
    {
        if (Deleter.Value is { } deleter)
        {
            deleter(path);
        }
        else
        {
            File.Delete(path);
        }
    }

    /// <summary>Makes durable the folder entry of a file this layer created, renamed or deleted (a no-op off Linux;
    /// <see cref="HostDirectory"/>), through the test seam when set.</summary>
    public static void FlushFolderOf(string path)
    {
        if (FolderFlusher.Value is { } flusher)
        {
            flusher(path);
        }
        else
        {
            HostDirectory.FlushFolderOf(path);
        }
    }

    /// <summary>Renames a finished new file into place (failing if the target exists) and makes the rename durable.</summary>
    public static void MoveIntoPlace(string from, string to)
    {
        File.Move(from, to);
        FlushFolderOf(to);
    }

    /// <summary>Opens a file as it is, without the journal layer: for the journal itself and for recovery.</summary>
    public static FileStream OpenPlain(string path, FileMode mode, FileAccess access, FileShare share) => OpenFile(path, mode, access, share);

    /// <summary>Opens an existing file as it is (exclusive for writing, shared for reading), reporting a file another
    /// process holds as <see cref="UnsafeToWriteException"/>.</summary>
    public static FileStream OpenPlain(string path, FileAccess access)
    {
        try
        {
            return access == FileAccess.Read
                ? OpenFile(path, FileMode.Open, FileAccess.Read, FileShare.Read)
                : OpenFile(path, FileMode.Open, access, FileShare.None);
        }
        catch (IOException ex) when (IsLockConflict(ex.HResult))
        {
            throw new UnsafeToWriteException("The image is in use by another process; close it there first", path, ex);
        }
    }

    private static FileStream OpenFile(string path, FileMode mode, FileAccess access, FileShare share) =>
        Opener.Value is { } opener
            ? opener(path, mode, access, share)
            : new FileStream(path, mode, access, share, 1, FileOptions.RandomAccess);

    /// <summary>
    /// Opens <paramref name="path"/>: read-only opens let other readers in but no writer; read-write opens are exclusive.
    /// A file that another process holds is reported as <see cref="UnsafeToWriteException"/> ("in use").
    /// </summary>
    public static FileStream Open(string path, DiskAccess access)
    {
        try
        {
            return access == DiskAccess.ReadWrite
                ? Journaled(RefuseIfQemuHoldsIt(OpenFile(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None), path), path)
                : ViewOf(OpenFile(path, FileMode.Open, FileAccess.Read, FileShare.Read), path);
        }
        catch (IOException ex) when (IsLockConflict(ex.HResult))
        {
            throw new UnsafeToWriteException("The image is in use by another process; close it there first", path, ex);
        }
    }

    /// <summary>A file opened for writing that a qemu process holds (its byte-range locks, <see cref="HostFileLocks"/>) is
    /// closed again and refused as in use: a running VM's image must not be written under it.</summary>
    private static FileStream RefuseIfQemuHoldsIt(FileStream file, string path)
    {
        if (!HostFileLocks.HeldByAnotherOpen(file, out int pid))
        {
            return file;
        }
        file.Dispose();
        throw new UnsafeToWriteException(
            $"The image is in use by another process ({(pid > 0 ? $"process {pid} holds" : "another process holds")} a lock on it, as qemu does for an image it has open: a running VM, qemu-img, qemu-nbd); close it there first", path);
    }

    private static bool IsLockConflict(int hresult) =>
        hresult is SharingViolation or LockViolation
        || (Path.DirectorySeparatorChar == '/' && hresult is LinuxWouldBlock or MacWouldBlock);

    /// <summary>Removes a file this library created, when cleaning up after a failure; a file that cannot be removed
    /// is left, so that the original error is the one the caller sees.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Creates a new file, failing if it exists.</summary>
    public static FileStream CreateNew(string path) =>
        Journaled(OpenFile(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None), path);

    /// <summary>Reads the whole <paramref name="buffer"/> at <paramref name="position"/> or throws <see cref="CorruptDataException"/> naming the structure.</summary>
    public static void ReadExactly(Stream file, long position, Span<byte> buffer, string format, string structure, string? path)
    {
        if (position < 0 || position > file.Length - buffer.Length)
        {
            throw new CorruptDataException(format, structure, position, $"{buffer.Length} bytes would extend past the end of the file ({file.Length} bytes)", path);
        }
        int n = Shared.StreamExtensions.ReadAtMost(file, position, buffer);
        if (n != buffer.Length)
        {
            throw new CorruptDataException(format, structure, position, $"the file ended after {n} of {buffer.Length} bytes", path);
        }
    }
}
