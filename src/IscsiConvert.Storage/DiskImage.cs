using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Shared;
using IscsiConvert.Storage.Raw;
using IscsiConvert.Storage.Qcow2;
using IscsiConvert.Storage.Vhd;
using IscsiConvert.Storage.Vhdx;
using IscsiConvert.Storage.Vmdk;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage;

/// <summary>
/// The entry point of the storage layer: open an image by its content (not its file name), create new images.
/// </summary>
public static class DiskImage
{
    /// <summary>The deepest parent chain followed before the chain is taken to be hostile.</summary>
    internal const int MaxChainDepth = 64;

    /// <summary>Opens an image read-only, detecting its format from its content.</summary>
    public static VirtualDisk Open(string path) => Open(path, DiskAccess.ReadOnly);

    /// <summary>Opens an image, detecting its format from its content.</summary>
    public static VirtualDisk Open(string path, DiskAccess access) =>
        Open(path, new DiskOpenOptions { Access = access });

    /// <summary>Opens an image, detecting its format from its content.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="options">Access, logger, and the parent to use for a differencing image.</param>
    /// <exception cref="ArgumentException"><see cref="DiskOpenOptions.ParentPath"/> is given but the image is not a differencing image.</exception>
    public static VirtualDisk Open(string path, DiskOpenOptions options)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }
        if (options.AllowMissingParent && options.Access != DiskAccess.ReadOnly)
        {
            throw new ArgumentException("An image whose parent may be missing can only be opened read-only.", nameof(options));
        }
        string fullPath = Path.GetFullPath(path);
        if (options.ParentPath is not null && options.Access != DiskAccess.ReadOnly)
        {
            // A writable open may write before it returns (a VHDX log replayed on disk, an unfinished journal
            // completed): the parent named is checked on a read-only open first, so that its refusal writes nothing.
            using VirtualDisk probe = Open(fullPath, DiskAccess.ReadOnly, NewContext(options));
            RefuseParentOfImageWithoutOne(probe, options);
        }
        VirtualDisk disk = Open(fullPath, options.Access, NewContext(options));
        try
        {
            RefuseParentOfImageWithoutOne(disk, options);
        }
        catch
        {
            disk.Dispose();
            throw;
        }
        return disk;
    }

    private static OpenContext NewContext(DiskOpenOptions options) => new(options.Logger)
    {
        ParentOverride = options.ParentPath is null ? null : Path.GetFullPath(options.ParentPath),
        AllowMissingParent = options.AllowMissingParent,
    };

    /// <summary>
    /// A parent named for an image that has none would otherwise be ignored without a word: the caller meant another
    /// image, or thinks this one is a child when it is not.
    /// </summary>
    private static void RefuseParentOfImageWithoutOne(VirtualDisk disk, DiskOpenOptions options)
    {
        if (options.ParentPath is not null && disk.Parent is null && disk.MissingParentPath is null)
        {
            throw new ArgumentException(
                $"{disk.FilePath} is a {disk.Format.ToString().ToLowerInvariant()} image with no parent (not a differencing image); the parent {options.ParentPath} given for it would be ignored",
                nameof(options));
        }
    }

    /// <summary>
    /// The virtual size a new VHD asked to hold <paramref name="requestedBytes"/> gets without
    /// <see cref="DiskCreateOptions.ExactCapacity"/>: rounded up to the first whole CHS geometry (as `qemu-img create -f vpc`
    /// does) below the largest geometry, to whole sectors above it. When it differs from a size of whole sectors, a VHD
    /// that keeps that size exactly records the maximum geometry, which Hyper-V and qemu take to mean "use current size".
    /// </summary>
    /// <param name="requestedBytes">The size asked for, in bytes.</param>
    public static long RoundedVhdCapacity(long requestedBytes) =>
        requestedBytes > 0 ? VhdGeometry.ForNewDisk(requestedBytes).SizeBytes : throw new ArgumentOutOfRangeException(nameof(requestedBytes), "The size must be positive.");

    /// <summary>
    /// Finishes or discards the write journal a stopped in-place write left beside <paramref name="path"/>
    /// (<see cref="DiskWriteTransaction"/>), as every read-write open does first, and says which it was. The image is
    /// held exclusively meanwhile; it is not otherwise opened.
    /// </summary>
    /// <exception cref="CorruptDataException">The journal does not belong to the image; nothing was written.</exception>
    /// <exception cref="UnsafeToWriteException">Another process holds the image.</exception>
    public static JournalRecovery Recover(string path, ILogger? logger = null)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"The image '{full}' does not exist.", full);
        }
        return Journal.ImageJournal.RecoverBeside(full, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    }

    /// <summary>Detects the format of an image file from its content.</summary>
    public static DiskFormat Detect(string path)
    {
        using FileStream file = ImageFile.Open(path, DiskAccess.ReadOnly);
        return Detect(file);
    }

    /// <summary>
    /// Detects the format of an image from its content: an explicit, ordered list of signatures.
    /// Anything without a known signature is raw.
    /// </summary>
    public static DiskFormat Detect(Stream image)
    {
        if (image is null)
        {
            throw new ArgumentNullException(nameof(image));
        }
        Span<byte> head = stackalloc byte[512];
        int n = image.ReadAtMost(0, head);
        head = head.Slice(0, n);
        if (StartsWith(head, "vhdxfile"))
        {
            return DiskFormat.Vhdx;
        }
        if (StartsWith(head, "QFI\xfb"))
        {
            return DiskFormat.Qcow2;
        }
        if (StartsWith(head, "KDMV") || StartsWith(head, "COWD") || StartsWith(head, "# Disk DescriptorFile"))
        {
            return DiskFormat.Vmdk;
        }
        if (image.Length >= 512)
        {
            Span<byte> tail = stackalloc byte[512];
            // A VHD ends with its footer; dynamic VHDs also start with a copy of it. Some old tools wrote a 511-byte footer.
            if ((image.ReadAtMost(image.Length - 512, tail) == 512 && StartsWith(tail, "conectix"))
                || (image.ReadAtMost(image.Length - 511, tail.Slice(0, 511)) == 511 && StartsWith(tail, "conectix"))
                || StartsWith(head, "conectix"))
            {
                return DiskFormat.Vhd;
            }
        }
        return DiskFormat.Raw;
    }

    /// <summary>Creates a new image; fails if the file exists. The returned disk is open for writing.</summary>
    public static VirtualDisk Create(string path, DiskCreateOptions options)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }
        path = Path.GetFullPath(path);
        return options.Format switch
        {
            DiskFormat.Raw when options.ParentPath is null => RawDisk.Create(path, options),
            DiskFormat.Raw => throw new ArgumentException("Raw images cannot have a parent.", nameof(options)),
            DiskFormat.Vhd => VhdDisk.Create(path, options),
            DiskFormat.Vhdx => VhdxCreator.Create(path, options),
            DiskFormat.Vmdk => VmdkCreator.Create(path, options),
            DiskFormat.Qcow2 => Qcow2Disk.Create(path, options),
            _ => throw new NotSupportedException($"Creating {options.Format} images is not supported yet."),
        };
    }

    /// <summary>
    /// Creates a differencing image at <paramref name="childPath"/> over the existing image <paramref name="parentPath"/>,
    /// in the format that fits the parent (<see cref="DifferencingFormatFor"/>): every later write goes to the child and
    /// the parent is never opened for writing. <paramref name="options"/> supplies the clock, identifiers, logger and
    /// block size; its <see cref="DiskCreateOptions.Format"/>, <see cref="DiskCreateOptions.ParentPath"/> and
    /// <see cref="DiskCreateOptions.Capacity"/> are ignored. Fails if <paramref name="childPath"/> exists. The returned
    /// disk is open for writing.
    /// </summary>
    public static VirtualDisk CreateDifferencing(string childPath, string parentPath, DiskCreateOptions? options = null)
    {
        if (childPath is null)
        {
            throw new ArgumentNullException(nameof(childPath));
        }
        if (parentPath is null)
        {
            throw new ArgumentNullException(nameof(parentPath));
        }
        DiskFormat parentFormat = Detect(Path.GetFullPath(parentPath));
        DiskCreateOptions o = (options ?? new DiskCreateOptions()).Clone();
        o.Format = DifferencingFormatFor(parentFormat);
        o.ParentPath = Path.GetFullPath(parentPath);
        o.Capacity = 0;
        o.Fixed = false;
        o.Variant = null;
        o.Logger.LogInformation("Creating {Format} differencing image {ImagePath} over {ParentFormat} parent {ParentPath}", o.Format, childPath, parentFormat, o.ParentPath);
        return Create(childPath, o);
    }

    /// <summary>
    /// The container a differencing child of a <paramref name="parentFormat"/> image is made in: a VHDX child for VHDX,
    /// a VHD child for VHD, and a QCOW2 overlay (naming its backing format) for QCOW2, raw and VMDK parents — qemu,
    /// libvirt and Hyper-V all open these.
    /// </summary>
    public static DiskFormat DifferencingFormatFor(DiskFormat parentFormat) => parentFormat switch
    {
        DiskFormat.Vhdx => DiskFormat.Vhdx,
        DiskFormat.Vhd => DiskFormat.Vhd,
        DiskFormat.Qcow2 or DiskFormat.Raw or DiskFormat.Vmdk => DiskFormat.Qcow2,
        _ => throw new UnsupportedFormatException($"No differencing image can be made over a {parentFormat} image", null),
    };

    internal static VirtualDisk Open(string fullPath, DiskAccess access, OpenContext context)
    {
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"The image '{fullPath}' does not exist.", fullPath);
        }
        // A write that stopped is finished (or, stopped before its commit point, discarded) before anything is read; a
        // read-only open writes nothing and reads a committed one's write applied in memory instead.
        Journal.CommittedJournal? committed = null;
        if (access == DiskAccess.ReadWrite)
        {
            Journal.ImageJournal.RecoverBeside(fullPath, context.Logger);
        }
        else
        {
            committed = Journal.ImageJournal.ReadBeside(fullPath, context.Logger);
        }
        VirtualDisk disk;
        using (ImageFile.ReadingThrough(committed))
        {
            DiskFormat format;
            using (FileStream probe = ImageFile.Open(fullPath, DiskAccess.ReadOnly))
            {
                format = Detect(probe);
            }
            context.Logger.LogDebug("Opening {ImagePath} as {Format} ({Access})", fullPath, format, access);
            disk = format switch
            {
                DiskFormat.Raw => RawDisk.Open(fullPath, access),
                DiskFormat.Vhd => VhdDisk.Open(fullPath, access, context),
                DiskFormat.Vhdx => VhdxDisk.Open(fullPath, access, context),
                DiskFormat.Vmdk => VmdkDisk.Open(fullPath, access, context),
                DiskFormat.Qcow2 => Qcow2Disk.Open(fullPath, access, context),
                _ => throw new UnsupportedFormatException($"{format} images are recognised but not supported yet", fullPath),
            };
        }
        disk.Logger = context.Logger;
        disk.JournalReplayedInMemory = committed is not null;
        return disk;
    }

    /// <summary>
    /// Opens the parent of a differencing disk, read-only: the first of <paramref name="candidates"/> that exists
    /// (absolute paths as given, relative ones against the child's folder). Detects loops and over-deep chains.
    /// </summary>
    internal static VirtualDisk OpenParent(string childPath, IEnumerable<string> candidates, OpenContext context)
    {
        var tried = new List<string>();
        return TryOpenParent(childPath, candidates, context, tried) ?? throw new ParentChainException(
            tried.Count == 0
                ? "The differencing image names no parent path"
                : $"The parent image was not found; tried: {string.Join(", ", tried)}",
            childPath);
    }

    /// <summary>As <see cref="OpenParent"/>, but null when none of the candidates exists (the paths looked at are
    /// added to <paramref name="tried"/>); loops, over-deep chains and unreadable parents still throw.</summary>
    internal static VirtualDisk? TryOpenParent(string childPath, IEnumerable<string> candidates, OpenContext context, List<string> tried)
    {
        string childDir = Path.GetDirectoryName(childPath) ?? ".";
        if (context.ParentOverride is { } moved)
        {
            // The caller named the parent (DiskOpenOptions.ParentPath): the stored paths are not tried.
            candidates = new[] { moved };
        }
        foreach (string raw in candidates)
        {
            // A blank locator, or one holding a NUL (no file system allows it in a name), can name no parent.
            if (string.IsNullOrWhiteSpace(raw) || raw.IndexOf('\0') >= 0)
            {
                continue;
            }
            string candidate = ParentPaths.Resolve(raw, childDir);
            // Formats store the same parent several ways (absolute, relative, Windows and POSIX): name each path once.
            if (tried.Contains(candidate, StringComparer.Ordinal))
            {
                continue;
            }
            tried.Add(candidate);
            if (!File.Exists(candidate))
            {
                continue;
            }
            OpenContext inner = context.Enter(childPath, candidate);
            context.Logger.LogDebug("Parent of {ImagePath} is {ParentPath}", childPath, candidate);
            return Open(candidate, DiskAccess.ReadOnly, inner);
        }
        return null;
    }

    private static bool StartsWith(ReadOnlySpan<byte> data, string ascii)
    {
        if (data.Length < ascii.Length)
        {
            return false;
        }
        for (int i = 0; i < ascii.Length; i++)
        {
            if (data[i] != (byte)ascii[i])
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>State carried while a chain of images is opened: the logger and the files already on the chain.</summary>
internal sealed class OpenContext
{
    private readonly HashSet<string> _onChain;

    public OpenContext(ILogger logger)
        : this(logger, new HashSet<string>(StringComparer.Ordinal))
    {
    }

    private OpenContext(ILogger logger, HashSet<string> onChain)
    {
        Logger = logger;
        _onChain = onChain;
    }

    public ILogger Logger { get; }

    /// <summary>The parent the caller named for the image being opened (not for its ancestors), as a full path.</summary>
    public string? ParentOverride { get; init; }

    /// <summary>The caller asked to report the opened image even when its parent is missing (<see cref="DiskOpenOptions.AllowMissingParent"/>).</summary>
    public bool AllowMissingParent { get; init; }

    /// <summary>The context for opening <paramref name="parentPath"/> as the parent of <paramref name="childPath"/>.</summary>
    public OpenContext Enter(string childPath, string parentPath)
    {
        var next = new HashSet<string>(_onChain, StringComparer.Ordinal) { Path.GetFullPath(childPath) };
        string parent = Path.GetFullPath(parentPath);
        if (next.Contains(parent))
        {
            throw new ParentChainException($"The parent chain loops: '{parent}' is its own ancestor", childPath);
        }
        if (next.Count >= DiskImage.MaxChainDepth)
        {
            throw new ParentChainException($"The parent chain is deeper than {DiskImage.MaxChainDepth} images", childPath);
        }
        return new OpenContext(Logger, next);
    }
}

/// <summary>Turns the parent paths stored in images (Windows absolute, Windows relative, POSIX) into host paths.</summary>
internal static class ParentPaths
{
    /// <summary>Resolves a stored parent path against the child's folder, accepting '\' separators and ".\" prefixes.</summary>
    public static string Resolve(string stored, string childDirectory)
    {
        string p = stored.Trim('\0', ' ');
        bool windowsAbsolute = p.Length >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/');
        if (Path.DirectorySeparatorChar == '/')
        {
            p = p.Replace('\\', '/');
        }
        if (windowsAbsolute && Path.DirectorySeparatorChar == '/')
        {
            // A drive-letter path cannot exist here; try the file name beside the child as Windows itself would not,
            // but qemu and Hyper-V both record a relative path too, which callers try first.
            return Path.Combine(childDirectory, Path.GetFileName(p));
        }
        return Path.IsPathRooted(p) ? Path.GetFullPath(p) : Path.GetFullPath(Path.Combine(childDirectory, p));
    }

    /// <summary>The path of <paramref name="target"/> relative to the folder of <paramref name="fromFile"/>, Windows style (".\name").</summary>
    public static string RelativeWindowsPath(string fromFile, string target)
    {
        string fromDir = Path.GetDirectoryName(Path.GetFullPath(fromFile)) ?? ".";
        string rel = MakeRelative(fromDir, Path.GetFullPath(target));
        rel = rel.Replace('/', '\\');
        return rel.StartsWith("..", StringComparison.Ordinal) ? rel : ".\\" + rel;
    }

    /// <summary>A relative path from a folder to a file, on netstandard2.0 as well.</summary>
    public static string MakeRelative(string fromDirectory, string toPath)
    {
#if NET
        return Path.GetRelativePath(fromDirectory, toPath);
#else
        var from = new Uri(AppendSeparator(fromDirectory));
        var to = new Uri(toPath);
        return Uri.UnescapeDataString(from.MakeRelativeUri(to).ToString()).Replace('/', Path.DirectorySeparatorChar);
#endif
    }

#if !NET
    private static string AppendSeparator(string dir) =>
        dir.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? dir : dir + Path.DirectorySeparatorChar;
#endif

    /// <summary>A Windows-style absolute path for a host path (drive letter paths pass through; POSIX paths keep '/').</summary>
    public static string AbsolutePath(string path) => Path.GetFullPath(path);

    internal static string Utf16(ReadOnlySpan<byte> bytes, bool bigEndian)
    {
        Encoding e = bigEndian ? Encoding.BigEndianUnicode : Encoding.Unicode;
        return e.GetString(bytes.ToArray()).TrimEnd('\0');
    }
}
