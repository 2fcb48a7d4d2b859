using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using IscsiConvert.Fuzzing.Targets;
using IscsiConvert.Ntfs;
using IscsiConvert.Registry;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Fuzzing.Tests;

/// <summary>
/// Hostile images, read side (issue 16): parent locators naming the child itself or forming a cycle, sizes declared far
/// past the end of the file, hive cells pointing outside their bins, an NTFS directory that contains itself. Each is
/// refused with our exception or read safely, with bounded work.
/// </summary>
public sealed class HostileInputTests
{
    public static TheoryData<DiskFormat, string> DifferencingFormats => new()
    {
        { DiskFormat.Vhd, "vhd" },
        { DiskFormat.Vhdx, "vhdx" },
        { DiskFormat.Vmdk, "vmdk" },
        { DiskFormat.Qcow2, "qcow2" },
    };

    /// <summary>A child whose parent locators (absolute and relative) name the child's own file.</summary>
    [Theory]
    [MemberData(nameof(DifferencingFormats))]
    public void AChildNamingItselfAsItsParent_IsRefused(DiskFormat format, string extension)
    {
        using var tmp = new TempDir();
        string parent = tmp.File("p." + extension);
        string child = tmp.File("c." + extension);
        using (DiskImage.Create(parent, new DiskCreateOptions { Format = format, Capacity = 4 << 20 }))
        {
        }
        using (DiskImage.Create(child, new DiskCreateOptions { Format = format, ParentPath = parent }))
        {
        }
        File.Delete(parent);
        File.Move(child, parent); // the child is now the file its locators name
        byte[] before = File.ReadAllBytes(parent);
        Assert.Throws<ParentChainException>(() => DiskImage.Open(parent).Dispose());
        Assert.Equal(before, File.ReadAllBytes(parent));
    }

    /// <summary>a names b as its parent and b names a.</summary>
    [Theory]
    [MemberData(nameof(DifferencingFormats))]
    public void ACycleOfTwo_IsRefused(DiskFormat format, string extension)
    {
        using var tmp = new TempDir();
        string a = tmp.File("a." + extension);
        string b = tmp.File("b." + extension);
        string c = tmp.File("c." + extension);
        using (DiskImage.Create(b, new DiskCreateOptions { Format = format, Capacity = 4 << 20 }))
        {
        }
        using (DiskImage.Create(a, new DiskCreateOptions { Format = format, ParentPath = b }))
        {
        }
        using (DiskImage.Create(c, new DiskCreateOptions { Format = format, ParentPath = a }))
        {
        }
        File.Delete(b);
        File.Move(c, b);
        Assert.Throws<ParentChainException>(() => DiskImage.Open(a).Dispose());
        Assert.Throws<ParentChainException>(() => DiskImage.Open(b).Dispose());
    }

    /// <summary>A dynamic VHD whose BAT sends block 0 far past the end of the file: refused when the block is read.</summary>
    [Fact]
    public void AVhdBlockFarPastTheEndOfTheFile_IsRefusedWhenRead()
    {
        using var tmp = new TempDir();
        string path = tmp.File("d.vhd");
        using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = 8 << 20 }))
        {
            disk.Content.WriteAt(0, new byte[] { 1, 2, 3, 4 });
        }
        byte[] file = File.ReadAllBytes(path);
        long header = (long)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(file.Length - 512 + 16));
        long bat = (long)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)header + 16));
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan((int)bat), 0x7FFFFFF0);
        File.WriteAllBytes(path, file);
        var ex = Assert.ThrowsAny<IscsiConvertException>(() =>
        {
            using VirtualDisk disk = DiskImage.Open(path);
            disk.Content.ReadAt(0, new byte[512]);
        });
        Assert.IsType<CorruptDataException>(ex);
    }

    /// <summary>A QCOW2 header declaring a virtual size of 2^60 bytes in a 200 KiB file: refused, or read as zeros without
    /// allocating for the declared size.</summary>
    [Fact]
    public void AQcow2DeclaringAnExabyte_IsRefusedOrReadWithoutAllocatingForIt()
    {
        using var tmp = new TempDir();
        string path = tmp.File("big.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "qcow2", path, "4M");
        byte[] file = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64BigEndian(file.AsSpan(24), 1UL << 60);
        File.WriteAllBytes(path, file);
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            using VirtualDisk disk = DiskImage.Open(path);
            byte[] sector = new byte[512];
            disk.Content.ReadAt(disk.Capacity - 512, sector);
            Assert.All(sector, b => Assert.Equal(0, b));
        }
        catch (CorruptDataException ex)
        {
            Assert.Equal("QCOW2", ex.Format);
        }
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20);
    }

    /// <summary>An NTFS boot sector declaring a volume a million times larger than the stream: refused, or read safely.</summary>
    [Fact]
    public void AnNtfsVolumeDeclaredFarLargerThanItsStream_IsReadSafely()
    {
        byte[] volume = File.ReadAllBytes(TestData.Require("ntfs/testfs1"));
        BinaryPrimitives.WriteInt64LittleEndian(volume.AsSpan(0x28), 1L << 40);
        var counting = new CountingStream(new MemoryStream(volume, writable: false));
        try
        {
            using NtfsVolume v = NtfsVolume.Open(counting);
            _ = v.Verify();
            NtfsTarget.ReadEverything(v);
        }
        catch (CorruptDataException ex)
        {
            Assert.Equal("NTFS", ex.Format);
        }
        Assert.True(counting.BytesRead <= 16L * volume.Length, $"read {counting.BytesRead} bytes");
    }

    /// <summary>Offsets of cells pointing outside the hive bins, in a key's subkey list and in its value list.</summary>
    [Theory]
    [InlineData(28)] // subkey list offset (nk + 0x1C)
    [InlineData(40)] // value list offset (nk + 0x28)
    public void AHiveCellPointingOutsideTheBins_IsRefusedNamingTheOffset(int field)
    {
        byte[] hive = File.ReadAllBytes(TestData.Require("registry/misc/BCD"));
        int binsSize = BinaryPrimitives.ReadInt32LittleEndian(hive.AsSpan(40));
        // The first key cell (found by walking the cells of the bins) that has a list of that kind (subkey count at
        // nk + 0x14, value count at nk + 0x24). Point the list past the last bin.
        int count = field == 28 ? 20 : 36;
        int key = KeyCellsOf(hive).First(k => BinaryPrimitives.ReadInt32LittleEndian(hive.AsSpan(k + 4 + count)) > 0);
        BinaryPrimitives.WriteInt32LittleEndian(hive.AsSpan(key + 4 + field), binsSize + 0x1000);
        var ex = Assert.Throws<CorruptDataException>(() =>
        {
            using RegistryHive h = RegistryHive.Open(new MemoryStream(hive, writable: false), new RegistryOpenOptions());
            foreach (RegistryKey k in RegistryExport.Walk(h.Root))
            {
                _ = k.GetValues();
            }
        });
        Assert.Equal("regf", ex.Format);
        Assert.True(ex.Offset >= 0, ex.Message);
    }

    /// <summary>
    /// An index entry of \many_subdirs that names \many_subdirs itself: the directory contains itself. Listing is safe
    /// (each call returns), Verify finishes and reports it, and walking the tree stays bounded.
    /// </summary>
    [Fact]
    public void AnNtfsDirectoryContainingItself_IsReadSafelyAndReportedByVerify()
    {
        byte[] image = File.ReadAllBytes(TestData.Require("ntfs/testfs1"));
        const int ManySubdirs = 68;
        int record = FindRecord(image, ManySubdirs);
        ushort sequence = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(record + 0x10));
        bool patched = false;
        for (int at = 0; at + 4096 <= image.Length && !patched; at += 512)
        {
            if (!image.AsSpan(at, 4).SequenceEqual("INDX"u8))
            {
                continue;
            }
            int node = at + 0x18;
            int entry = node + (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(node));
            long parent = BinaryPrimitives.ReadInt64LittleEndian(image.AsSpan(entry + 16)) & 0xFFFFFFFFFFFF;
            if (parent == ManySubdirs && (entry % 512) + 8 <= 510)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(entry), ManySubdirs | ((ulong)sequence << 48));
                patched = true;
            }
        }
        Assert.True(patched, "no INDX entry of many_subdirs clear of the fixups");
        var counting = new CountingStream(new MemoryStream(image, writable: false));
        try
        {
            using NtfsVolume volume = NtfsVolume.Open(counting);
            Assert.NotEmpty(volume.Verify());
            NtfsTarget.ReadEverything(volume);
        }
        catch (CorruptDataException ex)
        {
            Assert.Equal("NTFS", ex.Format);
        }
        Assert.True(counting.BytesRead <= 64L * image.Length, $"read {counting.BytesRead} bytes");
    }

    private static System.Collections.Generic.IEnumerable<int> KeyCellsOf(byte[] hive)
    {
        for (int bin = 4096; bin + 32 <= hive.Length && hive.AsSpan(bin, 4).SequenceEqual("hbin"u8);)
        {
            int size = BinaryPrimitives.ReadInt32LittleEndian(hive.AsSpan(bin + 8));
            for (int cell = bin + 32; cell < bin + size;)
            {
                int cellSize = Math.Abs(BinaryPrimitives.ReadInt32LittleEndian(hive.AsSpan(cell)));
                if (BinaryPrimitives.ReadInt32LittleEndian(hive.AsSpan(cell)) < 0 && hive.AsSpan(cell + 4, 2).SequenceEqual("nk"u8))
                {
                    yield return cell;
                }
                cell += Math.Max(cellSize, 8);
            }
            bin += size;
        }
    }

    private static int FindRecord(byte[] image, int number)
    {
        for (int at = 0; at + 1024 <= image.Length; at += 512)
        {
            if (image.AsSpan(at, 4).SequenceEqual("FILE"u8) && BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(at + 0x2C)) == number)
            {
                return at;
            }
        }
        throw new InvalidOperationException($"record {number} not found");
    }
}
