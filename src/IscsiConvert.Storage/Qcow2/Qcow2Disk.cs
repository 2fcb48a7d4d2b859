using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using IscsiConvert.Shared;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// A QCOW2 image (version 2 or 3): its active disk or, opened with <see cref="OpenSnapshot"/>, one of its internal
/// snapshots read-only. Backing files are opened read-only as <see cref="VirtualDisk.Parent"/>.
/// </summary>
public sealed class Qcow2Disk : VirtualDisk
{
    private const int DefaultClusterSize = 64 * 1024;

    /// <summary>The first cluster is never larger than this, so the header buffer is bounded.</summary>
    private const int MaxHeaderRead = 1 << Qcow2Header.MaxClusterBits;

    private readonly FileStream _stream;
    private readonly Qcow2Header _header;
    private readonly Qcow2Stream _content;
    private readonly VirtualDisk? _parent;
    private readonly Qcow2File _file;
    private string? _damage;
    private bool _damageChecked;

    private Qcow2Disk(FileStream stream, Qcow2File file, Qcow2Header header, Qcow2Stream content, VirtualDisk? parent, IReadOnlyList<Qcow2Snapshot> snapshots, string? backingFile, DiskAccess access)
        : base(file.Path, access)
    {
        _stream = stream;
        _file = file;
        _header = header;
        _content = content;
        _parent = parent;
        Snapshots = snapshots;
        BackingFile = backingFile;
    }

    /// <inheritdoc/>
    public override DiskFormat Format => DiskFormat.Qcow2;

    /// <summary>"v2" or "v3" (compression is per cluster, so it is not a subformat).</summary>
    public override string Subformat => "v" + _header.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override SparseStream Content => _content;

    /// <inheritdoc/>
    public override VirtualDisk? Parent => _parent;

    /// <summary>Whole clusters of guest data stored in this file (standard and compressed clusters).</summary>
    public override long StoredBytes => _content.CountStoredBytes();

    /// <inheritdoc/>
    public override string? Damage
    {
        get
        {
            if (!_damageChecked)
            {
                _damage = _content.FindTruncation()?.Message;
                _damageChecked = true;
            }
            return _damage;
        }
    }

    /// <summary>The internal snapshots listed in the image's snapshot table.</summary>
    public IReadOnlyList<Qcow2Snapshot> Snapshots { get; }

    /// <summary>The backing file name exactly as stored in the image, or null.</summary>
    public string? BackingFile { get; }

    private string? MissingParent { get; init; }

    /// <inheritdoc/>
    public override string? MissingParentPath => MissingParent;

    /// <summary>Opens internal snapshot <paramref name="snapshot"/> (matched by ID, then by name) of the image at <paramref name="path"/>, read-only.</summary>
    public static Qcow2Disk OpenSnapshot(string path, string snapshot)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        if (snapshot is null)
        {
            throw new ArgumentNullException(nameof(snapshot));
        }
        return Open(Path.GetFullPath(path), DiskAccess.ReadOnly, new OpenContext(NullLogger.Instance), snapshot);
    }

    internal static Qcow2Disk Open(string path, DiskAccess access, OpenContext context, string? snapshot = null)
    {
        FileStream stream = ImageFile.Open(path, access);
        VirtualDisk? parent = null;
        try
        {
            return OpenOn(stream, path, access, context, snapshot, ref parent);
        }
        catch
        {
            parent?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The header, its extensions and the backing file name all lie in the first cluster (qemu refuses a backing file
    /// name past it), so only that cluster is read: the largest cluster a header may declare (2 MiB) would make every
    /// open read and allocate up to 2 MiB. A cluster_bits out of range reads the bound, for the header to refuse.
    /// </summary>
    private static int FirstClusterLength(FileStream stream)
    {
        Span<byte> start = stackalloc byte[Qcow2Header.ClusterBitsOffset + 4];
        if (stream.ReadAtMost(0, start) < start.Length)
        {
            return start.Length;
        }
        uint bits = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(start.Slice(Qcow2Header.ClusterBitsOffset));
        return bits is >= Qcow2Header.MinClusterBits and <= Qcow2Header.MaxClusterBits ? 1 << (int)bits : MaxHeaderRead;
    }

    private static Qcow2Disk OpenOn(FileStream stream, string path, DiskAccess access, OpenContext context, string? snapshotName, ref VirtualDisk? parent)
    {
        byte[] head = new byte[(int)Math.Min(stream.Length, FirstClusterLength(stream))];
        int n = stream.ReadAtMost(0, head);
        Qcow2Header header = Qcow2Header.ReadFrom(head.AsSpan(0, n), path);
        var file = new Qcow2File(stream, path, header.ClusterBits, access == DiskAccess.ReadWrite);
        Qcow2HeaderExtensions extensions = ReadExtensions(file, header, head.AsSpan(0, n));
        CheckFeatures(file, header, extensions, access);
        string? backing = ReadBackingName(file, header, head.AsSpan(0, n));
        Qcow2Refcounts.CheckHeader(file, header);
        List<Qcow2SnapshotEntry> entries = Qcow2SnapshotEntry.ReadTable(file, header);
        var snapshots = new List<Qcow2Snapshot>();
        foreach (Qcow2SnapshotEntry e in entries)
        {
            snapshots.Add(new Qcow2Snapshot(e.Id, e.Name, e.DiskSize ?? header.Size, e.Date));
        }

        Qcow2ClusterMap map;
        long size = header.Size;
        if (snapshotName is null)
        {
            map = Qcow2ClusterMap.Load(file, header.L1TableOffset, header.L1Size, header.Size, header.Version >= 3, "L1 table", Qcow2Header.L1TableOffsetOffset, Qcow2Header.L1SizeOffset);
        }
        else
        {
            Qcow2SnapshotEntry chosen = entries.Find(e => e.Id == snapshotName) ?? entries.Find(e => e.Name == snapshotName)
                ?? throw new ArgumentException($"The image has no snapshot with ID or name '{snapshotName}'.", nameof(snapshotName));
            size = chosen.DiskSize ?? header.Size;
            map = Qcow2ClusterMap.Load(file, chosen.L1Offset, chosen.L1Size, size, header.Version >= 3, $"L1 table of snapshot '{chosen.Name}'", chosen.EntryOffset, chosen.EntryOffset + 8);
        }
        // New clusters are allocated at the end of the file: with L2 entries pointing past that end (a truncated file)
        // a new cluster would land where an old one is said to be. L2 tables past the end were refused by Load; data
        // clusters past the end are looked for here, before anything is written.
        if (access == DiskAccess.ReadWrite && map.FindTruncation(size) is { } truncated)
        {
            throw truncated;
        }
        if (access == DiskAccess.ReadWrite && (header.IncompatibleFeatures & Qcow2Header.IncompatibleDirty) != 0)
        {
            RebuildRefcounts(file, header, map, entries, context.Logger);
        }
        Qcow2Refcounts? refcounts = access == DiskAccess.ReadWrite ? Qcow2Refcounts.Load(file, header) : null;

        string? missingParent = null;
        if (backing is not null && context.AllowMissingParent && access == DiskAccess.ReadOnly)
        {
            // Reporting only: a missing backing file leaves the overlay without a parent (qemu-img info does the same).
            parent = DiskImage.TryOpenParent(path, new[] { backing }, context, new List<string>());
            if (parent is null)
            {
                missingParent = backing;
                context.Logger.LogWarning("The backing file '{ParentPath}' of {ImagePath} was not found; the image is reported without it", backing, path);
            }
        }
        else if (backing is not null)
        {
            parent = DiskImage.OpenParent(path, new[] { backing }, context);
        }
        if (parent is not null)
        {
            CheckBackingFormat(path, extensions.BackingFormat, parent, context.Logger);
        }
        Action clearAutoclear = () => ClearAutoclear(file, header);
        var content = new Qcow2Stream(file, map, size, refcounts, parent, clearAutoclear);
        return new Qcow2Disk(stream, file, header, content, parent, snapshots, backing, access) { MissingParent = missingParent };
    }

    /// <summary>
    /// A dirty image opened for writing: rebuild the refcounts from every L1 table (active and snapshots), make the
    /// active copied flags agree with them, then clear the dirty bit - the same repair as 'qemu-img check -r all'.
    /// </summary>
    private static void RebuildRefcounts(Qcow2File file, Qcow2Header header, Qcow2ClusterMap active, List<Qcow2SnapshotEntry> entries, ILogger logger)
    {
        logger.LogInformation("QCOW2 image {ImagePath} is dirty: rebuilding its refcounts before writing", file.Path);
        var maps = new List<Qcow2ClusterMap> { active };
        var locations = new List<(long Offset, long Length)> { (header.L1TableOffset, header.L1Size * 8L) };
        foreach (Qcow2SnapshotEntry e in entries)
        {
            maps.Add(Qcow2ClusterMap.Load(file, e.L1Offset, e.L1Size, e.DiskSize ?? header.Size, header.Version >= 3, $"L1 table of snapshot '{e.Name}'", e.EntryOffset, e.EntryOffset + 8));
            locations.Add((e.L1Offset, e.L1Size * 8L));
        }
        Qcow2RefcountRebuild.Run(file, header, maps, locations, entries);
        active.FixCopiedFlags(Qcow2Refcounts.Load(file, header));
        file.Stream.Flush(flushToDisk: true);
        Qcow2RefcountRebuild.ClearDirty(file, header);
    }

    private static Qcow2HeaderExtensions ReadExtensions(Qcow2File file, Qcow2Header header, ReadOnlySpan<byte> head)
    {
        int start = header.Version >= 3 ? header.HeaderLength : Qcow2Header.V2Length;
        int limit = (int)Math.Min(head.Length, file.ClusterSize);
        if (header.BackingFileOffset > start && header.BackingFileOffset < limit)
        {
            limit = (int)header.BackingFileOffset;
        }
        return Qcow2HeaderExtensions.ReadFrom(head, start, limit, file.Path);
    }

    private static void CheckFeatures(Qcow2File file, Qcow2Header header, Qcow2HeaderExtensions extensions, DiskAccess access)
    {
        if (header.CryptMethod != 0)
        {
            string method = header.CryptMethod switch { 1 => "AES", 2 => "LUKS", _ => $"method {header.CryptMethod}" };
            throw new UnsupportedFormatException($"The QCOW2 image is encrypted ({method}); encrypted images are not supported", file.Path);
        }
        ulong incompatible = header.IncompatibleFeatures;
        if ((incompatible & Qcow2Header.IncompatibleExternalData) != 0 || extensions.ExternalDataFile is not null)
        {
            throw new UnsupportedFormatException("The QCOW2 image keeps its data in an external data file, which is not supported", file.Path);
        }
        if ((incompatible & Qcow2Header.IncompatibleExtendedL2) != 0)
        {
            throw new UnsupportedFormatException("The QCOW2 image uses extended L2 entries (subclusters), which are not supported", file.Path);
        }
        if ((incompatible & Qcow2Header.IncompatibleCompressionType) != 0)
        {
            if (header.CompressionType == Qcow2Header.CompressionZstd)
            {
                throw new UnsupportedFormatException("The QCOW2 image compresses clusters with zstd, which is not supported (no managed zstd decoder); convert it with 'qemu-img convert -o compression_type=zlib'", file.Path);
            }
            if (header.CompressionType == Qcow2Header.CompressionZlib)
            {
                throw file.Corrupt("header", Qcow2Header.CompressionTypeOffset, "the compression type bit is set but compression_type is 0 (zlib)");
            }
            throw new UnsupportedFormatException($"The QCOW2 image uses compression type {header.CompressionType}, which is not supported", file.Path);
        }
        if (header.CompressionType != Qcow2Header.CompressionZlib)
        {
            throw file.Corrupt("header", Qcow2Header.CompressionTypeOffset, $"compression_type is {header.CompressionType} without the compression type feature bit");
        }
        const ulong known = Qcow2Header.IncompatibleDirty | Qcow2Header.IncompatibleCorrupt | Qcow2Header.IncompatibleExternalData
            | Qcow2Header.IncompatibleCompressionType | Qcow2Header.IncompatibleExtendedL2;
        ulong unknown = incompatible & ~known;
        if (unknown != 0)
        {
            var names = new List<string>();
            for (int bit = 0; bit < 64; bit++)
            {
                if ((unknown & (1UL << bit)) != 0)
                {
                    names.Add(extensions.FeatureNames.TryGetValue((0, bit), out string? name) && name.Length > 0 ? $"bit {bit} ({name})" : $"bit {bit}");
                }
            }
            throw new UnsupportedFormatException($"The QCOW2 image uses unknown incompatible features: {string.Join(", ", names)}", file.Path);
        }
        if (access == DiskAccess.ReadWrite)
        {
            if ((incompatible & Qcow2Header.IncompatibleCorrupt) != 0)
            {
                throw new UnsafeToWriteException("The QCOW2 image is marked corrupt; repair it with 'qemu-img check -r all' before writing", file.Path);
            }
            if ((incompatible & Qcow2Header.IncompatibleDirty) != 0 && (extensions.HasBitmaps || header.AutoclearFeatures != 0))
            {
                // A dirty image's refcounts are rebuilt on a read-write open, but we cannot count the clusters of
                // persistent bitmaps (or of unknown autoclear features), so such images are refused.
                throw new UnsafeToWriteException("The QCOW2 image is dirty and has persistent bitmaps, whose refcounts we cannot rebuild; run 'qemu-img check -r all' before writing, or open it read-only", file.Path);
            }
        }
    }

    private static string? ReadBackingName(Qcow2File file, Qcow2Header header, ReadOnlySpan<byte> head)
    {
        if (header.BackingFileOffset == 0)
        {
            return null;
        }
        int size = header.BackingFileSize;
        if (size == 0 || size > Qcow2Header.MaxBackingFileNameLength)
        {
            throw file.Corrupt("backing file name", Qcow2Header.BackingFileSizeOffset, $"backing_file_size is {size}; expected 1 to {Qcow2Header.MaxBackingFileNameLength} bytes");
        }
        if (header.BackingFileOffset > head.Length - size)
        {
            throw file.Corrupt("backing file name", Qcow2Header.BackingFileOffsetOffset, $"{size} bytes at 0x{header.BackingFileOffset:X} extend past the first cluster or the end of the file");
        }
        return Encoding.UTF8.GetString(head.Slice((int)header.BackingFileOffset, size).ToArray());
    }

    private static void CheckBackingFormat(string path, string? named, VirtualDisk parent, ILogger logger)
    {
        if (named is null)
        {
            return;
        }
        DiskFormat? expected = FormatFromQemuName(named);
        if (expected is null)
        {
            logger.LogDebug("Backing format '{Format}' of {ImagePath} is not one we know; the backing file is read as detected ({Detected})", named, path, parent.Format);
            return;
        }
        if (expected != parent.Format)
        {
            throw new ParentChainException($"The backing file is recorded as '{named}' but its content is {parent.Format}", path);
        }
    }

    internal static DiskFormat? FormatFromQemuName(string name) => name switch
    {
        "raw" => DiskFormat.Raw,
        "qcow2" => DiskFormat.Qcow2,
        "vpc" => DiskFormat.Vhd,
        "vhdx" => DiskFormat.Vhdx,
        "vmdk" => DiskFormat.Vmdk,
        _ => null,
    };

    internal static string QemuName(DiskFormat format) => format switch
    {
        DiskFormat.Raw => "raw",
        DiskFormat.Qcow2 => "qcow2",
        DiskFormat.Vhd => "vpc",
        DiskFormat.Vhdx => "vhdx",
        DiskFormat.Vmdk => "vmdk",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Before the first data write: autoclear features (e.g. persistent bitmaps) we do not maintain must be cleared.</summary>
    private static void ClearAutoclear(Qcow2File file, Qcow2Header header)
    {
        if (header.Version >= 3 && header.AutoclearFeatures != 0)
        {
            file.Write(Qcow2Header.AutoclearFeaturesOffset, new byte[8]);
            file.Stream.Flush(flushToDisk: true);
            header.AutoclearFeatures = 0;
        }
    }

    /// <summary>
    /// Creates a version 3 image: header (with backing file name and format if a parent is given), a one-cluster refcount
    /// table and block, and a zeroed L1 table allocated through the refcount code. Fixed (preallocated) images are refused.
    /// </summary>
    internal static Qcow2Disk Create(string path, DiskCreateOptions options)
    {
        if (options.Fixed)
        {
            throw new ArgumentException("QCOW2 images are always sparse here; fixed (preallocated) QCOW2 images are not supported.", nameof(options));
        }
        if (options.LogicalSectorSize != 512)
        {
            throw new ArgumentException("QCOW2 images have 512-byte logical sectors.", nameof(options));
        }
        long clusterSize = options.BlockSize == 0 ? DefaultClusterSize : options.BlockSize;
        if (clusterSize < 512 || clusterSize > (1 << Qcow2Header.MaxClusterBits) || (clusterSize & (clusterSize - 1)) != 0)
        {
            throw new ArgumentException("The QCOW2 cluster size must be a power of two from 512 bytes to 2 MiB.", nameof(options));
        }
        int clusterBits = 0;
        while ((1L << clusterBits) < clusterSize)
        {
            clusterBits++;
        }

        long capacity = options.Capacity;
        string? backingName = null;
        string? backingFormat = null;
        if (options.ParentPath is not null)
        {
            string parentFull = Path.GetFullPath(options.ParentPath);
            using (VirtualDisk parentDisk = DiskImage.Open(parentFull, DiskAccess.ReadOnly))
            {
                capacity = parentDisk.Capacity;
                backingFormat = QemuName(parentDisk.Format);
            }
            string relative = ParentPaths.MakeRelative(Path.GetDirectoryName(path) ?? ".", parentFull);
            // Store the path relative to the new image (as qemu resolves it) unless no relative path exists.
            backingName = Path.IsPathRooted(relative) ? parentFull : relative.Replace('\\', '/');
        }
        if (capacity <= 0 || capacity % 512 != 0)
        {
            throw new ArgumentException("A QCOW2 image's capacity must be a positive multiple of 512 bytes.", nameof(options));
        }

        var header = new Qcow2Header
        {
            Version = 3,
            ClusterBits = clusterBits,
            Size = capacity,
            RefcountOrder = 4,
            HeaderLength = Qcow2Header.V3WrittenLength,
            RefcountTableOffset = clusterSize,
            RefcountTableClusters = 1,
        };
        var extensions = new Qcow2HeaderExtensions { BackingFormat = backingFormat };
        byte[] extensionBytes = extensions.ToBytes();
        byte[] first = new byte[clusterSize];
        int nameOffset = header.HeaderLength + extensionBytes.Length;
        if (backingName is not null)
        {
            byte[] name = Encoding.UTF8.GetBytes(backingName);
            if (name.Length > Qcow2Header.MaxBackingFileNameLength || nameOffset + name.Length > clusterSize)
            {
                throw new ArgumentException($"The backing file path ({name.Length} bytes) does not fit in the QCOW2 header cluster.", nameof(options));
            }
            header.BackingFileOffset = nameOffset;
            header.BackingFileSize = name.Length;
            name.CopyTo(first, nameOffset);
        }
        long l2Span = (clusterSize / 8) * clusterSize;
        long l1Entries = (capacity + l2Span - 1) / l2Span;
        if (l1Entries * 8 > Qcow2ClusterMap.MaxL1Bytes)
        {
            throw new ArgumentException("The capacity is too large for this cluster size (the L1 table would exceed 32 MiB).", nameof(options));
        }
        header.L1Size = (uint)l1Entries;

        FileStream stream = ImageFile.CreateNew(path);
        try
        {
            // Cluster 0: header; cluster 1: refcount table → cluster 2: refcount block counting clusters 0-2.
            header.WriteTo(first);
            extensionBytes.CopyTo(first, header.HeaderLength);
            stream.WriteAt(0, first);
            byte[] table = new byte[clusterSize];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(table, 2 * clusterSize);
            stream.WriteAt(clusterSize, table);
            byte[] block = new byte[clusterSize];
            for (int c = 0; c < 3; c++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(c * 2), 1);
            }
            stream.WriteAt(2 * clusterSize, block);

            var file = new Qcow2File(stream, path, clusterBits, writable: true);
            Qcow2Refcounts refcounts = Qcow2Refcounts.Load(file, header);
            int l1Clusters = (int)Math.Max(1, ((l1Entries * 8) + clusterSize - 1) / clusterSize);
            long l1Offset = refcounts.Allocate(l1Clusters);
            stream.WriteAt(l1Offset, new byte[l1Clusters * clusterSize]);
            header.L1TableOffset = l1Offset;
            header.WriteTo(first);
            stream.WriteAt(0, first.AsSpan(0, header.HeaderLength));
            stream.Flush(flushToDisk: true);
            stream.Dispose();
            options.Logger.LogInformation("Created QCOW2 v3 image {ImagePath}: {Capacity} bytes, {ClusterSize}-byte clusters, backing {Backing}", path, capacity, clusterSize, backingName ?? "(none)");
            return Open(path, DiskAccess.ReadWrite, new OpenContext(options.Logger));
        }
        catch
        {
            // A half-made image must not stay behind (the file is ours: CreateNew succeeded).
            stream.Dispose();
            ImageFile.TryDelete(path);
            throw;
        }
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        ThrowIfDisposed();
        if (Access == DiskAccess.ReadWrite)
        {
            _stream.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (Access == DiskAccess.ReadWrite)
            {
                _stream.Flush(flushToDisk: true);
            }
            _content.Dispose();
            _stream.Dispose();
        }
        base.Dispose(disposing);
    }
}
