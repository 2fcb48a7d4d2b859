using System;
using System.IO;
using System.Text;
using IscsiConvert.Shared;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage.Vhd;

/// <summary>
/// Lays out a new VHD file. Dynamic and differencing disks get: footer copy (sector 0), dynamic header (sectors
/// 1–2), the BAT (all unallocated, padded to whole sectors), for differencing disks the two parent paths, then the
/// footer. Blocks are appended later, where the footer is.
/// </summary>
internal static class VhdCreator
{
    /// <summary>Our creator application code. Readers that do not know it (qemu) size the disk by its geometry, so
    /// <see cref="VhdGeometry.ForNewDisk"/> keeps geometry and "current size" equal, and an exact size that no geometry
    /// describes gets the maximum geometry (<see cref="VhdGeometry.ForExactSize"/>), which means "use current size".</summary>
    public static readonly uint CreatorApplication = VhdFields.FourCC("iscv");

    /// <summary>Version 1.0 of our VHD writer (major in the high 16 bits).</summary>
    public const uint CreatorVersion = 0x00010000;

    private const long HeaderOffset = VhdFooter.Size;
    private const long TableOffset = HeaderOffset + VhdDynamicHeader.Size;

    /// <summary>Creates the file and writes the empty image; the stream is returned open for writing.</summary>
    public static FileStream Write(string path, DiskCreateOptions options, VhdDisk? parent)
    {
        if (options.LogicalSectorSize != 512)
        {
            throw new ArgumentException("VHD disks have 512-byte sectors.", nameof(options));
        }
        uint blockSize = options.BlockSize == 0 ? VhdDynamicHeader.DefaultBlockSize : CheckBlockSize(options.BlockSize);
        if (options.Fixed && parent is not null)
        {
            throw new ArgumentException("A differencing disk cannot be fixed.", nameof(options));
        }

        var footer = new VhdFooter
        {
            Timestamp = VhdFields.ToTimestamp(options.TimeProvider.GetUtcNow()),
            CreatorApplication = CreatorApplication,
            CreatorVersion = CreatorVersion,
            UniqueId = options.NewIdentifier(),
        };
        long size;
        if (parent is not null)
        {
            size = parent.Capacity;
            footer.Geometry = VhdGeometry.ForExactSize(size);
            footer.DiskType = VhdDiskType.Differencing;
        }
        else
        {
            if (options.Capacity <= 0)
            {
                throw new ArgumentException("The capacity must be positive.", nameof(options));
            }
            if (options.ExactCapacity && options.Capacity % 512 == 0)
            {
                // Rounding up to a whole geometry would move the end of the disk (and a GPT's backup header with it).
                size = options.Capacity;
                footer.Geometry = VhdGeometry.ForExactSize(size);
            }
            else
            {
                (VhdGeometry geometry, long rounded) = VhdGeometry.ForNewDisk(options.Capacity);
                size = rounded;
                footer.Geometry = geometry;
            }
            footer.DiskType = options.Fixed ? VhdDiskType.Fixed : VhdDiskType.Dynamic;
        }
        if (!options.Fixed && size > VhdMetadata.MaxDynamicSize)
        {
            throw new ArgumentException($"A dynamic VHD holds at most {VhdMetadata.MaxDynamicSize} bytes; {size} were asked for (use VHDX).", nameof(options));
        }
        footer.OriginalSize = (ulong)size;
        footer.CurrentSize = (ulong)size;
        options.Logger.LogDebug("Creating VHD {ImagePath}: {Type}, {Size} bytes, geometry {Geometry}", path, footer.DiskType, size, footer.Geometry);

        FileStream file = ImageFile.CreateNew(path);
        try
        {
            byte[] footerBytes = new byte[VhdFooter.Size];
            if (options.Fixed)
            {
                footer.DataOffset = VhdFooter.NoDataOffset;
                footer.WriteTo(footerBytes);
                file.SetLength(size + VhdFooter.Size); // the data reads as zeros (and stays sparse where the file system allows)
                file.WriteAt(size, footerBytes);
            }
            else
            {
                WriteDynamic(file, path, footer, footerBytes, size, blockSize, parent);
            }
            file.Flush(flushToDisk: true);
            return file;
        }
        catch
        {
            file.Dispose();
            ImageFile.TryDelete(path);
            throw;
        }
    }

    private static void WriteDynamic(FileStream file, string path, VhdFooter footer, byte[] footerBytes, long size, uint blockSize, VhdDisk? parent)
    {
        long entries = (size + blockSize - 1) / blockSize;
        long tableBytes = (entries * 4 + 511) / 512 * 512;
        var header = new VhdDynamicHeader
        {
            TableOffset = TableOffset,
            MaxTableEntries = (uint)entries,
            BlockSize = blockSize,
        };
        long end = TableOffset + tableBytes;
        byte[]? absolute = null;
        byte[]? relative = null;
        if (parent is not null)
        {
            string parentPath = Path.GetFullPath(parent.FilePath!);
            header.ParentUniqueId = parent.Metadata.Footer.UniqueId;
            header.ParentTimestamp = parent.Metadata.Footer.Timestamp;
            header.ParentName = ParentName(parentPath);
            absolute = Encoding.Unicode.GetBytes(ParentPaths.AbsolutePath(parentPath));
            relative = Encoding.Unicode.GetBytes(ParentPaths.RelativeWindowsPath(path, parentPath));
            header.Locators[0] = Locator(VhdParentLocator.W2ku, absolute, ref end);
            header.Locators[1] = Locator(VhdParentLocator.W2ru, relative, ref end);
        }

        footer.DataOffset = (ulong)HeaderOffset;
        footer.WriteTo(footerBytes);
        byte[] headerBytes = new byte[VhdDynamicHeader.Size];
        header.WriteTo(headerBytes);
        byte[] table = new byte[tableBytes];
        table.AsSpan().Fill(0xFF);

        file.WriteAt(0, footerBytes);
        file.WriteAt(HeaderOffset, headerBytes);
        file.WriteAt(TableOffset, table);
        if (absolute is not null && relative is not null)
        {
            file.WriteAt((long)header.Locators[0].DataOffset, absolute);
            file.WriteAt((long)header.Locators[1].DataOffset, relative);
        }
        file.SetLength(end); // zero padding after the last path
        file.WriteAt(end, footerBytes);
    }

    /// <summary>
    /// A locator for <paramref name="data"/> placed at <paramref name="end"/>, which moves past it (whole sectors).
    /// "Data space" is written in bytes, as Windows writes it (the spec says sectors; readers use the length).
    /// </summary>
    private static VhdParentLocator Locator(uint code, byte[] data, ref long end)
    {
        long space = Math.Max(512, (data.Length + 511L) / 512 * 512);
        var locator = new VhdParentLocator(code, (uint)space, (uint)data.Length, (ulong)end);
        end += space;
        return locator;
    }

    /// <summary>The parent's full path as Windows writes it, or only its file name when the path does not fit the 256-character field.</summary>
    private static string ParentName(string fullPath)
    {
        const int maxChars = VhdDynamicHeader.ParentNameBytes / 2;
        if (fullPath.Length <= maxChars)
        {
            return fullPath;
        }
        string name = Path.GetFileName(fullPath);
        return name.Length <= maxChars ? name : name.Substring(0, maxChars);
    }

    private static uint CheckBlockSize(long blockSize)
    {
        if (blockSize < 512 || blockSize > VhdDynamicHeader.MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ArgumentException($"A VHD block size must be a power of two from 512 bytes to {VhdDynamicHeader.MaxBlockSize} bytes.", nameof(blockSize));
        }
        return (uint)blockSize;
    }
}
