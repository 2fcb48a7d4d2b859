using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using IscsiConvert.Fuzzing;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Storage.Qcow2;
using IscsiConvert.Tests;

namespace IscsiConvert.Fuzzing.Targets;

/// <summary>Seed loading shared by the targets: corpus files read in place (never copied into the repository).</summary>
internal static class Corpus
{
    public static SeedFile File(string relative, string? name = null) =>
        new(name ?? Path.GetFileName(relative), System.IO.File.ReadAllBytes(TestData.Require(relative)));

    public static SeedFile Gunzip(string relative)
    {
        using var input = new GZipStream(System.IO.File.OpenRead(TestData.Require(relative)), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return new SeedFile(Path.GetFileNameWithoutExtension(relative), output.ToArray());
    }

    public static byte[] Utf16(string s) => Encoding.Unicode.GetBytes(s);
}

/// <summary>Opens a disk image the way the CLI does and reads what a user's command would: chain, partitions, content.</summary>
internal abstract class DiskTarget : FuzzTarget
{
    private const int ReadBudget = 4 << 20;

    public override bool NeedsFiles => true;

    public override void Execute(FuzzInput input)
    {
        using VirtualDisk disk = DiskImage.Open(input.PathOf(0));
        Inspect(disk);
        ExecuteMore(input, disk);
    }

    protected virtual void ExecuteMore(FuzzInput input, VirtualDisk disk)
    {
    }

    internal static void Inspect(VirtualDisk disk)
    {
        _ = disk.Subformat;
        _ = disk.StoredBytes;
        _ = disk.Damage;
        long capacity = disk.Capacity;
        if (capacity < 0)
        {
            throw new FuzzGuardException($"negative capacity {capacity}");
        }
        int depth = disk.Chain.Count();
        if (depth > 64)
        {
            throw new FuzzGuardException($"a chain of {depth} images was followed");
        }
        byte[] buffer = new byte[64 * 1024];
        long budget = ReadBudget;
        int extents = 0;
        foreach (StreamExtent e in disk.Content.GetExtents())
        {
            if (e.Start < 0 || e.Length <= 0 || e.End > capacity)
            {
                throw new FuzzGuardException($"extent {e.Start}+{e.Length} outside the capacity {capacity}");
            }
            if (++extents > 1_000_000)
            {
                throw new FuzzGuardException("more than a million extents");
            }
            for (long p = e.Start; p < e.End && budget > 0; p += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, e.End - p);
                disk.Content.ReadAt(p, buffer.AsSpan(0, n));
                budget -= n;
            }
        }
        if (capacity > 0)
        {
            disk.Content.ReadAt(capacity - 1, buffer.AsSpan(0, 1));
        }
        PartitionTable? table = PartitionTable.Read(disk);
        if (table is not null)
        {
            ReadPartitions(table);
        }
    }

    internal static void ReadPartitions(PartitionTable table)
    {
        _ = table.ToString();
        byte[] sector = new byte[4096];
        foreach (PartitionInfo p in table.Partitions.Take(256))
        {
            using SparseStream s = table.Open(p);
            s.ReadAt(0, sector);
            s.Position = 0;
            _ = FileSystemProbe.Detect(s);
        }
    }

    /// <summary>Adds ASCII tokens (signatures, descriptor keywords) to the seed's dictionary.</summary>
    protected static void Tokens(Seed seed, params string[] ascii)
    {
        foreach (string t in ascii)
        {
            seed.Dictionary.Add(Encoding.ASCII.GetBytes(t));
        }
    }
}

internal sealed class VhdTarget : DiskTarget
{
    public override string Name => "VHD";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        var seeds = new List<Seed>
        {
            Describe(new Seed("ext2.vhd (qemu-img, dynamic)", Corpus.File("disks/vhd/ext2.vhd"))),
            // Its parent is not in the corpus: refused with ParentChainException even unmutated, after footer, header,
            // BAT and locators were parsed.
            Describe(new Seed("fat-differential.vhd (Windows diskpart, differencing)", Corpus.File("disks/vhd/fat-differential.vhd"))
            {
                Facts = { [Seed.RefusedUnmutated] = nameof(ParentChainException) },
            }),
        };
        // A differencing VHD whose parent is present (made by our writer: the corpus has none), the pair side by side.
        string parent = Path.Combine(scratch, "parent.vhd");
        string child = Path.Combine(scratch, "child.vhd");
        using (VirtualDisk p = DiskImage.Create(parent, new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = 8 << 20 }))
        {
            p.Content.WriteAt(0, Enumerable.Repeat((byte)0xA5, 4096).ToArray());
        }
        using (VirtualDisk c = DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = parent }))
        {
            c.Content.WriteAt(1 << 20, Enumerable.Repeat((byte)0x5A, 4096).ToArray());
        }
        var pair = new Seed("child.vhd + parent.vhd (our writer, differencing)",
            new SeedFile("child.vhd", File.ReadAllBytes(child)), new SeedFile("parent.vhd", File.ReadAllBytes(parent)));
        // Gone, so the absolute locator leads nowhere and the child finds the mutated parent beside it (relative locator).
        File.Delete(child);
        File.Delete(parent);
        pair.Dictionary.Add(Corpus.Utf16("child.vhd"));
        pair.Dictionary.Add(Corpus.Utf16(".\\child.vhd"));
        pair.Dictionary.Add(Corpus.Utf16("..\\..\\..\\..\\etc\\passwd"));
        seeds.Add(Describe(pair));
        return seeds;
    }

    /// <summary>Footer (both copies), dynamic header, BAT, parent locators and the first block bitmaps, from the spec.</summary>
    private static Seed Describe(Seed seed)
    {
        for (int f = 0; f < seed.Files.Count; f++)
        {
            byte[] b = seed.Files[f].Bytes;
            int file = f;
            seed.Region("footer", b.Length - 512, 512, file).Region("footer copy", 0, 512, file);
            seed.ChecksumRepairs.Add(m => Checksums.VhdSum(m, file, m.LengthOf(file) - 512, 512, 64));
            seed.ChecksumRepairs.Add(m => Checksums.VhdSum(m, file, 0, 512, 64));
            long header = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(b.Length - 512 + 16));
            if (header <= 0 || header >= b.Length)
            {
                continue;
            }
            seed.Region("dynamic header", header, 1024, file);
            seed.ChecksumRepairs.Add(m => Checksums.VhdSum(m, file, header, 1024, 36));
            long bat = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan((int)header + 16));
            int entries = (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan((int)header + 28));
            seed.Region("BAT", bat, entries * 4L, file);
            for (int i = 0; i < 8; i++)
            {
                int at = (int)header + 576 + (i * 24);
                long data = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(at + 16));
                seed.Region($"parent locator {i}", at, 24, file);
                seed.Region($"parent locator {i} data", data, BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(at + 8)), file);
            }
            seed.Region("parent unicode name", header + 64, 512, file);
            int bitmaps = 0;
            for (int i = 0; i < entries && bitmaps < 4 && bat + (i * 4) + 4 <= b.Length; i++)
            {
                uint sector = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan((int)bat + (i * 4)));
                if (sector != 0xFFFFFFFF)
                {
                    seed.Region($"block {i} bitmap", sector * 512L, 512, file);
                    bitmaps++;
                }
            }
        }
        Tokens(seed, "conectix", "cxsparse", "W2ku", "W2ru", "Wi2k", "Wi2r");
        return seed;
    }
}

internal sealed class VhdxTarget : DiskTarget
{
    private static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    private static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");

    public override string Name => "VHDX";

    // 36 MiB seeds: a few reads of the headers must not be charged as if each were the whole file.
    public override long AllocationPerInputByte => 2;

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        var seeds = new List<Seed>
        {
            Describe(new Seed("swap.vhdx (Windows 10)", Corpus.Gunzip("disks/vhdx/swap.vhdx.gz"))),
            Describe(new Seed("vhdx-log-replay.vhdx (Windows 10 Hyper-V, pending log)", Corpus.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz"))),
        };
        string parent = Path.Combine(scratch, "parent.vhdx");
        string child = Path.Combine(scratch, "child.vhdx");
        using (VirtualDisk p = DiskImage.Create(parent, new DiskCreateOptions { Format = DiskFormat.Vhdx, Capacity = 8 << 20, BlockSize = 1 << 20 }))
        {
            p.Content.WriteAt(0, Enumerable.Repeat((byte)0xA5, 4096).ToArray());
        }
        using (VirtualDisk c = DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Vhdx, ParentPath = parent, BlockSize = 1 << 20 }))
        {
            c.Content.WriteAt(1 << 20, Enumerable.Repeat((byte)0x5A, 4096).ToArray());
        }
        var pair = new Seed("child.vhdx + parent.vhdx (our writer, differencing)",
            new SeedFile("child.vhdx", File.ReadAllBytes(child)), new SeedFile("parent.vhdx", File.ReadAllBytes(parent)));
        // Gone, so the absolute locator leads nowhere and the child finds the mutated parent beside it (relative locator).
        File.Delete(child);
        File.Delete(parent);
        pair.Dictionary.Add(Corpus.Utf16("child.vhdx"));
        pair.Dictionary.Add(Corpus.Utf16(".\\child.vhdx"));
        seeds.Add(Describe(pair));
        return seeds;
    }

    /// <summary>File identifier, both headers, both region tables, BAT, metadata table and items, log entries (MS-VHDX).</summary>
    private static Seed Describe(Seed seed)
    {
        for (int f = 0; f < seed.Files.Count; f++)
        {
            byte[] b = seed.Files[f].Bytes;
            int file = f;
            seed.Region("file identifier", 0, 512, file);
            for (int h = 0; h < 2; h++)
            {
                long at = (h + 1) * 65536L;
                seed.Region($"header {h + 1}", at, 80, file);
                seed.ChecksumRepairs.Add(m => Checksums.Crc32C(m, file, at, 4096, 4));
                long logOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)at + 64));
                uint logLength = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at + 60));
                if (h == 0 && logOffset > 0 && logOffset + logLength <= b.Length)
                {
                    for (long e = logOffset; e < logOffset + logLength; e += 4096)
                    {
                        if (b.AsSpan((int)e, 4).SequenceEqual("loge"u8))
                        {
                            long entry = e;
                            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)e + 8));
                            seed.Region("log entry header", entry, 64, file);
                            seed.Region("log entry descriptors", entry + 64, Math.Min(length, 4096) - 64, file);
                            seed.Region("log entry", entry, length, file);
                            seed.ChecksumRepairs.Add(m => Checksums.Crc32C(m, file, entry, length, 4));
                        }
                    }
                }
            }
            for (int r = 0; r < 2; r++)
            {
                long at = (3 + r) * 65536L;
                int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at + 8));
                seed.Region($"region table {r + 1}", at, 16 + (Math.Min(count, 8) * 32), file);
                seed.ChecksumRepairs.Add(m => Checksums.Crc32C(m, file, at, 65536, 4));
                for (int i = 0; i < count && i < 8 && r == 0; i++)
                {
                    int entry = (int)at + 16 + (i * 32);
                    var guid = new Guid(b.AsSpan(entry, 16));
                    long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(entry + 16));
                    uint length = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(entry + 24));
                    if (guid == BatRegion)
                    {
                        seed.Region("BAT", offset, Math.Min(length, 64 * 1024), file);
                    }
                    else if (guid == MetadataRegion && offset + 32 <= b.Length)
                    {
                        int items = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)offset + 10));
                        seed.Region("metadata table", offset, 32 + (items * 32), file);
                        for (int k = 0; k < items && k < 16; k++)
                        {
                            int item = (int)offset + 32 + (k * 32);
                            uint itemOffset = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(item + 16));
                            uint itemLength = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(item + 20));
                            seed.Region($"metadata item {k}", offset + itemOffset, itemLength, file);
                        }
                    }
                }
            }
        }
        Tokens(seed, "vhdxfile", "head", "regi", "metadata", "loge", "desc", "zero", "data");
        return seed;
    }
}

internal sealed class VmdkTarget : DiskTarget
{
    public override string Name => "VMDK";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        var seeds = new List<Seed>
        {
            Describe(new Seed("ext2.vmdk (qemu-img, monolithicSparse)", Corpus.File("disks/vmdk/ext2.vmdk"))),
            Describe(new Seed("monolithicSparse.vmdk (VMware tools, NTFS)", Corpus.File("disks/vmdk/monolithicSparse.vmdk"))),
            Describe(new Seed("streamOptimized.vmdk (VMware tools)", Corpus.File("disks/vmdk/streamOptimized.vmdk"))),
        };
        // A text descriptor with a flat extent (the corpus has only embedded descriptors): made by qemu-img.
        string descriptor = Path.Combine(scratch, "flat.vmdk");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", descriptor, "1M");
        var flat = new Seed("flat.vmdk + flat-flat.vmdk (qemu-img, monolithicFlat)",
            new SeedFile("flat.vmdk", File.ReadAllBytes(descriptor)), new SeedFile("flat-flat.vmdk", File.ReadAllBytes(Path.Combine(scratch, "flat-flat.vmdk"))));
        flat.Region("descriptor", 0, flat.Files[0].Bytes.Length);
        Tokens(flat, "RW 2048 FLAT \"flat-flat.vmdk\" 0\n", "RW 4294967295 SPARSE \"flat.vmdk\"\n", "parentFileNameHint=\"flat.vmdk\"\n",
            "createType=\"twoGbMaxExtentSparse\"", "ddb.geometry.cylinders", "\"", "=", "\n", "#", "-1", "99999999999999999999");
        seeds.Add(flat);
        return seeds;
    }

    /// <summary>Sparse header, embedded descriptor, grain directory and the first grain tables; stream markers.</summary>
    private static Seed Describe(Seed seed)
    {
        byte[] b = seed.Files[0].Bytes;
        seed.Region("sparse header", 0, 512);
        long descriptor = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(28)) * 512;
        long descriptorSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(36)) * 512;
        seed.Region("descriptor", descriptor, Math.Min(descriptorSize, 4096));
        uint gtes = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(44));
        foreach (int field in new[] { 48, 56 })
        {
            long gd = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(field));
            if (gd <= 0 || gd * 512 >= b.Length)
            {
                continue;
            }
            seed.Region("grain directory", gd * 512, 512);
            for (int i = 0; i < 4 && (gd * 512) + (i * 4) + 4 <= b.Length; i++)
            {
                long gt = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)(gd * 512) + (i * 4)));
                seed.Region($"grain table {i}", gt * 512, gtes * 4L);
            }
        }
        // streamOptimized: grain and marker headers sit at sector boundaries after the overhead.
        for (int at = 512; at + 16 <= b.Length && seed.Regions.Count < 64; at += 512)
        {
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at + 8));
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at + 12));
            if (size == 0 && type is >= 1 and <= 3)
            {
                seed.Region($"stream marker {type}", at, 512);
            }
        }
        Tokens(seed, "KDMV", "# Disk DescriptorFile", "createType=\"streamOptimized\"", "createType=\"monolithicSparse\"",
            "RW 4294967295 SPARSE", "\"", "\n", "parentCID=", "CID=");
        return seed;
    }
}

internal sealed class Qcow2Target : DiskTarget
{
    public override string Name => "QCOW2";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        var seeds = new List<Seed>
        {
            Describe(new Seed("ext2.qcow2 (qemu-img v3)", Corpus.File("disks/qcow2/ext2.qcow2"))),
            Describe(new Seed("windows_volume.qcow2 (qemu-img v3, Windows NTFS)", Corpus.File("disks/qcow2/windows_volume.qcow2"))),
        };
        // Snapshots and compressed clusters (the corpus has neither): made by qemu-img and qemu-io.
        string snap = Path.Combine(scratch, "snap.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", snap, "4M");
        Oracle.RunChecked("qemu-io", "-c", "write -P 0xAB 0 64k", snap);
        Oracle.RunChecked("qemu-img", "snapshot", "-c", "first", snap);
        Oracle.RunChecked("qemu-io", "-c", "write -P 0xCD 32k 64k", "-c", "write -c 1M 64k", snap);
        Seed s = Describe(new Seed("snap.qcow2 (qemu-img, snapshot + compressed clusters)", new SeedFile("snap.qcow2", File.ReadAllBytes(snap))));
        seeds.Add(s);
        return seeds;
    }

    /// <summary>Every snapshot the image lists is opened and read as well (by ID, as the CLI does).</summary>
    protected override void ExecuteMore(FuzzInput input, VirtualDisk disk)
    {
        if (disk is not Qcow2Disk qcow2)
        {
            return; // the mutation broke the signature: opened as raw
        }
        foreach (Qcow2Snapshot listed in qcow2.Snapshots.Take(8))
        {
            _ = listed.ToString();
            using Qcow2Disk snapshot = Qcow2Disk.OpenSnapshot(input.PathOf(0), listed.Id);
            Inspect(snapshot);
        }
    }

    /// <summary>Header and extensions, L1 table, the first L2 tables, refcount table and blocks, snapshot table.</summary>
    private static Seed Describe(Seed seed)
    {
        byte[] b = seed.Files[0].Bytes;
        int clusterBits = (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(20));
        long cluster = 1L << clusterBits;
        seed.Region("header", 0, 104).Region("header extensions", 104, 512);
        long l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(40));
        int l1Size = (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(36));
        seed.Region("L1 table", l1, l1Size * 8L);
        for (int i = 0; i < l1Size && i < 4 && l1 + (i * 8) + 8 <= b.Length; i++)
        {
            long l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan((int)l1 + (i * 8))) & 0x00FFFFFFFFFFFE00UL);
            seed.Region($"L2 table {i}", l2, cluster);
            seed.Region($"L2 table {i} first entries", l2, 256);
        }
        long refTable = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(48));
        seed.Region("refcount table", refTable, 512);
        if (refTable + 8 <= b.Length)
        {
            long block = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan((int)refTable));
            seed.Region("refcount block 0", block, 512);
        }
        long snapshots = (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(64));
        if (BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(60)) > 0)
        {
            seed.Region("snapshot table", snapshots, 256);
        }
        seed.Dictionary.Add(new byte[] { 0x51, 0x46, 0x49, 0xFB });
        return seed;
    }
}
