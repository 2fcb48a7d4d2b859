using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Shared;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>
/// A VMware VMDK image: a text descriptor (embedded in a monolithic sparse file or in its own small file) naming
/// extents — hosted sparse, streamOptimized, flat or zero — and, for a delta link, a parent found through
/// <c>parentFileNameHint</c> and checked through the parent's content ID.
/// </summary>
public sealed class VmdkDisk : VirtualDisk
{
    private readonly List<IDisposable> _files;
    private readonly List<VmdkExtent> _extents;
    private string? _damage;
    private bool _damageChecked;
    private readonly VmdkContent _content;
    private readonly VirtualDisk? _parent;

    private VmdkDisk(string path, DiskAccess access, VmdkDescriptor descriptor, List<VmdkExtent> extents, List<IDisposable> files, VirtualDisk? parent)
        : base(path, access)
    {
        Descriptor = descriptor;
        _extents = extents;
        _files = files;
        _parent = parent;
        _content = new VmdkContent(extents, access == DiskAccess.ReadWrite);
    }

    /// <inheritdoc/>
    public override DiskFormat Format => DiskFormat.Vmdk;

    /// <summary>The descriptor file and every extent file it names.</summary>
    internal override IReadOnlyList<string> ImageFiles =>
        base.ImageFiles.Concat(_files.OfType<FileStream>().Select(ImageFile.PathOf)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The descriptor's createType, as VMware spells it: "monolithicSparse", "streamOptimized", "twoGbMaxExtentFlat", …</summary>
    public override string Subformat => Descriptor.CreateType;

    /// <inheritdoc/>
    public override SparseStream Content => _content;

    /// <inheritdoc/>
    public override VirtualDisk? Parent => _parent;

    /// <inheritdoc/>
    public override long StoredBytes
    {
        get
        {
            long total = 0;
            foreach (VmdkExtent e in _extents)
            {
                total += e.StoredBytes;
            }
            return total;
        }
    }

    /// <inheritdoc/>
    public override string? Damage
    {
        get
        {
            if (!_damageChecked)
            {
                _damage = _extents.Select(e => e.FindTruncation()).FirstOrDefault(d => d is not null)?.Message;
                _damageChecked = true;
            }
            return _damage;
        }
    }

    private string? MissingParent { get; init; }

    /// <inheritdoc/>
    public override string? MissingParentPath => MissingParent;

    /// <summary>The descriptor's ddb.adapterType ("ide", "lsilogic", "buslogic", "pvscsi", …), or null.</summary>
    public string? AdapterType => Descriptor.AdapterType;

    internal VmdkDescriptor Descriptor { get; }

    internal uint Cid => Descriptor.Cid;

    internal IReadOnlyList<VmdkExtent> Extents => _extents;

    /// <inheritdoc/>
    public override void Flush()
    {
        ThrowIfDisposed();
        _content.Flush();
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                if (Access == DiskAccess.ReadWrite)
                {
                    _content.Flush();
                }
            }
            finally
            {
                _content.Dispose();
                foreach (VmdkExtent e in _extents)
                {
                    e.Dispose();
                }
                foreach (IDisposable f in _files)
                {
                    f.Dispose();
                }
            }
        }
        base.Dispose(disposing);
    }

    internal static VmdkDisk Open(string path, DiskAccess access, OpenContext context)
    {
        var files = new List<IDisposable>();
        var extents = new List<VmdkExtent>();
        VirtualDisk? parent = null;
        try
        {
            FileStream first = ImageFile.Open(path, access);
            files.Add(first);
            Span<byte> head = stackalloc byte[4];
            int n = first.ReadAtMost(0, head);
            if (n == 4 && SparseExtentHeader.HasMagic(head))
            {
                SparseExtentHeader header = SparseExtent.ReadHeader(first, path);
                VmdkDescriptor descriptor = ReadEmbeddedDescriptor(first, path, header);
                if (descriptor.Extents.Count != 1 || descriptor.Extents[0].Type != "SPARSE")
                {
                    throw new UnsupportedFormatException($"The descriptor embedded in a sparse VMDK lists {descriptor.Extents.Count} extents; only one SPARSE extent (the file itself) is supported there", path);
                }
                parent = OpenParent(path, descriptor, access, context, out string? missing);
                var backing = new VmdkBacking(parent?.Content);
                DescriptorExtent only = descriptor.Extents[0];
                extents.Add(SparseExtent.Open(0, only.Sectors * 512, first, path, header, backing, Writable(only, access), ownsFile: false));
                return new VmdkDisk(path, access, descriptor, extents, files, parent) { MissingParent = missing };
            }
            if (n == 4 && head[0] == (byte)'C' && head[1] == (byte)'O' && head[2] == (byte)'W' && head[3] == (byte)'D')
            {
                throw new UnsupportedFormatException("VMDK \"COWD\" (ESX vmfsSparse / legacy hosted) extents are not supported", path);
            }
            VmdkDescriptor text = ReadDescriptorFile(first, path);
            parent = OpenParent(path, text, access, context, out string? missingParent);
            OpenExtents(path, access, text, new VmdkBacking(parent?.Content), extents, files);
            return new VmdkDisk(path, access, text, extents, files, parent) { MissingParent = missingParent };
        }
        catch
        {
            foreach (VmdkExtent e in extents)
            {
                e.Dispose();
            }
            foreach (IDisposable f in files)
            {
                f.Dispose();
            }
            parent?.Dispose();
            throw;
        }
    }

    /// <summary>Wraps the extents of a newly created image (used by <see cref="VmdkCreator"/>).</summary>
    internal static VmdkDisk FromCreated(string path, VmdkDescriptor descriptor, List<VmdkExtent> extents, List<IDisposable> files) =>
        new(path, DiskAccess.ReadWrite, descriptor, extents, files, null);

    private static bool Writable(DescriptorExtent e, DiskAccess access) =>
        access == DiskAccess.ReadWrite && e.Access == ExtentAccess.ReadWrite;

    private static VmdkDescriptor ReadEmbeddedDescriptor(FileStream file, string path, SparseExtentHeader header)
    {
        if (header.DescriptorOffset == 0 || header.DescriptorSize == 0)
        {
            // A bare sparse extent (such as one "-s001" file of a split image) opened directly: qemu reads it as a
            // monolithicSparse disk of the header's capacity, and so do we.
            var bare = new VmdkDescriptor { CreateType = "monolithicSparse" };
            bare.Extents.Add(new DescriptorExtent(ExtentAccess.ReadWrite, (long)header.Capacity, "SPARSE", Path.GetFileName(path), 0, 0));
            return bare;
        }
        ulong maxSectors = VmdkDescriptor.MaxSize / 512;
        if (header.DescriptorSize > maxSectors)
        {
            throw new CorruptDataException("VMDK", "embedded descriptor", 36, $"the descriptor size {header.DescriptorSize} sectors exceeds the {maxSectors}-sector limit", path);
        }
        ulong fileSectors = (ulong)file.Length / 512;
        if (header.DescriptorOffset > fileSectors || header.DescriptorOffset + header.DescriptorSize > fileSectors)
        {
            throw new CorruptDataException("VMDK", "embedded descriptor", header.DescriptorOffset > long.MaxValue / 512 ? -1 : (long)header.DescriptorOffset * 512, $"{header.DescriptorSize} sectors at sector {header.DescriptorOffset} lie past the end of the file ({file.Length} bytes)", path);
        }
        byte[] raw = new byte[header.DescriptorSize * 512];
        long at = (long)header.DescriptorOffset * 512;
        ImageFile.ReadExactly(file, at, raw, "VMDK", "embedded descriptor", path);
        int end = Array.IndexOf(raw, (byte)0);
        return VmdkDescriptor.Parse(Encoding.UTF8.GetString(raw, 0, end < 0 ? raw.Length : end), path, at);
    }

    private static VmdkDescriptor ReadDescriptorFile(FileStream file, string path)
    {
        if (file.Length > VmdkDescriptor.MaxSize)
        {
            throw new CorruptDataException("VMDK", "descriptor file", 0, $"the file is {file.Length} bytes; a descriptor is at most {VmdkDescriptor.MaxSize} bytes", path);
        }
        byte[] raw = new byte[file.Length];
        ImageFile.ReadExactly(file, 0, raw, "VMDK", "descriptor file", path);
        int end = Array.IndexOf(raw, (byte)0);
        return VmdkDescriptor.Parse(Encoding.UTF8.GetString(raw, 0, end < 0 ? raw.Length : end), path, 0);
    }

    /// <summary>
    /// The delta's parent, or null for a base disk. <paramref name="missing"/> is the stored parentFileNameHint when the
    /// image is opened for a report (<see cref="DiskOpenOptions.AllowMissingParent"/>) and that parent was not found.
    /// </summary>
    private static VirtualDisk? OpenParent(string path, VmdkDescriptor descriptor, DiskAccess access, OpenContext context, out string? missing)
    {
        missing = null;
        if (string.IsNullOrEmpty(descriptor.ParentFileNameHint))
        {
            if (descriptor.ParentCid != VmdkDescriptor.NoParent)
            {
                throw new ParentChainException($"The VMDK names parent CID {descriptor.ParentCid:x8} but no parentFileNameHint to find the parent by", path);
            }
            return null;
        }
        string[] candidates = { descriptor.ParentFileNameHint! };
        VirtualDisk? found;
        if (context.AllowMissingParent && access == DiskAccess.ReadOnly)
        {
            // Reporting only: a missing parent leaves the delta without one (qemu-img info does the same).
            var tried = new List<string>();
            found = DiskImage.TryOpenParent(path, candidates, context, tried);
            if (found is null)
            {
                missing = descriptor.ParentFileNameHint!;
                context.Logger.LogWarning("The parent '{ParentPath}' of {ImagePath} was not found (tried: {Tried}); the image is reported without it",
                    missing, path, string.Join(", ", tried));
                return null;
            }
        }
        else
        {
            found = DiskImage.OpenParent(path, candidates, context);
        }
        VirtualDisk parent = found;
        if (parent is VmdkDisk vmdkParent && descriptor.ParentCid != VmdkDescriptor.NoParent && vmdkParent.Cid != descriptor.ParentCid)
        {
            string parentPath = parent.FilePath ?? "?";
            parent.Dispose();
            throw new ParentChainException(string.Format(CultureInfo.InvariantCulture, "The parent '{0}' has content ID {1:x8}, but this delta expects parentCID {2:x8}: the parent was modified after the delta was made", parentPath, vmdkParent.Cid, descriptor.ParentCid), path);
        }
        return parent;
    }

    private static void OpenExtents(string descriptorPath, DiskAccess access, VmdkDescriptor descriptor, VmdkBacking backing, List<VmdkExtent> extents, List<IDisposable> files)
    {
        string folder = Path.GetDirectoryName(descriptorPath) ?? ".";
        var open = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        long start = 0;
        foreach (DescriptorExtent e in descriptor.Extents)
        {
            long length = e.Sectors * 512;
            if (e.Access == ExtentAccess.NoAccess)
            {
                throw new UnsupportedFormatException($"VMDK extent on descriptor line {e.LineNumber} is NOACCESS", descriptorPath);
            }
            switch (e.Type)
            {
                case "ZERO":
                    extents.Add(new ZeroExtent(start, length));
                    break;
                case "FLAT":
                case "VMFS":
                    extents.Add(new FlatExtent(start, length, OpenExtentFile(e, folder, descriptorPath, access, open, files), e.Offset * 512, Writable(e, access)));
                    break;
                case "SPARSE":
                {
                    FileStream file = OpenExtentFile(e, folder, descriptorPath, access, open, files);
                    string extentPath = file.Name;
                    SparseExtentHeader header = SparseExtent.ReadHeader(file, extentPath);
                    extents.Add(SparseExtent.Open(start, length, file, extentPath, header, backing, Writable(e, access), ownsFile: false));
                    break;
                }
                default:
                    throw new UnsupportedFormatException($"VMDK extent type {e.Type} (descriptor line {e.LineNumber}) is not supported; supported are SPARSE, FLAT, VMFS and ZERO", descriptorPath);
            }
            start += length;
        }
    }

    /// <summary>Opens an extent's file beside the descriptor. A missing file is a <see cref="CorruptDataException"/> naming
    /// the descriptor and its line (like any other unusable image, one of our types; the inner exception is the
    /// <see cref="FileNotFoundException"/>).</summary>
    private static FileStream OpenExtentFile(DescriptorExtent e, string folder, string descriptorPath, DiskAccess access, Dictionary<string, FileStream> open, List<IDisposable> files)
    {
        string full = ParentPaths.Resolve(e.FileName!, folder);
        if (open.TryGetValue(full, out FileStream? existing))
        {
            return existing;
        }
        if (string.Equals(full, Path.GetFullPath(descriptorPath), StringComparison.Ordinal))
        {
            throw new CorruptDataException("VMDK", $"descriptor line {e.LineNumber}", -1, "the extent names the descriptor file itself", descriptorPath);
        }
        if (!File.Exists(full))
        {
            throw new CorruptDataException("VMDK", $"descriptor line {e.LineNumber} (extent)", -1, $"the extent file '{full}' it names does not exist", descriptorPath,
                new FileNotFoundException($"The VMDK extent file '{full}' does not exist.", full));
        }
        FileStream file = ImageFile.Open(full, access == DiskAccess.ReadWrite && e.Access == ExtentAccess.ReadWrite ? DiskAccess.ReadWrite : DiskAccess.ReadOnly);
        files.Add(file);
        open[full] = file;
        return file;
    }
}
