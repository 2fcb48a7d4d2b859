using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage.Vhd;

/// <summary>
/// A VHD (Virtual PC / Hyper-V generation 1) image: fixed, dynamic or differencing.
/// Open it through <see cref="DiskImage"/>; create one with <see cref="DiskImage.Create(string, DiskCreateOptions)"/>.
/// </summary>
internal sealed class VhdDisk : VirtualDisk
{
    private readonly FileStream _file;
    private readonly SparseStream _content;
    private readonly VirtualDisk? _parent;

    private VhdDisk(FileStream file, string path, DiskAccess access, VhdMetadata metadata, VirtualDisk? parent)
        : base(path, access)
    {
        _file = file;
        Metadata = metadata;
        _parent = parent;
        bool writable = access == DiskAccess.ReadWrite;
        _content = metadata.DiskType == VhdDiskType.Fixed
            ? new FileRegionStream(file, metadata.VirtualSize, writable)
            : new VhdSparseStream(file, path, metadata, parent?.Content, writable);
    }

    /// <inheritdoc/>
    public override DiskFormat Format => DiskFormat.Vhd;

    /// <inheritdoc/>
    public override string Subformat => Metadata.DiskType switch
    {
        VhdDiskType.Fixed => "fixed",
        VhdDiskType.Dynamic => "dynamic",
        _ => "differencing",
    };

    /// <inheritdoc/>
    public override SparseStream Content => _content;

    /// <inheritdoc/>
    public override VirtualDisk? Parent => _parent;

    private string? MissingParent { get; init; }

    /// <inheritdoc/>
    public override string? MissingParentPath => MissingParent;

    /// <summary>Fixed disks store every byte; dynamic and differencing ones the bytes of their allocated blocks.</summary>
    public override long StoredBytes => _content is VhdSparseStream sparse ? sparse.AllocatedBytes : _content.Length;

    /// <summary>The parsed footer, header and BAT (for tests and diagnostics).</summary>
    internal VhdMetadata Metadata { get; }

    internal static VhdDisk Open(string path, DiskAccess access, OpenContext context)
    {
        FileStream file = ImageFile.Open(path, access);
        VirtualDisk? parent = null;
        try
        {
            VhdMetadata metadata = VhdMetadata.Read(file, path);
            string? missingParent = null;
            if (metadata.DiskType == VhdDiskType.Differencing && context.AllowMissingParent && access == DiskAccess.ReadOnly)
            {
                // Reporting only: a parent that cannot be found leaves the child without one (reads of its blocks are zeros).
                VirtualDisk? found = DiskImage.TryOpenParent(path, metadata.ParentCandidates, context, new List<string>());
                if (found is null)
                {
                    // The header's parent name, as libvhdi's vhdiinfo shows it; the locators when it is blank.
                    string name = metadata.Header!.ParentName;
                    missingParent = !string.IsNullOrWhiteSpace(name) ? name
                        : metadata.ParentCandidates.FirstOrDefault(p => !string.IsNullOrWhiteSpace(p)) ?? string.Empty;
                    context.Logger.LogWarning("The parent '{ParentPath}' of {ImagePath} was not found; the image is reported without it", missingParent, path);
                }
                else
                {
                    parent = CheckParent(path, metadata, found);
                }
            }
            else if (metadata.DiskType == VhdDiskType.Differencing)
            {
                parent = CheckParent(path, metadata, DiskImage.OpenParent(path, metadata.ParentCandidates, context));
            }
            if (metadata.FooterFromCopy)
            {
                context.Logger.LogWarning(
                    "{ImagePath}: the last sector holds no footer (an extension was interrupted); using the copy in sector 0",
                    path);
                if (access == DiskAccess.ReadWrite)
                {
                    // Only once everything else has been found good: a failed open writes nothing.
                    RestoreFooter(file, metadata);
                }
            }
            return new VhdDisk(file, path, access, metadata, parent) { MissingParent = missingParent };
        }
        catch
        {
            parent?.Dispose();
            file.Dispose();
            throw;
        }
    }

    internal static VhdDisk Create(string path, DiskCreateOptions options)
    {
        VirtualDisk? parent = null;
        FileStream? file = null;
        try
        {
            if (options.ParentPath is not null)
            {
                parent = DiskImage.Open(options.ParentPath, DiskAccess.ReadOnly);
            }
            file = VhdCreator.Write(path, options, parent as VhdDisk ?? (parent is null ? null : throw NotVhdParent(parent)));
            VhdMetadata metadata = VhdMetadata.Read(file, path);
            return new VhdDisk(file, path, DiskAccess.ReadWrite, metadata, parent);
        }
        catch
        {
            parent?.Dispose();
            if (file is not null)
            {
                file.Dispose();
                ImageFile.TryDelete(path);
            }
            throw;
        }
    }

    private static ArgumentException NotVhdParent(VirtualDisk parent) =>
        new($"The parent of a VHD differencing disk must be a VHD; '{parent.FilePath}' is {parent.Format}.", nameof(DiskCreateOptions.ParentPath));

    private static VirtualDisk CheckParent(string path, VhdMetadata metadata, VirtualDisk parent)
    {
        Guid expected = metadata.Header!.ParentUniqueId;
        if (parent is not VhdDisk vhd)
        {
            parent.Dispose();
            throw new ParentChainException($"The parent '{parent.FilePath}' is a {parent.Format} image; a VHD differencing disk needs a VHD parent", path);
        }
        Guid actual = vhd.Metadata.Footer.UniqueId;
        if (actual != expected)
        {
            parent.Dispose();
            throw new ParentChainException(
                $"The parent '{parent.FilePath}' has unique id {actual}, but the differencing disk expects {expected} (the parent was replaced or the wrong file was found)",
                path);
        }
        return parent;
    }

    /// <summary>Puts the footer back at the end of a file whose extension was interrupted (writable opens only).</summary>
    private static void RestoreFooter(FileStream file, VhdMetadata metadata)
    {
        byte[] footer = new byte[VhdFooter.Size];
        metadata.Footer.WriteTo(footer);
        Shared.StreamExtensions.WriteAt(file, metadata.FooterOffset, footer);
        file.SetLength(metadata.FooterOffset + VhdFooter.Size);
        file.Flush(flushToDisk: true);
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        ThrowIfDisposed();
        if (Access == DiskAccess.ReadWrite)
        {
            _content.Flush();
            _file.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _content.Dispose();
            _file.Dispose();
        }
        base.Dispose(disposing);
    }
}
