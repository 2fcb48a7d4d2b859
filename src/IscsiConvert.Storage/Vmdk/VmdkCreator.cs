using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>
/// Creates VMDK images: monolithicSparse (the default), monolithicFlat (the default with <see cref="DiskCreateOptions.Fixed"/>),
/// twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized (written front to back, as conversion does) and delta
/// links (a monolithicSparse or twoGbMaxExtentSparse image with a parent).
/// </summary>
internal static class VmdkCreator
{
    public const string MonolithicSparse = "monolithicSparse";
    public const string MonolithicFlat = "monolithicFlat";
    public const string TwoGbSparse = "twoGbMaxExtentSparse";
    public const string TwoGbFlat = "twoGbMaxExtentFlat";
    public const string StreamOptimized = "streamOptimized";

    /// <summary>Split variants cut the disk into files of at most 2 GiB, as VMware and qemu do.</summary>
    private const long SplitSectors = 4194304;

    /// <summary>The default grain: 128 sectors (64 KiB).</summary>
    private const long DefaultGrainBytes = 64 * 1024;

    /// <summary>Sectors reserved for an embedded descriptor (VMware and qemu reserve 20).</summary>
    private const int DescriptorSectors = 20;

    private const int GtesPerGt = 512;

    /// <summary>GTEs are 32-bit sector numbers: a sparse extent file cannot pass 2 TiB.</summary>
    private const long MaxSparseCapacity = 2L << 40;

    private static readonly string[] Variants = { MonolithicSparse, MonolithicFlat, TwoGbSparse, TwoGbFlat, StreamOptimized };

    public static VmdkDisk Create(string path, DiskCreateOptions options)
    {
        string variant = ResolveVariant(options);
        long grainBytes = options.BlockSize == 0 ? DefaultGrainBytes : options.BlockSize;
        if (grainBytes < 512 || grainBytes > (long)SparseExtent.MaxGrainSectors * 512 || (grainBytes & (grainBytes - 1)) != 0)
        {
            throw new ArgumentException("A VMDK grain size must be a power of two from 512 bytes to 32 MiB.", nameof(options));
        }
        if (options.LogicalSectorSize != 512)
        {
            throw new ArgumentException("VMDK images have 512-byte sectors.", nameof(options));
        }

        var descriptor = new VmdkDescriptor { CreateType = variant };
        long capacity;
        if (options.ParentPath is not null)
        {
            if (variant != MonolithicSparse && variant != TwoGbSparse)
            {
                throw new ArgumentException($"A VMDK delta link must be monolithicSparse or twoGbMaxExtentSparse, not {variant}.", nameof(options));
            }
            string parentPath = Path.GetFullPath(options.ParentPath);
            using VirtualDisk parent = DiskImage.Open(parentPath, DiskAccess.ReadOnly);
            if (parent is not VmdkDisk vmdkParent)
            {
                throw new ArgumentException($"The parent of a VMDK delta must be a VMDK image; '{parentPath}' is {parent.Format}.", nameof(options));
            }
            capacity = parent.Capacity;
            descriptor.ParentCid = vmdkParent.Cid;
            descriptor.ParentFileNameHint = ParentPaths.MakeRelative(Path.GetDirectoryName(path) ?? ".", parentPath).Replace('\\', '/');
        }
        else
        {
            if (options.Capacity <= 0)
            {
                throw new ArgumentException("A VMDK image needs a positive capacity.", nameof(options));
            }
            capacity = (options.Capacity + 511) / 512 * 512;
        }
        bool sparse = variant != MonolithicFlat && variant != TwoGbFlat;
        if (sparse && variant != TwoGbSparse && capacity > MaxSparseCapacity)
        {
            throw new ArgumentException($"A {variant} VMDK holds at most 2 TiB; use twoGbMaxExtentSparse or a flat variant.", nameof(options));
        }

        descriptor.Cid = NewCid(options.NewIdentifier());
        long sectors = capacity / 512;
        const long heads = 16;
        const long sectorsPerTrack = 63;
        long cylinders = Math.Min(sectors / (heads * sectorsPerTrack), 16383);
        descriptor.DiskDatabase.Add(new KeyValuePair<string, string>("ddb.virtualHWVersion", "4"));
        descriptor.DiskDatabase.Add(new KeyValuePair<string, string>("ddb.geometry.cylinders", cylinders.ToString(CultureInfo.InvariantCulture)));
        descriptor.DiskDatabase.Add(new KeyValuePair<string, string>("ddb.geometry.heads", heads.ToString(CultureInfo.InvariantCulture)));
        descriptor.DiskDatabase.Add(new KeyValuePair<string, string>("ddb.geometry.sectors", sectorsPerTrack.ToString(CultureInfo.InvariantCulture)));
        descriptor.DiskDatabase.Add(new KeyValuePair<string, string>("ddb.adapterType", "ide"));
        descriptor.DiskDatabase.Add(new KeyValuePair<string, string>("ddb.uuid.image", FormatUuid(options.NewIdentifier())));

        string baseName = ExtentBaseName(path);
        var created = new List<string>();
        try
        {
            switch (variant)
            {
                case MonolithicSparse:
                    descriptor.Extents.Add(new DescriptorExtent(ExtentAccess.ReadWrite, sectors, "SPARSE", FinalFileName(path), 0, 0));
                    using (FileStream file = ImageFile.CreateNew(path))
                    {
                        created.Add(path); // only once it is ours: a file that was there before is never removed
                        WriteSparseExtent(file, sectors, grainBytes / 512, descriptor.ToText());
                    }
                    break;
                case StreamOptimized:
                    descriptor.Extents.Add(new DescriptorExtent(ExtentAccess.ReadWrite, sectors, "SPARSE", FinalFileName(path), 0, 0));
                    return CreateStreamOptimized(path, descriptor, sectors, grainBytes / 512);
                case MonolithicFlat:
                case TwoGbFlat:
                case TwoGbSparse:
                    WriteSplit(path, variant, baseName, descriptor, sectors, grainBytes / 512, created);
                    break;
            }
            return VmdkDisk.Open(path, DiskAccess.ReadWrite, new OpenContext(options.Logger));
        }
        catch
        {
            foreach (string f in created)
            {
                ImageFile.TryDelete(f);
            }
            throw;
        }
    }

    private static string ResolveVariant(DiskCreateOptions options)
    {
        if (options.Variant is null)
        {
            return options.Fixed && options.ParentPath is null ? MonolithicFlat : MonolithicSparse;
        }
        foreach (string v in Variants)
        {
            if (string.Equals(v, options.Variant, StringComparison.OrdinalIgnoreCase))
            {
                return v;
            }
        }
        throw new ArgumentException($"Unknown VMDK variant '{options.Variant}'; use one of {string.Join(", ", Variants)}.", nameof(options));
    }

    /// <summary>The stem for extent file names: "disk.vmdk" gives "disk" (and so "disk-flat.vmdk", "disk-s001.vmdk").
    /// A ".partial" suffix (conversion's temporary name) is dropped, so extents already carry their final names.</summary>
    private static string ExtentBaseName(string path)
    {
        string name = FinalFileName(path);
        if (name.EndsWith(".vmdk", StringComparison.OrdinalIgnoreCase))
        {
            name = name.Substring(0, name.Length - ".vmdk".Length);
        }
        return name;
    }

    /// <summary>The image's file name once conversion renames it (without a ".partial" suffix): a monolithic file's
    /// extent line names the file itself.</summary>
    private static string FinalFileName(string path)
    {
        string name = Path.GetFileName(path);
        return name.EndsWith(".partial", StringComparison.OrdinalIgnoreCase) ? name.Substring(0, name.Length - ".partial".Length) : name;
    }

    private static void WriteSplit(string path, string variant, string baseName, VmdkDescriptor descriptor, long sectors, long grainSectors, List<string> created)
    {
        string folder = Path.GetDirectoryName(path) ?? ".";
        bool flat = variant != TwoGbSparse;
        long pieceSectors = variant == MonolithicFlat ? sectors : SplitSectors;
        int index = 1;
        for (long done = 0; done < sectors; done += pieceSectors, index++)
        {
            long n = Math.Min(pieceSectors, sectors - done);
            string name = variant == MonolithicFlat
                ? baseName + "-flat.vmdk"
                : string.Format(CultureInfo.InvariantCulture, "{0}-{1}{2:000}.vmdk", baseName, flat ? 'f' : 's', index);
            string extentPath = Path.Combine(folder, name);
            descriptor.Extents.Add(new DescriptorExtent(ExtentAccess.ReadWrite, n, flat ? "FLAT" : "SPARSE", name, 0, 0));
            using FileStream file = ImageFile.CreateNew(extentPath);
            created.Add(extentPath);
            if (flat)
            {
                file.SetLength(n * 512); // sparse where the file system allows; zeros either way
            }
            else
            {
                WriteSparseExtent(file, n, grainSectors, null);
            }
        }
        using FileStream descriptorFile = ImageFile.CreateNew(path);
        created.Add(path);
        descriptorFile.WriteSpan(Encoding.UTF8.GetBytes(descriptor.ToText()));
        descriptorFile.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Lays out an empty hosted sparse extent as VMware and qemu do: header; descriptor (if embedded); redundant grain
    /// directory and its tables; grain directory and its tables; padding to a grain boundary. Every table is
    /// preallocated and zeroed, so a write only appends a grain and sets two entries.
    /// </summary>
    internal static void WriteSparseExtent(FileStream file, long sectors, long grainSectors, string? descriptorText)
    {
        byte[]? descriptorBytes = descriptorText is null ? null : Encoding.UTF8.GetBytes(descriptorText);
        long descriptorSectors = descriptorBytes is null ? 0 : Math.Max(DescriptorSectors, (descriptorBytes.Length + 511) / 512);
        long coverage = grainSectors * GtesPerGt;
        long tables = (sectors + coverage - 1) / coverage;
        long directorySectors = ((tables * 4) + 511) / 512;
        const long tableSectors = GtesPerGt * 4 / 512;
        long rgd = 1 + descriptorSectors;
        long redundantTables = rgd + directorySectors;
        long gd = redundantTables + (tables * tableSectors);
        long primaryTables = gd + directorySectors;
        long metadataEnd = primaryTables + (tables * tableSectors);
        long overhead = (metadataEnd + grainSectors - 1) / grainSectors * grainSectors;

        var header = new SparseExtentHeader
        {
            Version = 1,
            Flags = SparseExtentHeader.FlagValidNewLineTest | SparseExtentHeader.FlagRedundantGrainTable,
            Capacity = (ulong)sectors,
            GrainSize = (ulong)grainSectors,
            DescriptorOffset = descriptorBytes is null ? 0UL : 1UL,
            DescriptorSize = (ulong)descriptorSectors,
            GtesPerGt = GtesPerGt,
            RedundantGrainDirectoryOffset = (ulong)rgd,
            GrainDirectoryOffset = (ulong)gd,
            Overhead = (ulong)overhead,
        };
        file.SetLength(overhead * 512);
        byte[] sector = new byte[512];
        header.WriteTo(sector);
        file.WriteAt(0, sector);
        if (descriptorBytes is not null)
        {
            file.WriteAt(512, descriptorBytes);
        }
        byte[] directory = new byte[directorySectors * 512];
        for (long i = 0; i < tables; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan((int)(i * 4)), (uint)(redundantTables + (i * tableSectors)));
        }
        file.WriteAt(rgd * 512, directory);
        for (long i = 0; i < tables; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan((int)(i * 4)), (uint)(primaryTables + (i * tableSectors)));
        }
        file.WriteAt(gd * 512, directory);
        file.Flush(flushToDisk: true);
    }

    private static VmdkDisk CreateStreamOptimized(string path, VmdkDescriptor descriptor, long sectors, long grainSectors)
    {
        byte[] descriptorBytes = Encoding.UTF8.GetBytes(descriptor.ToText());
        long descriptorSectors = (descriptorBytes.Length + 511) / 512;
        if (1 + descriptorSectors > StreamOptimizedWriter.OverheadSectors)
        {
            throw new InvalidOperationException("The descriptor does not fit before the first grain.");
        }
        var header = new SparseExtentHeader
        {
            Version = 3,
            Flags = SparseExtentHeader.FlagValidNewLineTest | SparseExtentHeader.FlagCompressedGrains | SparseExtentHeader.FlagMarkers,
            Capacity = (ulong)sectors,
            GrainSize = (ulong)grainSectors,
            DescriptorOffset = 1,
            DescriptorSize = (ulong)descriptorSectors,
            GtesPerGt = GtesPerGt,
            RedundantGrainDirectoryOffset = 0,
            GrainDirectoryOffset = SparseExtentHeader.GrainDirectoryAtEnd,
            Overhead = StreamOptimizedWriter.OverheadSectors,
            CompressAlgorithm = SparseExtentHeader.CompressionDeflate,
        };
        FileStream file = ImageFile.CreateNew(path);
        try
        {
            byte[] sector = new byte[512];
            header.WriteTo(sector);
            file.WriteAt(0, sector);
            file.WriteAt(512, descriptorBytes);
            var writer = new StreamOptimizedWriter(sectors * 512, file, header);
            writer.Flush(); // a complete (empty) image from the start
            return VmdkDisk.FromCreated(path, descriptor, new List<VmdkExtent> { writer }, new List<IDisposable>());
        }
        catch
        {
            file.Dispose();
            ImageFile.TryDelete(path);
            throw;
        }
    }

    /// <summary>A content ID from the identifier source; never "ffffffff", which means "no parent".</summary>
    private static uint NewCid(Guid id)
    {
        uint cid = BinaryPrimitives.ReadUInt32LittleEndian(id.ToByteArray());
        return cid == VmdkDescriptor.NoParent ? 0xFFFFFFFEu : cid;
    }

    /// <summary>VMware's uuid spelling: "60 00 c2 9b 5e 3c 62 31-0c 7f 6d 2e 09 e8 de 19".</summary>
    private static string FormatUuid(Guid id)
    {
        byte[] b = id.ToByteArray();
        var sb = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            if (i > 0)
            {
                sb.Append(i == 8 ? '-' : ' ');
            }
            sb.Append(b[i].ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
