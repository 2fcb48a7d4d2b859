using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Ntfs.Internal;
using IscsiConvert.Shared;
using IscsiConvert.Storage;

namespace IscsiConvert.Ntfs;

/// <summary>
/// An NTFS volume read from a stream (a partition of a virtual disk, or a bare volume): look paths up, list
/// directories, read files and named streams. Every structure is validated before it is followed; damage is reported
/// as <see cref="CorruptDataException"/> naming the MFT record and byte offset.
/// </summary>
public sealed partial class NtfsVolume : IDisposable
{
    private const long RootDirectoryRecord = 5;
    private const long LogFileRecord = 2;
    private const long VolumeRecord = 3;
    private const long UpCaseRecord = 10;
    private const int MaxPathComponents = 1024;
    private const int MaxReparseBytes = 16 * 1024;
    private const int MaxLinkFollows = 32;
    private const int MaxDescriptorBytes = 64 * 1024;
    private const long SecureRecord = 9;

    private readonly Stream _stream;
    private readonly NtfsOpenOptions _options;
    private readonly VolumeReader _reader;
    private readonly NtfsBootSector _boot;
    private readonly MasterFileTable _mft;
    private readonly UpCaseTable _upcase;
    private readonly Dictionary<long, DirectoryIndex> _indexes = new();
    private SecureStore? _secure;
    private readonly VolumeWriter? _writer;
    private readonly VolumeEditor? _editor;
    private readonly SecureWriter? _secureWriter;
    private bool _disposed;

    private NtfsVolume(Stream stream, NtfsOpenOptions options)
    {
        _stream = stream;
        _options = options;
        _reader = new VolumeReader(stream, options.FilePath);
        byte[] sector = new byte[NtfsBootSector.Size];
        if (stream.Length < NtfsBootSector.Size)
        {
            throw new UnsupportedFormatException($"Not an NTFS volume: {stream.Length} bytes is too small.", options.FilePath);
        }
        _reader.Read(0, sector, "boot sector");
        _boot = NtfsBootSector.ReadFrom(sector, stream.Length, options.FilePath);
        _mft = new MasterFileTable(_reader, _boot);
        _mft.Load();

        NtfsFile volume = _mft.GetFile(VolumeRecord);
        AttributeRecord? name = volume.Find(AttributeType.VolumeName);
        VolumeLabel = name is { IsResident: true } ? AttributeRecord.DecodeName(name.Value) : string.Empty;
        AttributeRecord? information = volume.Find(AttributeType.VolumeInformation);
        VolumeInformation info = information is { IsResident: true } && VolumeInformation.TryReadFrom(information.Value) is { } parsed
            ? parsed
            : throw new CorruptDataException("NTFS", "MFT record 3 ($Volume)", information?.VolumeOffset ?? _mft.VolumeOffsetOfRecord(VolumeRecord),
                "$VOLUME_INFORMATION is missing or too short", options.FilePath);
        MajorVersion = info.MajorVersion;
        MinorVersion = info.MinorVersion;
        VolumeFlags = info.Flags;

        NtfsFile upcase = _mft.GetFile(UpCaseRecord);
        AttributeRecord upcaseData = upcase.Find(AttributeType.Data)
            ?? throw new CorruptDataException("NTFS", "MFT record 10 ($UpCase)", _mft.VolumeOffsetOfRecord(UpCaseRecord), "$UpCase has no data", options.FilePath);
        if (upcaseData.DataSize != UpCaseTable.Entries * 2)
        {
            throw new CorruptDataException("NTFS", "MFT record 10 ($UpCase)", upcaseData.VolumeOffset,
                $"$UpCase is {upcaseData.DataSize} bytes; expected {UpCaseTable.Entries * 2}", options.FilePath);
        }
        _upcase = new UpCaseTable(_mft.ReadAll(upcaseData));

        // Every path starts at the root: a root record that is not a directory leaves nothing to list or look up.
        if (!_mft.GetFile(RootDirectoryRecord).Record.IsDirectory)
        {
            throw new CorruptDataException("NTFS", $"MFT record {RootDirectoryRecord} (root directory)", _mft.VolumeOffsetOfRecord(RootDirectoryRecord) + FileRecord.FlagsOffset,
                "the root directory's record is not marked as a directory", options.FilePath);
        }

        if (options.Writable)
        {
            if (!stream.CanWrite)
            {
                throw new ArgumentException("The volume stream is not writable.", nameof(stream));
            }
            CheckWritable();
            _writer = new VolumeWriter(_reader, _boot, _mft);
            _secureWriter = new SecureWriter(_writer, new DataEditor(_writer), new DirectoryEditor(_writer, _upcase));
            var security = new SecurityAssigner(DescriptorOf, Secure, _secureWriter, added: () => _secure = null);
            _writer.StagedStateDropped += () =>
            {
                _secure = null;
                security.Forget();
            };
            _editor = new VolumeEditor(_writer, _upcase, security, options.TimeProvider ?? TimeProvider.System, _boot);
        }
    }

    /// <summary>Opens the NTFS volume in <paramref name="volume"/> (read-only; nothing is written).</summary>
    /// <exception cref="UnsupportedFormatException">The stream does not hold an NTFS volume.</exception>
    /// <exception cref="CorruptDataException">The volume's structures are damaged.</exception>
    public static NtfsVolume Open(Stream volume, NtfsOpenOptions? options = null)
    {
        if (volume is null)
        {
            throw new ArgumentNullException(nameof(volume));
        }
        if (!volume.CanRead || !volume.CanSeek)
        {
            throw new ArgumentException("The volume stream must be readable and seekable.", nameof(volume));
        }
        return new NtfsVolume(volume, options ?? new NtfsOpenOptions());
    }

    /// <summary>Adds descriptors to $Secure (tests drive it directly; creates go through the security assigner).</summary>
    internal SecureWriter SecureWriter => _secureWriter ?? throw new InvalidOperationException("The volume is read-only.");

    /// <summary>The MFT reader, for tests and the writer to come.</summary>
    internal MasterFileTable Mft => _mft;

    /// <summary>The volume label ($VOLUME_NAME), or "" when there is none.</summary>
    public string VolumeLabel { get; }

    /// <summary>The NTFS major version (3 for Windows XP and later).</summary>
    public int MajorVersion { get; }

    /// <summary>The NTFS minor version (1 for Windows XP and later).</summary>
    public int MinorVersion { get; }

    /// <summary>The $VOLUME_INFORMATION flags (0x0001: dirty).</summary>
    public int VolumeFlags { get; }

    /// <summary>True when the volume is marked dirty: Windows must run chkdsk on it before it is trusted.</summary>
    public bool IsDirty => (VolumeFlags & VolumeInformation.FlagDirty) != 0;

    /// <summary>Bytes per cluster (512 B to 2 MiB).</summary>
    public long ClusterSize => _boot.ClusterSize;

    /// <summary>Bytes per sector, from the boot sector.</summary>
    public int BytesPerSector => _boot.BytesPerSector;

    /// <summary>Bytes per MFT record.</summary>
    public int MftRecordSize => _boot.MftRecordSize;

    /// <summary>Clusters in the volume.</summary>
    public long TotalClusters => _boot.TotalClusters;

    /// <summary>The volume serial number.</summary>
    public ulong SerialNumber => _boot.SerialNumber;

    /// <summary>Looks a path up ("\Windows\System32", "/Windows/System32"; case-insensitive as Windows does).</summary>
    /// <exception cref="FileNotFoundException">Nothing has that path.</exception>
    public NtfsEntry GetEntry(string path) =>
        TryGetEntry(path) ?? throw new FileNotFoundException($"'{path}' does not exist on the NTFS volume.", path);

    /// <summary>Looks a path up; null when nothing has that path.</summary>
    public NtfsEntry? TryGetEntry(string path)
    {
        (NtfsFile file, string name, string fullPath)? found = Resolve(path);
        return found is { } f ? MakeEntry(f.file, f.name, f.fullPath) : null;
    }

    /// <summary>The entries of a directory (without "." and without 8.3 aliases), in NTFS collation order.</summary>
    /// <exception cref="FileNotFoundException">The path does not exist.</exception>
    /// <exception cref="IOException">The path is not a directory.</exception>
    public IReadOnlyList<NtfsEntry> ListDirectory(string path)
    {
        (NtfsFile dir, _, string fullPath) = Resolve(path) ?? throw new FileNotFoundException($"'{path}' does not exist on the NTFS volume.", path);
        if (!dir.Record.IsDirectory)
        {
            throw new IOException($"'{fullPath}' is not a directory.");
        }
        var result = new List<NtfsEntry>();
        string prefix = fullPath == "\\" ? "\\" : fullPath + "\\";
        foreach (IndexEntry entry in Index(dir).Enumerate())
        {
            FileNameAttribute key = entry.Key!;
            if (key.Namespace == FileNameAttribute.NamespaceDos || entry.FileRecordNumber == dir.RecordNumber)
            {
                continue;
            }
            RequireAddressableName(dir, fullPath, entry);
            result.Add(MakeEntry(_mft.GetFile(entry.FileRecordNumber), key.Name, prefix + key.Name));
        }
        return result;
    }

    // An entry's path must lead back to it: "." and ".." (only the root lists itself as ".") are damage, and a POSIX
    // name holding a backslash (legal on NTFS, written by Linux) cannot be told from two path components.
    private void RequireAddressableName(NtfsFile dir, string fullPath, IndexEntry entry)
    {
        string name = entry.Key!.Name;
        if (name is "." or "..")
        {
            throw new CorruptDataException("NTFS", $"MFT record {dir.RecordNumber} $I30 index of '{fullPath}'", entry.VolumeOffset,
                $"the directory lists an entry named '{name}'", _options.FilePath);
        }
        if (name.IndexOf('\\') >= 0)
        {
            throw new UnsupportedFormatException(
                $"'{fullPath}' (MFT record {dir.RecordNumber}, index entry at 0x{entry.VolumeOffset:X}) lists a name holding a backslash, which a path cannot address: '{name}'.",
                _options.FilePath);
        }
    }

    /// <summary>Opens the unnamed data stream of a file, or the named stream <paramref name="streamName"/>, for reading.</summary>
    /// <exception cref="FileNotFoundException">The path or stream does not exist.</exception>
    public Stream OpenFile(string path, string? streamName = null)
    {
        (NtfsFile file, _, string fullPath) = Resolve(path) ?? throw new FileNotFoundException($"'{path}' does not exist on the NTFS volume.", path);
        string name = streamName ?? string.Empty;
        if (name.Length == 0 && WofFileChunkSize(file) is int chunkSize)
        {
            return OpenWofCompressed(file, fullPath, chunkSize);
        }
        if (name.Length == 0 && ContentElsewhere(file) is { } elsewhere)
        {
            throw new UnsupportedFormatException(
                $"'{fullPath}' (MFT record {file.RecordNumber}) is {elsewhere}: its content is not in its data stream, and IscsiConvert does not read it through the reparse point.",
                _options.FilePath);
        }
        AttributeRecord? data = file.Find(AttributeType.Data, name);
        if (data is null)
        {
            if (file.Record.IsDirectory && name.Length == 0)
            {
                throw new IOException($"'{fullPath}' is a directory.");
            }
            throw new FileNotFoundException($"'{fullPath}' has no data stream{(name.Length > 0 ? " named '" + name + "'" : string.Empty)}.", path);
        }
        return _mft.OpenAttribute(data);
    }

    /// <summary>
    /// Cross-checks the metadata (read-only): $MFTMirr against $MFT, the MFT bitmap against records in use, $Bitmap
    /// against the clusters every file's runs use (free-but-used and cross-linked clusters), and every directory index
    /// against the $FILE_NAMEs of the files it lists. Returns the problems found (empty when consistent).
    /// </summary>
    public IReadOnlyList<NtfsProblem> Verify()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(NtfsVolume));
        }
        return new VolumeVerifier(_mft, _boot, Index).Run();
    }

    /// <summary>
    /// The self-relative security descriptor (SECURITY_DESCRIPTOR_RELATIVE bytes) of a file or directory: its own
    /// $SECURITY_DESCRIPTOR attribute if it has one, else the shared descriptor its security id names in $Secure:$SDS.
    /// Null when neither exists.
    /// </summary>
    /// <exception cref="FileNotFoundException">The path does not exist.</exception>
    public byte[]? GetSecurityDescriptor(string path)
    {
        (NtfsFile file, _, _) = Resolve(path) ?? throw new FileNotFoundException($"'{path}' does not exist on the NTFS volume.", path);
        return DescriptorOf(file);
    }

    private byte[]? DescriptorOf(NtfsFile file)
    {
        AttributeRecord? own = file.Find(AttributeType.SecurityDescriptor);
        if (own is not null)
        {
            if (own.DataSize > MaxDescriptorBytes)
            {
                throw new CorruptDataException("NTFS", $"MFT record {file.RecordNumber} $SECURITY_DESCRIPTOR", own.VolumeOffset, $"the descriptor is {own.DataSize} bytes", _options.FilePath);
            }
            return _mft.ReadAll(own);
        }
        uint id = file.StandardInformation?.SecurityId ?? 0;
        return id == 0 ? null : Secure()?.Get(id);
    }

    private SecureStore? Secure()
    {
        if (_secure is null)
        {
            AttributeRecord? sds = _mft.GetFile(SecureRecord).Find(AttributeType.Data, "$SDS");
            if (sds is null)
            {
                return null;
            }
            _secure = new SecureStore(_mft.OpenAttribute(sds));
        }
        return _secure;
    }

    /// <summary>
    /// Refuses, with <see cref="UnsafeToWriteException"/>, a volume that Windows did not leave clean: marked dirty,
    /// with a $LogFile that was not closed cleanly (or whose state cannot be read), or with an active hibernation image
    /// (Fast Startup). The message says why and what to do in Windows. Reads only; nothing is written.
    /// </summary>
    public void CheckWritable()
    {
        (NtfsVolumeState state, string? reason) = GetWriteSafety();
        if (state != NtfsVolumeState.Clean)
        {
            throw new UnsafeToWriteException(reason!, _options.FilePath);
        }
    }

    /// <summary>
    /// Whether Windows left the volume clean, and if not, which way and why (the message <see cref="CheckWritable"/>
    /// refuses with: what happened and what to do in Windows). The checks run in order — dirty flag, $LogFile,
    /// hibernation image — and the first that fails decides. Reads only.
    /// </summary>
    public (NtfsVolumeState State, string? Reason) GetWriteSafety()
    {
        if (WriteSafety.DirtyReason(IsDirty) is { } dirty)
        {
            return (NtfsVolumeState.Dirty, dirty);
        }
        NtfsFile log = _mft.GetFile(LogFileRecord);
        AttributeRecord? data = log.Find(AttributeType.Data);
        string? logReason;
        if (data is null)
        {
            logReason = WriteSafety.LogReason(WriteSafety.LogState.Unknown, "$LogFile has no data");
        }
        else
        {
            using AttributeStream stream = _mft.OpenAttribute(data);
            (WriteSafety.LogState state, string detail) = WriteSafety.ReadLogState(stream, _options.FilePath);
            logReason = WriteSafety.LogReason(state, detail);
        }
        if (logReason is not null)
        {
            return (NtfsVolumeState.NotShutDownCleanly, logReason);
        }
        if (TryGetEntry(@"\hiberfil.sys") is { IsDirectory: false, Size: >= 4 })
        {
            using Stream hiberfil = OpenFile(@"\hiberfil.sys");
            byte[] head = new byte[4];
            hiberfil.ReadAtMost(0, head);
            if (WriteSafety.HibernationReason(head) is { } hibernated)
            {
                return (NtfsVolumeState.Hibernated, hibernated);
            }
        }
        return (NtfsVolumeState.Clean, null);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_options.LeaveOpen)
        {
            _stream.Dispose();
        }
    }

    private (NtfsFile File, string Name, string FullPath)? Resolve(string path) => Resolve(path, new LinkBudget(), followLast: true);

    // followLast false: a junction or symbolic link named by the last component is the file found (what a delete
    // removes), even on a volume that follows links on the way to it.
    private (NtfsFile File, string Name, string FullPath)? Resolve(string path, bool followLast) => Resolve(path, new LinkBudget(), followLast);

    // How many more links one lookup may follow, shared by the nested lookups of link targets: a loop, or links
    // whose targets are paths full of links, end after MaxLinkFollows in all rather than at each level.
    private sealed class LinkBudget
    {
        public int Followed { get; set; }
    }

    private (NtfsFile File, string Name, string FullPath)? Resolve(string path, LinkBudget budget, bool followLast)
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(NtfsVolume));
        }
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        string[] parts = path.Split(new[] { '\\', '/' }, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length > MaxPathComponents)
        {
            throw new ArgumentException($"The path has more than {MaxPathComponents} components.", nameof(path));
        }
        NtfsFile current = _mft.GetFile(RootDirectoryRecord);
        string name = string.Empty;
        string full = string.Empty;
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part == ".")
            {
                continue;
            }
            if (!current.Record.IsDirectory)
            {
                return null;
            }
            IndexEntry? entry = Index(current).Find(part);
            if (entry is null)
            {
                return null;
            }
            string parent = full;
            current = _mft.GetFile(entry.FileRecordNumber);
            name = entry.Key!.Name;

            // A DOS alias leads to the same file; show its long name.
            if (entry.Key.Namespace == FileNameAttribute.NamespaceDos)
            {
                name = current.FileNames.FirstOrDefault(f => f.Namespace != FileNameAttribute.NamespaceDos && f.ParentRecordNumber == entry.Key.ParentRecordNumber)?.Name ?? name;
            }
            full += "\\" + name;
            if (_options.FollowJunctions && (followLast || i < parts.Length - 1) && LinkTarget(current) is { } target
                && FollowLink(current, target, parent, full, path, budget) is { } reached)
            {
                (current, name, full) = reached;
                full = full == "\\" ? string.Empty : full;
            }
        }
        return (current, name, full.Length == 0 ? "\\" : full);
    }

    /// <summary>
    /// The chunk size of a file compressed by WOF's file provider with XPRESS (4, 8 or 16 KiB: what CompactOS and
    /// <c>compact /exe:xpress*</c> write), whose content this reader decompresses; null for any other file.
    /// </summary>
    private int? WofFileChunkSize(NtfsFile file) =>
        file.Record.IsDirectory ? null : ReadReparsePoint(file)?.WofFileAlgorithm switch
        {
            0 => 4096,
            2 => 8192,
            3 => 16384,
            _ => null,
        };

    // A file's reparse point as read; null when it has none, or one too large or too short to read.
    private ReparsePoint? ReadReparsePoint(NtfsFile file)
    {
        AttributeRecord? reparse = file.Find(AttributeType.ReparsePoint);
        return reparse is not null && reparse.DataSize <= MaxReparseBytes ? ReparsePoint.TryReadFrom(_mft.ReadAll(reparse)) : null;
    }

    private WofStream OpenWofCompressed(NtfsFile file, string fullPath, int chunkSize)
    {
        const string StreamName = "WofCompressedData";
        AttributeRecord compressed = file.Find(AttributeType.Data, StreamName)
            ?? throw new CorruptDataException("NTFS", $"MFT record {file.RecordNumber} ('{fullPath}')", _mft.VolumeOffsetOfRecord(file.RecordNumber),
                $"the file is WOF-compressed but has no {StreamName} stream", _options.FilePath);
        long length = file.Find(AttributeType.Data)?.DataSize ?? 0;
        string structure = $"MFT record {file.RecordNumber} ('{fullPath}') ::{StreamName}";
        AttributeStream stream = _mft.OpenAttribute(compressed);
        try
        {
            return WofStream.Open(stream, length, chunkSize, structure, compressed.VolumeOffset, _options.FilePath, _stream.Length);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What a file is whose content Windows reads from somewhere else than its unnamed data stream, through a filter
    /// driver that its reparse tag names (null for any other file). Its unnamed stream is sparse (zeros) or a stub:
    /// read as it is, it would pass for content. Tags from the Windows SDK's winnt.h.
    /// </summary>
    private string? ContentElsewhere(NtfsFile file)
    {
        AttributeRecord? reparse = file.Find(AttributeType.ReparsePoint);
        if (reparse is null || file.Record.IsDirectory)
        {
            return null;
        }
        ReparsePoint? point = ReadReparsePoint(file);
        uint? tag = point?.Tag;
        return tag switch
        {
            null => $"a file with a reparse point of {reparse.DataSize} bytes that cannot be read",
            ReparsePoint.TagWof when point!.WofFileAlgorithm == 1 => "compressed by Windows with LZX (WOF: compact /exe:lzx), which IscsiConvert does not decompress",
            ReparsePoint.TagWof => "compressed or backed by Windows' overlay filter (WOF) in a way IscsiConvert does not read (a WIMBoot pointer, or an unknown algorithm)",
            ReparsePoint.TagWim => "backed by a WIM file (WIMBoot)",
            ReparsePoint.TagDedup => "deduplicated by Windows Server Data Deduplication",
            ReparsePoint.TagHsm or ReparsePoint.TagHsm2 => "stored by a hierarchical storage manager",
            _ when (tag & ReparsePoint.CloudTagMask) == ReparsePoint.TagCloud => "a cloud file placeholder (OneDrive or another sync provider)",
            _ => null,
        };
    }

    /// <summary>
    /// Where a link leads, or null when it cannot be followed — its target lies on another volume, or nothing is
    /// there (a dangling link): the link then stands for itself, so that what a listing shows can be looked up, and a
    /// write through it is refused (<see cref="RefuseLinksOnPath"/>).
    /// </summary>
    private (NtfsFile File, string Name, string FullPath)? FollowLink(NtfsFile link, string target, string parent, string linkPath, string path, LinkBudget budget)
    {
        if (++budget.Followed > MaxLinkFollows)
        {
            // A loop of junctions is damage (or hostility) on the volume: named by the link it was found at.
            throw new CorruptDataException("NTFS", $"MFT record {link.RecordNumber} ($REPARSE_POINT of '{linkPath}')", _mft.VolumeOffsetOfRecord(link.RecordNumber),
                $"resolving '{path}' passes through more than {MaxLinkFollows} junctions or symbolic links (a loop)", _options.FilePath);
        }
        string? onVolume = OnThisVolume(target, parent);
        if (onVolume is null || onVolume.Split(new[] { '\\', '/' }, StringSplitOptions.RemoveEmptyEntries).Length > MaxPathComponents)
        {
            return null;
        }
        return Resolve(onVolume, budget, followLast: true);
    }

    // A junction's or symbolic link's target, or null when the file is not one.
    private string? LinkTarget(NtfsFile file)
    {
        return ReadReparsePoint(file) is { Tag: ReparsePoint.TagMountPoint or ReparsePoint.TagSymlink, Target: { Length: > 0 } t } ? t : null;
    }

    // Targets name a drive (C:\Users) that this volume stands for once the image is booted; relative symbolic links
    // are resolved against the link's folder. Targets on other volumes (\??\Volume{…}, UNC paths) cannot be followed.
    private static string? OnThisVolume(string target, string parent)
    {
        if (target.Length >= 2 && target[1] == ':')
        {
            return target.Substring(2);
        }
        if (target.StartsWith("\\", StringComparison.Ordinal) && !target.StartsWith("\\\\", StringComparison.Ordinal) && !target.StartsWith("\\??\\", StringComparison.Ordinal))
        {
            return target;
        }
        if (!target.StartsWith("\\", StringComparison.Ordinal))
        {
            return parent + "\\" + target;
        }
        return null;
    }

    private DirectoryIndex Index(NtfsFile directory)
    {
        if (!_indexes.TryGetValue(directory.RecordNumber, out DirectoryIndex? index))
        {
            if (_indexes.Count > 256)
            {
                _indexes.Clear();
            }
            index = new DirectoryIndex(_mft, _upcase, directory, _boot.ClusterSize, _options.FilePath);
            _indexes[directory.RecordNumber] = index;
        }
        return index;
    }

    private NtfsEntry MakeEntry(NtfsFile file, string name, string path)
    {
        StandardInformation? si = file.StandardInformation;
        FileNameAttribute? fn = file.PreferredName;
        AttributeRecord? data = file.Find(AttributeType.Data);
        var entry = new NtfsEntry(name, path)
        {
            IsDirectory = file.Record.IsDirectory,
            Size = file.Record.IsDirectory ? 0 : data?.DataSize ?? 0,
            MftRecordNumber = file.RecordNumber,
            SequenceNumber = file.Record.SequenceNumber,
            CreationTimeUtc = ToDateTime(si?.CreationTime ?? fn?.CreationTime ?? 0),
            LastWriteTimeUtc = ToDateTime(si?.ModificationTime ?? fn?.ModificationTime ?? 0),
            MftChangeTimeUtc = ToDateTime(si?.MftChangeTime ?? fn?.MftChangeTime ?? 0),
            LastAccessTimeUtc = ToDateTime(si?.AccessTime ?? fn?.AccessTime ?? 0),
            Attributes = (FileAttributes)(si?.FileAttributes ?? fn?.FileAttributes ?? 0),
            HardLinkCount = file.FileNames.Count(f => f.Namespace != FileNameAttribute.NamespaceDos),
            ShortName = file.FileNames.FirstOrDefault(f => f.Namespace == FileNameAttribute.NamespaceDos)?.Name,
            IsCompressed = data is { IsCompressed: true },
            SecurityId = si?.SecurityId ?? 0,
            AlternateStreams = file.FindAll(AttributeType.Data).Where(a => a.Name.Length > 0).Select(a => new NtfsStreamInfo(a.Name, a.DataSize)).ToArray(),
        };
        ReparsePoint? point = ReadReparsePoint(file);
        entry.ReparseTag = point?.Tag;
        entry.ReparseTarget = point?.Target;
        return entry;
    }

    private static DateTime ToDateTime(long fileTime)
    {
        const long MaxFileTime = 2650467743999999999; // 9999-12-31 23:59:59.9999999 UTC
        return fileTime <= 0 || fileTime > MaxFileTime ? DateTime.MinValue : DateTime.FromFileTimeUtc(fileTime);
    }
}
