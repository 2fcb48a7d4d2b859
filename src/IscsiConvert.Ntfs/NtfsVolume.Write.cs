using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Ntfs.Internal;

namespace IscsiConvert.Ntfs;

// The writing half of NtfsVolume: every public edit is atomic in memory (it either completes or leaves no trace), and
// nothing reaches the stream before Flush.
public sealed partial class NtfsVolume
{
    private const int CopyBufferSize = 1 << 20;

    // A copy buffer no larger than the content needs: a 1 MiB array per small file (the common case: INFs, catalogs,
    // manifests) went to the large object heap and made every create pay for gen-2 collections (1,000 files of 2 KiB
    // allocated 1.2 GB).
    private static byte[] CopyBuffer(long contentLength) =>
        new byte[contentLength < 0 ? CopyBufferSize : (int)Math.Max(1, Math.Min(CopyBufferSize, contentLength))];

    /// <summary>True when the volume was opened with <see cref="NtfsOpenOptions.Writable"/>.</summary>
    public bool IsWritable => _writer is not null;

    /// <summary>True when edits are waiting for <see cref="Flush"/>.</summary>
    public bool HasPendingChanges => _writer?.HasChanges ?? false;

    /// <summary>
    /// Creates a directory and any missing parents (like <see cref="Directory.CreateDirectory(string)"/>); an existing
    /// directory is fine. Returns its entry.
    /// </summary>
    /// <exception cref="IOException">A file (not a directory) has that name.</exception>
    public NtfsEntry CreateDirectory(string path)
    {
        string[] parts = SplitPath(path);
        RefuseLinksOnPath(path);
        return Edit(() =>
        {
            string current = string.Empty;
            foreach (string part in parts)
            {
                string next = current + "\\" + part;
                NtfsEntry? existing = TryGetEntry(next);
                if (existing is null)
                {
                    (NtfsFile parent, _, _) = Resolve(current.Length == 0 ? "\\" : current)!.Value;
                    _editor!.Create(parent, part, directory: true, Index(parent), Index(_mft.GetFile(RootDirectoryRecord)));
                    ForgetIndexes();
                }
                else if (!existing.IsDirectory)
                {
                    throw new IOException($"'{next}' exists and is not a directory.");
                }
                current = next;
            }
            return GetEntry(current.Length == 0 ? "\\" : current);
        });
    }

    /// <summary>
    /// Writes <paramref name="content"/> (from its current position to its end) as the file at <paramref name="path"/>,
    /// creating it or replacing what it held. The parent directory must exist.
    /// </summary>
    public NtfsEntry WriteFile(string path, Stream content)
    {
        if (content is null)
        {
            throw new ArgumentNullException(nameof(content));
        }
        return Edit(() =>
        {
            long record = OpenOrCreateFile(path, truncate: true);
            long length = content.CanSeek ? content.Length - content.Position : -1;
            if (length > 0)
            {
                _editor!.Data.SetLength(record, string.Empty, length);
            }
            byte[] buffer = CopyBuffer(length);
            long position = 0;
            int n;
            while ((n = content.Read(buffer, 0, buffer.Length)) > 0)
            {
                _editor!.Data.Write(record, string.Empty, position, buffer.AsSpan(0, n));
                position += n;
            }
            if (length >= 0 && position != length)
            {
                _editor!.Data.SetLength(record, string.Empty, position);
            }
            _editor!.RefreshNames(record);
            ForgetIndexes();
            return GetEntry(path);
        });
    }

    /// <summary>
    /// Writes <paramref name="content"/> (from its current position to its end) as the file at <paramref name="path"/>
    /// only when the file does not already hold exactly these bytes: an existing file with the same length and content
    /// is left alone — nothing is staged, no timestamp changes — and false is returned. Otherwise the file is written as
    /// by <see cref="WriteFile(string, Stream)"/> and true is returned. This is how a repeated edit becomes a no-op.
    /// </summary>
    public bool WriteFileIfChanged(string path, Stream content)
    {
        if (content is null)
        {
            throw new ArgumentNullException(nameof(content));
        }
        RequireWritable();
        Stream source = content;
        MemoryStream? buffered = null;
        if (!content.CanSeek)
        {
            // Comparing consumes the content, and writing needs it again: keep a copy of a one-pass stream.
            buffered = new MemoryStream();
            content.CopyTo(buffered);
            buffered.Position = 0;
            source = buffered;
        }
        using (buffered)
        {
            if (Resolve(path) is { } found && !found.File.Record.IsDirectory)
            {
                RefuseReparsedFile(found.File, found.FullPath);
            }
            long start = source.Position;
            if (HasContent(path, source))
            {
                return false;
            }
            source.Position = start;
            WriteFile(path, source);
            return true;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> as the file at <paramref name="path"/> unless it already holds exactly them; see <see cref="WriteFileIfChanged(string, Stream)"/>.</summary>
    public bool WriteFileIfChanged(string path, byte[] bytes)
    {
        using var stream = new MemoryStream(bytes ?? throw new ArgumentNullException(nameof(bytes)), writable: false);
        return WriteFileIfChanged(path, stream);
    }

    // True when the file at path exists and its unnamed stream holds exactly what content holds from its position on.
    private bool HasContent(string path, Stream content)
    {
        NtfsEntry? existing = TryGetEntry(path);
        if (existing is null || existing.IsDirectory || existing.Size != content.Length - content.Position)
        {
            return false;
        }
        using Stream current = OpenFile(path);
        if (current.Length != existing.Size)
        {
            return false;
        }
        byte[] a = CopyBuffer(existing.Size);
        byte[] b = CopyBuffer(existing.Size);
        while (true)
        {
            int n = ReadFull(content, a, a.Length);
            if (n == 0)
            {
                return current.Read(b, 0, 1) == 0;
            }
            if (ReadFull(current, b, n) < n || !a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, n)))
            {
                return false;
            }
        }
    }

    // Reads until count bytes or the end of the stream (Stream.ReadAtLeast is not in netstandard2.0).
    private static int ReadFull(Stream stream, byte[] buffer, int count)
    {
        int total = 0;
        int n;
        while (total < count && (n = stream.Read(buffer, total, count - total)) > 0)
        {
            total += n;
        }
        return total;
    }

    /// <summary>Writes <paramref name="bytes"/> as the file at <paramref name="path"/> (created or replaced).</summary>
    public NtfsEntry WriteFile(string path, byte[] bytes)
    {
        using var stream = new MemoryStream(bytes ?? throw new ArgumentNullException(nameof(bytes)), writable: false);
        return WriteFile(path, stream);
    }

    /// <summary>
    /// Opens a file for reading and writing: <see cref="FileMode.CreateNew"/>, <see cref="FileMode.Create"/>,
    /// <see cref="FileMode.Open"/>, <see cref="FileMode.OpenOrCreate"/>, <see cref="FileMode.Truncate"/> or
    /// <see cref="FileMode.Append"/>. Each write is an edit of its own; the directory entry's sizes are refreshed when
    /// the stream is disposed.
    /// </summary>
    public Stream OpenWrite(string path, FileMode mode)
    {
        RequireWritable();
        return Edit(() =>
        {
            NtfsEntry? existing = TryGetEntry(path);
            if (existing is { IsDirectory: true })
            {
                throw new IOException($"'{path}' is a directory.");
            }
            switch (mode)
            {
                case FileMode.CreateNew when existing is not null:
                    throw new IOException($"'{path}' already exists.");
                case FileMode.Open or FileMode.Truncate when existing is null:
                    throw new FileNotFoundException($"'{path}' does not exist on the NTFS volume.", path);
            }
            bool truncate = mode is FileMode.Create or FileMode.Truncate or FileMode.CreateNew;
            long record = OpenOrCreateFile(path, truncate);
            var stream = new NtfsWriteStream(this, record);
            if (mode == FileMode.Append)
            {
                stream.Position = stream.Length;
            }
            return (Stream)stream;
        });
    }

    /// <summary>Deletes a file, or a directory (with <paramref name="recursive"/>, its whole tree; else it must be empty).</summary>
    /// <exception cref="FileNotFoundException">Nothing has that path.</exception>
    public void Delete(string path, bool recursive = false)
    {
        RequireWritable();
        Edit(() =>
        {
            DeleteCore(path, recursive);
            return 0;
        });
    }

    /// <summary>
    /// Writes every pending edit to the stream: the volume is marked dirty, the changed clusters are written in volume
    /// order, then the volume is marked clean again — if this is interrupted, Windows finds a dirty volume and runs
    /// chkdsk rather than trusting half-written metadata. Without <see cref="Flush"/>, <see cref="Dispose"/> drops edits.
    /// </summary>
    public void Flush()
    {
        ThrowIfDisposed();
        if (_writer is null)
        {
            return;
        }
        _writer.Commit();
        ForgetIndexes();
    }

    /// <summary>Drops every edit not yet flushed.</summary>
    public void DiscardChanges()
    {
        ThrowIfDisposed();
        _writer?.Discard();
        ForgetIndexes();
    }

    /// <summary>Free space in bytes (from $Bitmap, pending edits included; read-only volumes count it on demand).</summary>
    public long FreeBytes
    {
        get
        {
            ThrowIfDisposed();
            if (_writer is not null)
            {
                return _writer.Clusters.CountFree() * ClusterSize;
            }
            AttributeRecord data = _mft.GetFile(6).Find(AttributeType.Data)!;
            return new ClusterBitmap(_mft.ReadAll(data), TotalClusters).CountFree() * ClusterSize;
        }
    }

    private void DeleteCore(string path, bool recursive)
    {
        // The last component is not followed: deleting a junction removes the junction, never what it points at.
        (NtfsFile file, _, string fullPath) = Resolve(path, followLast: false) ?? throw new FileNotFoundException($"'{path}' does not exist on the NTFS volume.", path);
        if (fullPath == "\\")
        {
            throw new IOException("The root directory cannot be deleted.");
        }
        if (file.Find(AttributeType.ReparsePoint) is not null)
        {
            // $Extend\$Reparse indexes every file with a reparse point, and IscsiConvert does not edit that index: the
            // deleted file would stay listed there, which chkdsk reports and repairs.
            throw new UnsafeToWriteException(
                $"'{fullPath}' on the NTFS volume has a reparse point ({ReparseDescription(file)}): IscsiConvert does not delete files with reparse points",
                _options.FilePath);
        }
        // The directory the name is in: of a file with several hard links only this link goes.
        int slash = fullPath.LastIndexOf('\\');
        long parent = Resolve(slash == 0 ? "\\" : fullPath.Substring(0, slash))!.Value.File.RecordNumber;
        string name = fullPath.Substring(slash + 1);
        if (file.Record.IsDirectory)
        {
            IReadOnlyList<NtfsEntry> children = ListDirectory(fullPath);
            if (children.Count > 0 && !recursive)
            {
                throw new IOException($"'{fullPath}' is not empty.");
            }
            foreach (NtfsEntry child in children)
            {
                DeleteCore(child.Path, recursive: true);
            }
            file = _mft.GetFile(file.RecordNumber);
            _editor!.Delete(file, Index(file), parent, name);
        }
        else
        {
            _editor!.Delete(file, null, parent, name);
        }
        ForgetIndexes();
    }

    /// <summary>
    /// Refuses a write at <paramref name="path"/> when a folder on the way, or the file itself, is a junction or symbolic
    /// link that this volume does not follow (<see cref="NtfsOpenOptions.FollowJunctions"/> off, or a link whose target
    /// is missing or on another volume): Windows follows the link — to another folder, or out of the Windows
    /// tree — so what would be written inside the link's own empty folder is never found, while the path looks written.
    /// A hostile or unusual image (System32\drivers or config made a junction) is refused before anything is staged.
    /// </summary>
    private void RefuseLinksOnPath(string path)
    {
        string current = string.Empty;
        foreach (string part in SplitPath(path))
        {
            current += "\\" + part;
            if (Resolve(current, followLast: false) is not { } found)
            {
                return;
            }
            // With FollowJunctions a link that resolution follows is where Windows looks too; one it cannot follow
            // (a dangling link, a target on another volume) stands for itself there, and is refused like any link.
            if (NameSurrogate(found.File) is { } link && (!_options.FollowJunctions || Resolve(current) is not { } followed || followed.File.RecordNumber == found.File.RecordNumber))
            {
                throw new UnsafeToWriteException(
                    $"'{found.FullPath}' on the NTFS volume is a junction or symbolic link ({link}): IscsiConvert does not write through links (Windows would follow it, and '{path}' would not be where Windows looks)",
                    _options.FilePath);
            }
        }
    }

    /// <summary>
    /// Refuses to write over a file with a reparse point. Windows reads a compressed (WOF, CompactOS), WIM-backed,
    /// deduplicated or cloud file through its filter driver, from where the reparse point says, not from the unnamed
    /// stream a write would change: the new content would never be seen. A link read as a file would be written in
    /// place of its target. Turning such a file into a plain one means editing $Extend\$Reparse, which IscsiConvert does
    /// not do; the refusal comes before anything is staged.
    /// </summary>
    private void RefuseReparsedFile(NtfsFile file, string path)
    {
        if (file.Find(AttributeType.ReparsePoint) is not null)
        {
            throw new UnsafeToWriteException(
                $"'{path}' on the NTFS volume has a reparse point ({ReparseDescription(file)}): Windows would not read what IscsiConvert writes in its data stream, so it is not replaced",
                _options.FilePath);
        }
    }

    private string ReparseDescription(NtfsFile file) =>
        ContentElsewhere(file) ?? NameSurrogate(file) ?? $"reparse tag 0x{ReadReparsePoint(file)?.Tag:X8}";

    // What a file that stands for another name is (a junction, a symbolic link, a WSL or other link: a reparse tag with
    // the name-surrogate bit), or null for any other file; a reparse point too large or too short to read counts as one.
    private string? NameSurrogate(NtfsFile file)
    {
        const uint NameSurrogateBit = 0x20000000;
        AttributeRecord? reparse = file.Find(AttributeType.ReparsePoint);
        if (reparse is null)
        {
            return null;
        }
        byte[] data = reparse.DataSize <= MaxReparseBytes ? _mft.ReadAll(reparse) : Array.Empty<byte>();
        if (data.Length < 4)
        {
            return $"a reparse point of {reparse.DataSize} bytes";
        }
        uint tag = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data);
        if ((tag & NameSurrogateBit) == 0)
        {
            return null;
        }
        return LinkTarget(file) is { } target ? $"to '{target}'" : $"reparse tag 0x{tag:X8}";
    }

    // The record of the file at path, created empty if missing; truncated to zero when asked.
    private long OpenOrCreateFile(string path, bool truncate)
    {
        string[] parts = SplitPath(path);
        RefuseLinksOnPath(path);
        if (parts.Length == 0)
        {
            throw new ArgumentException("A file path needs a name.", nameof(path));
        }
        string parentPath = "\\" + string.Join("\\", parts.Take(parts.Length - 1));
        (NtfsFile parent, _, string parentFull) = Resolve(parentPath) ?? throw new DirectoryNotFoundException($"'{parentPath}' does not exist on the NTFS volume.");
        if (!parent.Record.IsDirectory)
        {
            throw new IOException($"'{parentFull}' is not a directory.");
        }
        IndexEntry? existing = Index(parent).Find(parts[parts.Length - 1]);
        if (existing is not null)
        {
            NtfsFile file = _mft.GetFile(existing.FileRecordNumber);
            if (file.Record.IsDirectory)
            {
                throw new IOException($"'{path}' is a directory.");
            }
            if (file.Find(AttributeType.Data) is null)
            {
                throw new IOException($"'{path}' has no data stream.");
            }
            RefuseReparsedFile(file, path);
            if (truncate)
            {
                _editor!.Data.SetLength(file.RecordNumber, string.Empty, 0);
            }
            return file.RecordNumber;
        }
        long created = _editor!.Create(parent, parts[parts.Length - 1], directory: false, Index(parent), Index(_mft.GetFile(RootDirectoryRecord)));
        ForgetIndexes();
        return created;
    }

    internal T Edit<T>(Func<T> edit)
    {
        RequireWritable();
        _writer!.BeginSavepoint();
        try
        {
            T result = edit();
            _writer.ReleaseSavepoint();
            return result;
        }
        catch
        {
            _writer.Rollback();
            ForgetIndexes();
            throw;
        }
        finally
        {
            ForgetIndexes();
        }
    }

    internal VolumeEditor Editor => _editor ?? throw new InvalidOperationException("The volume is read-only.");

    internal Stream OpenDataForRead(long record) => _mft.OpenAttribute(_mft.GetFile(record).Find(AttributeType.Data)!);

    private void ForgetIndexes() => _indexes.Clear();

    private void RequireWritable()
    {
        ThrowIfDisposed();
        if (_writer is null)
        {
            throw new NotSupportedException("The NTFS volume was opened read-only; open it with NtfsOpenOptions.Writable to change it.");
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(NtfsVolume));
        }
    }

    private static string[] SplitPath(string path)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        string[] parts = path.Split(new[] { '\\', '/' }, StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        foreach (string part in parts)
        {
            VolumeEditor.ValidateName(part);
        }
        return parts;
    }
}
