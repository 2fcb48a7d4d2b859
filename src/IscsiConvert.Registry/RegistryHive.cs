using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Registry.Format;
using IscsiConvert.Shared;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Registry;

/// <summary>
/// A Windows registry hive (regf) loaded into memory from a file or a stream, dirty hives recovered from their
/// transaction logs. Edits stay in memory until <see cref="Save"/>, which writes a clean hive.
/// </summary>
public sealed class RegistryHive : IDisposable
{
    private readonly Stream? _stream;
    private readonly RegistryOpenOptions _options;
    private readonly ILogger _logger;
    private readonly List<TransactionLog> _logs;
    private readonly List<string> _logPaths;
    private BaseBlock _baseBlock;
    private bool _modified;
    private bool _disposed;

    private RegistryHive(HiveStorage storage, BaseBlock baseBlock, string? path, Stream? stream, RegistryOpenOptions options,
        List<TransactionLog> logs, List<string> logPaths, string? recoveredWith, int entries, bool dirtyUnrecovered)
    {
        _baseBlock = baseBlock;
        FilePath = path;
        _stream = stream;
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
        _logs = logs;
        _logPaths = logPaths;
        RecoveredWith = recoveredWith;
        RecoveredEntries = entries;
        IsDirtyWithoutRecovery = dirtyUnrecovered;
        Cells = new HiveCells(storage, baseBlock.MinorVersion);
        Editor = new HiveEditor(Cells, () => _options.TimeProvider.GetUtcNow().UtcDateTime.ToFileTimeUtc());
        int root = unchecked((int)baseBlock.RootCell);
        Cells.KeyCell(root);
        Root = new RegistryKey(this, root, -1, string.Empty, string.Empty);
    }

    internal HiveCells Cells { get; }

    internal HiveEditor Editor { get; }

    /// <summary>The hive file, when opened from a path.</summary>
    public string? FilePath { get; }

    /// <summary>The root key.</summary>
    public RegistryKey Root { get; }

    /// <summary>The format's minor version (3 to 6): 1.3 is NT4/2000/XP-era, 1.5 is Vista and later.</summary>
    public int MinorVersion => (int)_baseBlock.MinorVersion;

    /// <summary>
    /// The file name Windows keeps in the hive's base block for debugging (such as "SYSTEM" or
    /// "\SystemRoot\System32\Config\SAM"; at most the last 31 characters), or empty.
    /// </summary>
    public string StoredFileName => _baseBlock.FileName;

    /// <summary>True when opened for writing.</summary>
    public bool IsWritable => _options.Writable;

    /// <summary>How the hive was recovered from its logs on open ("new-format logs …"), or null when it was clean.</summary>
    public string? RecoveredWith { get; }

    /// <summary>The number of log entries (new format) or pages (old format) replayed on open.</summary>
    public int RecoveredEntries { get; }

    /// <summary>The primary file was dirty and no log could be applied: it is read as it is, and cannot be saved.</summary>
    public bool IsDirtyWithoutRecovery { get; }

    /// <summary>Opens a hive file; recovers it in memory from HIVE.LOG/.LOG1/.LOG2 beside it when it is dirty.</summary>
    public static RegistryHive Open(string path, RegistryOpenOptions? options)
    {
        options ??= new RegistryOpenOptions();
        string full = System.IO.Path.GetFullPath(path);
        HiveFileBytes bytes;
        using (var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            bytes = HiveFileBytes.Read(fs, full, options.Writable);
        }
        var logs = new List<TransactionLog>();
        var logPaths = new List<string>();
        foreach (string suffix in new[] { ".LOG", ".LOG1", ".LOG2" })
        {
            string? logPath = FindBeside(full, suffix);
            if (logPath is null)
            {
                continue;
            }
            logPaths.Add(logPath);
            using var ls = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            logs.Add(new TransactionLog(System.IO.Path.GetFileName(logPath), ReadAll(ls, logPath)));
        }
        RegistryHive hive = Load(bytes, full, null, options, logs, logPaths);
        hive._fileStamp = FileStamp.Of(bytes.Head, bytes.Rest.AsSpan(0, bytes.RestLength));
        return hive;
    }

    /// <summary>
    /// Opens a hive held in a stream (read whole into memory). When writable, <see cref="Save"/> writes the changed
    /// bins and then the base block back to this stream.
    /// </summary>
    public static RegistryHive Open(Stream stream, RegistryOpenOptions? options)
    {
        if (stream is null)
        {
            throw new ArgumentNullException(nameof(stream));
        }
        options ??= new RegistryOpenOptions();
        if (options.Writable && !stream.CanWrite)
        {
            throw new ArgumentException("A writable open needs a writable stream.", nameof(stream));
        }
        HiveFileBytes bytes = HiveFileBytes.Read(stream, null, options.Writable);
        var logs = new List<TransactionLog>();
        int i = 1;
        foreach (Stream s in options.LogStreams)
        {
            logs.Add(new TransactionLog($"log stream {i++}", ReadAll(s, null)));
        }
        return Load(bytes, null, stream, options, logs, new List<string>());
    }

    /// <summary>
    /// Creates a new, empty hive file (a root key and its security cell) and opens it writable. Fails with an
    /// <see cref="IOException"/> when <paramref name="path"/> exists. The file is written beside and then renamed into
    /// place, so no half-written hive is ever visible under <paramref name="path"/>.
    /// </summary>
    public static RegistryHive Create(string path, RegistryCreateOptions? options)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        options ??= new RegistryCreateOptions();
        string full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            throw new IOException($"'{full}' exists already; a new hive is never written over an existing file.");
        }
        byte[] bytes = NewHiveBytes(options, options.FileName ?? System.IO.Path.GetFileName(full));
        string temp = full + ".creating";
        // CreateNew: a leftover or concurrent NAME.creating is somebody else's file, never ours to delete.
        var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        try
        {
            using (fs)
            {
                fs.Write(bytes, 0, bytes.Length);
                fs.Flush(flushToDisk: true);
            }
            // A move without overwrite fails if someone created the file meanwhile: the existing file stays untouched.
            File.Move(temp, full);
            // The new name is durable only once its folder is (Linux): a power loss must not lose the hive just made.
            IscsiConvert.Shared.HostDirectory.FlushFolderOf(full);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        RegistryHive hive = Load(HiveFileBytes.Split(bytes), full, null, OpenOptionsFor(options), new List<TransactionLog>(), new List<string>());
        hive._fileStamp = FileStamp.Of(bytes);
        hive._logger.LogInformation("Created hive {Path} (root \"{Root}\")", full, options.RootName);
        return hive;
    }

    /// <summary>
    /// Writes a new, empty hive to <paramref name="stream"/> (from offset 0; the stream is cut to the hive's length)
    /// and opens it writable: <see cref="Save"/> writes the changes back to the stream.
    /// </summary>
    public static RegistryHive Create(Stream stream, RegistryCreateOptions? options)
    {
        if (stream is null)
        {
            throw new ArgumentNullException(nameof(stream));
        }
        if (!stream.CanWrite || !stream.CanSeek)
        {
            throw new ArgumentException("Creating a hive needs a writable, seekable stream.", nameof(stream));
        }
        options ??= new RegistryCreateOptions();
        byte[] bytes = NewHiveBytes(options, options.FileName ?? string.Empty);
        stream.SetLength(bytes.Length);
        stream.WriteAt(0, bytes);
        stream.Flush();
        RegistryHive hive = Load(HiveFileBytes.Split(bytes), null, stream, OpenOptionsFor(options), new List<TransactionLog>(), new List<string>());
        hive._logger.LogInformation("Created hive in a stream (root \"{Root}\")", options.RootName);
        return hive;
    }

    private static byte[] NewHiveBytes(RegistryCreateOptions options, string fileName)
    {
        string root = options.RootName ?? throw new ArgumentException("RootName must be set.", nameof(options));
        if (root.Length == 0 || root.Length > NameRules.MaxNameChars || root.IndexOf('\\') >= 0)
        {
            throw new ArgumentException($"'{root}' is not a valid root key name (1 to 255 characters, no backslash).", nameof(options));
        }
        long now = options.TimeProvider.GetUtcNow().UtcDateTime.ToFileTimeUtc();
        return NewHive.Build(root, fileName, now);
    }

    private static RegistryOpenOptions OpenOptionsFor(RegistryCreateOptions options) => new()
    {
        Writable = true,
        RecoverFromLogs = false,
        TimeProvider = options.TimeProvider,
        Logger = options.Logger,
    };

    /// <summary>
    /// The non-empty transaction logs beside a hive file — HIVE.LOG, HIVE.LOG1, HIVE.LOG2, any case — as
    /// <see cref="Open(string, RegistryOpenOptions?)"/> finds them. An empty log holds nothing to lose, so a dirty hive
    /// with none of these is one Windows itself loads as it is.
    /// </summary>
    public static IReadOnlyList<string> FindLogs(string hivePath)
    {
        string full = System.IO.Path.GetFullPath(hivePath ?? throw new ArgumentNullException(nameof(hivePath)));
        var found = new List<string>();
        foreach (string suffix in new[] { ".LOG", ".LOG1", ".LOG2" })
        {
            if (FindBeside(full, suffix) is { } log && new FileInfo(log).Length > 0)
            {
                found.Add(log);
            }
        }
        return found;
    }

    private static string? FindBeside(string hivePath, string suffix)
    {
        string dir = System.IO.Path.GetDirectoryName(hivePath)!;
        string want = System.IO.Path.GetFileName(hivePath) + suffix;
        foreach (string f in Directory.EnumerateFiles(dir))
        {
            if (string.Equals(System.IO.Path.GetFileName(f), want, StringComparison.OrdinalIgnoreCase))
            {
                return f;
            }
        }
        return null;
    }

    private static byte[] ReadAll(Stream s, string? path)
    {
        long len = s.Length;
        if (len > HiveStorage.MaxLength + (long)BaseBlock.Size)
        {
            throw new CorruptDataException(HiveStorage.FormatName, "file", 0, $"{len} bytes is larger than any hive (2 GiB)", path);
        }
        var bytes = new byte[len];
        int n = s.ReadAtMost(0, bytes);
        if (n != len)
        {
            Array.Resize(ref bytes, n);
        }
        return bytes;
    }

    private static RegistryHive Load(HiveFileBytes file, string? path, Stream? stream, RegistryOpenOptions options, List<TransactionLog> logs, List<string> logPaths)
    {
        ILogger logger = options.Logger ?? NullLogger.Instance;
        if (file.Length < BaseBlock.Size)
        {
            throw new CorruptDataException(HiveStorage.FormatName, "base block", 0, $"the file has {file.Length} bytes, a base block needs {BaseBlock.Size}", path);
        }
        BaseBlock b = BaseBlock.ReadFrom(file.Head);
        if (!b.HasSignature)
        {
            throw new CorruptDataException(HiveStorage.FormatName, "base block", 0, "signature is not \"regf\"", path);
        }
        if (b.MajorVersion != 1 || b.MinorVersion < 3 || b.MinorVersion > 6)
        {
            throw new UnsupportedFormatException($"regf version {b.MajorVersion}.{b.MinorVersion} is not supported (1.3 to 1.6 are).", path);
        }
        if (b.FileType != BaseBlock.FileTypePrimary)
        {
            throw new UnsupportedFormatException($"this regf file has file type {b.FileType}: it is a transaction log or another non-primary file, not a hive.", path);
        }
        bool checksumOk = b.ChecksumMatches;
        bool dirty = !checksumOk || b.SequencesDiffer;
        int length = (int)Math.Min(file.Length - BaseBlock.Size, HiveStorage.MaxLength);
        if (checksumOk)
        {
            uint declared = b.HiveBinsDataSize;
            if (declared == 0 || declared % HiveBin.Alignment != 0 || declared > (uint)(file.Length - BaseBlock.Size))
            {
                throw new CorruptDataException(HiveStorage.FormatName, "base block", BaseBlock.HiveBinsDataSizeOffset,
                    $"hive bins data size {declared} is not a multiple of 4096 within the file ({file.Length - BaseBlock.Size} bytes after the base block): truncated file?", path);
            }
            length = (int)declared;
        }
        // The bins are the bytes read after the base block, used in place (no second copy of a hive of many MiB);
        // log recovery works on an array of exactly the primary's length, as it always has.
        byte[] bins = file.Rest;
        string? recovered = null;
        int entries = 0;
        List<(int Offset, int Length)>? written = null;
        if (dirty && options.RecoverFromLogs && logs.Count > 0)
        {
            if (bins.Length != length)
            {
                Array.Resize(ref bins, length);
            }
            RecoveryOutcome? r = TransactionLogRecovery.Recover(b, checksumOk, bins, length, logs);
            if (r is not null)
            {
                b = r.BaseBlock;
                bins = r.Bins;
                length = r.Length;
                recovered = r.Method;
                entries = r.EntriesApplied;
                written = r.Written;
                logger.LogInformation("Recovered hive {Path} from {Method}: {Entries} entries applied", path ?? "(stream)", r.Method, r.EntriesApplied);
            }
        }
        if (!checksumOk && recovered is null)
        {
            throw new CorruptDataException(HiveStorage.FormatName, "base block", BaseBlock.ChecksumOffset,
                $"checksum is 0x{b.StoredChecksum:X8}, expected 0x{BaseBlock.ComputeChecksum(file.Head):X8}, and no transaction log could repair it", path);
        }
        HiveStorage storage = HiveStorage.Load(bins, length, path);
        if (written is not null)
        {
            foreach ((int off, int len) in written)
            {
                storage.MarkDirty(off, Math.Min(len, length - off));
            }
        }
        bool dirtyUnrecovered = dirty && recovered is null;
        if (dirtyUnrecovered)
        {
            logger.LogWarning("Hive {Path} is dirty and no transaction log applies: reading it as it is", path ?? "(stream)");
        }
        var hive = new RegistryHive(storage, b, path, stream, options, logs, logPaths, recovered, entries, dirtyUnrecovered);
        if (recovered is not null && stream is not null && options.Writable && stream.Length != BaseBlock.Size + (long)length)
        {
            // The recovered hive changed size: a stream save must rewrite everything.
            storage.MarkAllDirty();
        }
        return hive;
    }

    /// <summary>Opens a key by path from the root ("ControlSet001\Services"; a leading backslash is allowed), or null.</summary>
    public RegistryKey? OpenKey(string path) => Root.OpenSubkey(path);

    internal void EnsureWritable()
    {
        ThrowIfDisposed();
        if (!_options.Writable)
        {
            throw new InvalidOperationException("The hive was opened read-only.");
        }
    }

    internal void MarkModified() => _modified = true;

    /// <summary>True when there are changes (or a log recovery) not yet saved.</summary>
    public bool HasUnsavedChanges => _modified || (RecoveredWith is not null && !_savedAfterRecovery);

    private bool _savedAfterRecovery;

    // What the primary file looked like when it was read. The hive lives in memory between open and save, so before
    // replacing the file we make sure nobody else (Windows, hivex, another of our processes) wrote it meanwhile.
    private FileStamp? _fileStamp;

    /// <summary>
    /// Writes the hive back where it came from, clean (equal sequence numbers, fresh checksum). A file is replaced
    /// atomically (written beside, flushed, then renamed over); a stream gets only the changed 4 KiB pages (base block
    /// with the primary sequence number bumped, the pages, then the base block with both numbers equal) — with no
    /// transaction log, so a crash in the middle leaves a dirty hive nothing recovers: for a crash-safe save of a stream
    /// hive use <see cref="Save(Stream, TransactionLogFormat)"/>. After a log recovery the logs beside a file are emptied, so that Windows cannot
    /// replay them over the result. With nothing changed (<see cref="HasUnsavedChanges"/> false) nothing is written at
    /// all: no sequence number moves, no timestamp.
    /// </summary>
    public void Save()
    {
        EnsureWritable();
        if (!HasUnsavedChanges)
        {
            _logger.LogDebug("Hive {Path} has no changes; nothing saved", FilePath ?? "(stream)");
            return;
        }
        RefuseDirty();
        if (_stream is not null)
        {
            SaveToStream(_stream);
        }
        else
        {
            RefuseIfChangedOnDisk(FilePath!);
            SaveAs(FilePath!);
            ResetLogs();
        }
        _modified = false;
        _savedAfterRecovery = true;
    }

    private void RefuseIfChangedOnDisk(string path)
    {
        if (_fileStamp is null)
        {
            return;
        }
        byte[] now;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            now = ReadAll(fs, path);
        }
        if (!_fileStamp.Value.Matches(now))
        {
            throw new UnsafeToWriteException("The hive file was changed by another program after it was opened; nothing was saved. Open it again and repeat the edits", path);
        }
    }

    /// <summary>Writes a complete clean copy of the hive to <paramref name="path"/>, atomically.</summary>
    public void SaveAs(string path)
    {
        ThrowIfDisposed();
        RefuseDirty();
        string full = System.IO.Path.GetFullPath(path);
        string temp = full + ".saving";
        BaseBlock b = NextBaseBlock(NextSequence());
        try
        {
            using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                var block = new byte[BaseBlock.Size];
                b.WriteTo(block);
                fs.Write(block, 0, block.Length);
                ReadOnlySpan<byte> data = Cells.Storage.Data;
                fs.WriteSpan(data);
                if (FilePath is not null && string.Equals(full, FilePath, StringComparison.Ordinal))
                {
                    _fileStamp = FileStamp.Of(block, data);
                }
                fs.Flush(flushToDisk: true);
            }
            if (File.Exists(full))
            {
                File.Replace(temp, full, null);
            }
            else
            {
                File.Move(temp, full);
            }
            // The rename is durable only once the folder is (Linux): without this a power loss could bring the old hive
            // back after the caller was told the save was done (never a torn hive: the new file was fsynced first).
            IscsiConvert.Shared.HostDirectory.FlushFolderOf(full);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        _baseBlock = b;
        Cells.Storage.ClearDirty();
        _logger.LogInformation("Saved hive to {Path} (sequence {Sequence})", full, b.PrimarySequence);
    }

    private static void TryDelete(string path)
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

    private void RefuseDirty()
    {
        if (IsDirtyWithoutRecovery && !_options.SaveDirtyWithoutRecovery)
        {
            throw new UnsafeToWriteException("The hive is dirty (an unfinished write by Windows) and none of its transaction logs could be applied; saving would lose what Windows still has to replay.", FilePath);
        }
    }

    /// <summary>A sequence number past every number the primary and its logs hold.</summary>
    private uint NextSequence() =>
        Math.Max(Math.Max(_baseBlock.PrimarySequence, _baseBlock.SecondarySequence), TransactionLogRecovery.MaxSequence(_logs)) + 1;

    /// <summary>The base block to write, clean with both sequence numbers <paramref name="seq"/>.</summary>
    private BaseBlock NextBaseBlock(uint seq)
    {
        BaseBlock b = _baseBlock.Clone();
        b.PrimarySequence = seq;
        b.SecondarySequence = seq;
        b.FileType = BaseBlock.FileTypePrimary;
        b.HiveBinsDataSize = (uint)Cells.Storage.Length;
        b.RootCell = (uint)Root.Cell;
        long now = _options.TimeProvider.GetUtcNow().UtcDateTime.ToFileTimeUtc();
        b.Timestamp = now;
        Cells.Storage.SetFirstBinTimestamp(now);
        return b;
    }

    /// <summary>
    /// Saves a hive opened from a stream in place, crash-safe: the changed 4 KiB pages are first written as a
    /// transaction log of <paramref name="format"/> to <paramref name="log"/> (from offset 0; the stream is cut to the
    /// log's length) and flushed, and only then written into the hive — what Windows does. A crash at any point leaves
    /// the complete old hive (the log is not complete, or the primary file was not touched yet and is clean) or a hive
    /// marked dirty whose log recovers the complete new hive, as Windows and <see cref="Open(Stream, RegistryOpenOptions?)"/>
    /// with the log in <see cref="RegistryOpenOptions.LogStreams"/> do. Pass the hive's .LOG1 or .LOG2 (Windows
    /// alternates between them; the one not written keeps its entries, which recovery ignores: they are older than
    /// the save's sequence number). With nothing changed nothing is written, to either stream.
    /// </summary>
    /// <param name="log">The transaction log file to write (writable and seekable).</param>
    /// <param name="format">The log format the Windows that loads the hive reads: <see cref="TransactionLogFormat.New"/>
    /// for Windows 8.1 and later, <see cref="TransactionLogFormat.Old"/> before.</param>
    public void Save(Stream log, TransactionLogFormat format)
    {
        if (log is null)
        {
            throw new ArgumentNullException(nameof(log));
        }
        EnsureWritable();
        if (_stream is null)
        {
            throw new InvalidOperationException("Saving with a transaction log is for a hive opened from a stream; a hive file is saved atomically by Save().");
        }
        if (!log.CanWrite || !log.CanSeek)
        {
            throw new ArgumentException("The transaction log must be a writable, seekable stream.", nameof(log));
        }
        if (format is not TransactionLogFormat.New and not TransactionLogFormat.Old)
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "not a transaction log format");
        }
        if (!HasUnsavedChanges)
        {
            _logger.LogDebug("Hive {Path} has no changes; nothing saved", "(stream)");
            return;
        }
        RefuseDirty();
        SaveToStream(_stream, (log, format));
        _modified = false;
        _savedAfterRecovery = true;
    }

    /// <summary>
    /// Which of a hive's two transaction logs <see cref="Save(Stream, TransactionLogFormat)"/> should write: Windows
    /// alternates between .LOG1 and .LOG2, so that the log written last stays whole while the other is rewritten. This
    /// returns the one holding nothing a reader accepts (empty, torn, not a log) or else the one with the older
    /// history (the lower newest sequence number, base block and entries), and <paramref name="log1"/> on a tie. Either
    /// choice is safe for the save itself; this one keeps the newest log as it was.
    /// </summary>
    /// <param name="log1">The hive's .LOG1 (readable, seekable).</param>
    /// <param name="log2">The hive's .LOG2 (readable, seekable).</param>
    public static Stream SelectLogToWrite(Stream log1, Stream log2)
    {
        if (log1 is null)
        {
            throw new ArgumentNullException(nameof(log1));
        }
        if (log2 is null)
        {
            throw new ArgumentNullException(nameof(log2));
        }
        uint newest1 = TransactionLogRecovery.MaxSequence(new[] { new TransactionLog("log 1", ReadAll(log1, null)) });
        uint newest2 = TransactionLogRecovery.MaxSequence(new[] { new TransactionLog("log 2", ReadAll(log2, null)) });
        return newest2 < newest1 ? log2 : log1;
    }

    private void SaveToStream(Stream stream, (Stream Stream, TransactionLogFormat Format)? log = null)
    {
        HiveStorage s = Cells.Storage;
        BaseBlock b;
        if (log is { } l)
        {
            // The save takes two fresh sequence numbers: the primary file is marked (N, N-1) and the log entry is N, so
            // recovery (which applies the entries numbered from the primary's secondary number on) finds only this
            // save's entry — never an older one left in this or the other log, applied or not.
            uint seq = NextSequence() + 1;
            b = NextBaseBlock(seq);
            byte[] bytes = TransactionLogWriter.Build(l.Format, b, s.Data, s.DirtyRuns());
            l.Stream.WriteAt(0, bytes);
            if (l.Stream.Length != bytes.Length)
            {
                l.Stream.SetLength(bytes.Length);
            }
            l.Stream.Flush();
        }
        else
        {
            b = NextBaseBlock(NextSequence());
        }
        // The marker below keeps the length the hive had before the save. For a hive recovered from logs that grew it,
        // that length may reach past the file's end, which a reader refuses: then the file gets its new length first
        // (zeros after the last bin are padding, which every reader allows). Otherwise it grows after the marker, so
        // that a crash before the marker leaves the file exactly as it was.
        long wanted = BaseBlock.Size + (long)s.Length;
        if (BaseBlock.Size + (long)_baseBlock.HiveBinsDataSize > stream.Length)
        {
            stream.SetLength(wanted);
            stream.Flush();
        }
        var block = new byte[BaseBlock.Size];
        // First mark the hive as being written (primary sequence ahead), so a crash mid-way leaves it visibly dirty.
        // The marker keeps the length and root of the hive as it is, so a reader of a save cut short never follows a
        // length that covers bins not written yet. With a log it also carries the new time, because an old-format log
        // applies only to a primary with its timestamp.
        BaseBlock marker = _baseBlock.Clone();
        marker.PrimarySequence = b.PrimarySequence;
        if (log is not null)
        {
            marker.SecondarySequence = b.PrimarySequence - 1;
            marker.Timestamp = b.Timestamp;
        }
        marker.WriteTo(block);
        stream.WriteAt(0, block);
        stream.Flush();
        ReadOnlySpan<byte> data = s.Data;
        if (stream.Length < wanted)
        {
            stream.SetLength(wanted);
        }
        foreach ((int start, int length) in s.DirtyRuns())
        {
            stream.WriteAt(BaseBlock.Size + (long)start, data.Slice(start, length));
        }
        stream.Flush();
        b.WriteTo(block);
        stream.WriteAt(0, block);
        stream.Flush();
        _baseBlock = b;
        s.ClearDirty();
    }

    private void ResetLogs()
    {
        if (RecoveredWith is null)
        {
            return;
        }
        foreach (string log in _logPaths)
        {
            using var fs = new FileStream(log, FileMode.Open, FileAccess.Write, FileShare.None);
            fs.SetLength(0);
            fs.Flush(flushToDisk: true);
        }
        _logs.Clear();
    }

    /// <summary>Walks every bin, cell and key and lists what is wrong, without stopping at the first problem.</summary>
    public IReadOnlyList<RegistryProblem> Verify()
    {
        ThrowIfDisposed();
        return HiveVerifier.Verify(Cells, Root.Cell);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(RegistryHive));
        }
    }

    /// <summary>Releases the hive. Unsaved changes are dropped.</summary>
    public void Dispose()
    {
        _disposed = true;
    }
}

/// <summary>A cheap fingerprint of a hive file: its length and a 64-bit hash of its bytes (not cryptographic: it
/// detects another writer, not an attacker).</summary>
internal readonly struct FileStamp
{
    private readonly long _length;
    private readonly ulong _hash;

    private FileStamp(long length, ulong hash)
    {
        _length = length;
        _hash = hash;
    }

    public static FileStamp Of(byte[] bytes) => new(bytes.LongLength, Mix(Hash(0, bytes), bytes.LongLength));

    /// <summary>The stamp of a file made of <paramref name="head"/> followed by <paramref name="rest"/>.</summary>
    public static FileStamp Of(ReadOnlySpan<byte> head, ReadOnlySpan<byte> rest)
    {
        // Both parts are multiples of 8 bytes (4 KiB base block, 4 KiB bins), so hashing them in turn equals hashing the whole.
        ulong h = Hash(Hash(0, head), rest);
        long length = head.Length + (long)rest.Length;
        return new FileStamp(length, Mix(h, length));
    }

    public bool Matches(byte[] bytes) => bytes.LongLength == _length && Mix(Hash(0, bytes), bytes.LongLength) == _hash;

    private static ulong Hash(ulong h, ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<ulong> words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (ulong w in words)
        {
            h = (h ^ w) * 0x9E3779B97F4A7C15UL;
            h ^= h >> 29;
        }
        for (int i = words.Length * 8; i < bytes.Length; i++)
        {
            h = (h ^ bytes[i]) * 0x9E3779B97F4A7C15UL;
        }
        return h;
    }

    private static ulong Mix(ulong h, long length) => (h ^ (ulong)length) * 0xBF58476D1CE4E5B9UL;
}
