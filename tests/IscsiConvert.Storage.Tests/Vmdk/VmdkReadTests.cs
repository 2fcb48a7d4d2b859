using System;
using System.IO;
using System.Text.Json;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Vmdk;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vmdk;

/// <summary>Reading VMDKs made by qemu and VMware-compatible tools, checked against qemu-img.</summary>
public sealed class VmdkReadTests
{
    [Theory]
    [InlineData("disks/vmdk/ext2.vmdk")]
    [InlineData("disks/vmdk/monolithicSparse.vmdk")]
    [InlineData("disks/vmdk/streamOptimized.vmdk")]
    public void CorpusFileMatchesQemuInfoAndRawConversion(string relative)
    {
        string path = TestData.Require(relative);
        JsonElement info = QemuImg.Info(path, "vmdk");
        using var tmp = new TempDir();
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Equal(DiskFormat.Vmdk, disk.Format);
            Assert.Equal(info.GetProperty("format").GetString(), disk.Format.ToString().ToLowerInvariant());
            Assert.Equal(VmdkTestKit.CreateType(info), disk.Subformat);
            Assert.Equal(info.GetProperty("virtual-size").GetInt64(), disk.Capacity);
            Assert.Null(disk.Parent);
        }
        string before = VmdkTestKit.Fingerprint(Path.GetDirectoryName(path)!);
        VmdkTestKit.AssertReadsLikeQemu(path, tmp);
        Assert.Equal(before, VmdkTestKit.Fingerprint(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void MonolithicSparseCorpusFileHasTheManifestAdapterType()
    {
        // MANIFEST.md: "adapter buslogic".
        using var disk = (VmdkDisk)DiskImage.Open(TestData.Require("disks/vmdk/monolithicSparse.vmdk"));
        Assert.Equal("buslogic", disk.AdapterType);
    }

    [Theory]
    [InlineData("monolithicSparse")]
    [InlineData("monolithicFlat")]
    [InlineData("twoGbMaxExtentSparse")]
    [InlineData("twoGbMaxExtentFlat")]
    [InlineData("streamOptimized")]
    public void QemuCreatedSubformatReadsLikeQemu(string subformat)
    {
        Oracle.Require("qemu-io");
        using var tmp = new TempDir();
        string image = tmp.File("q.vmdk");
        // 5 GiB so that the split variants have three extents; qemu leaves untouched space unallocated (or sparse).
        long size = subformat.StartsWith("twoGb", System.StringComparison.Ordinal) ? 5L << 30 : 16L << 20;
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=" + subformat, image, size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        VmdkTestKit.QemuIo(image, "write -P 0xab 1M 64k");
        // qemu writes streamOptimized grains whole and in order only; the others take an unaligned write too.
        VmdkTestKit.QemuIo(image, subformat == "streamOptimized" ? "write -P 0xcd 12352k 64k" : "write -P 0xcd 12345k 3k");
        if (size > 4L << 30)
        {
            VmdkTestKit.QemuIo(image, "write -P 0x5a 2047M 2M"); // across the first extent boundary (2 GiB)
            VmdkTestKit.QemuIo(image, "write -P 0x11 4100M 64k");
        }
        using (VirtualDisk disk = DiskImage.Open(image))
        {
            Assert.Equal(VmdkTestKit.CreateType(QemuImg.Info(image, "vmdk")), disk.Subformat);
            Assert.Equal(size, disk.Capacity);
            if (size > 4L << 30)
            {
                // Comparing 5 GiB byte for byte would be slow: compare the written regions and their surroundings.
                AssertRegionsLikeQemu(disk, image, tmp, new[] { (0L, 16L << 20), (2046L << 20, 4L << 20), (4099L << 20, 4L << 20) });
                return;
            }
        }
        VmdkTestKit.AssertReadsLikeQemu(image, tmp);
    }

    [Fact]
    public void QemuStreamOptimizedConversionReadsLikeQemu()
    {
        using var tmp = new TempDir();
        string raw = VmdkTestKit.PatternedRaw(tmp, "src.raw", 8L << 20, 1);
        string image = tmp.File("so.vmdk");
        Oracle.RunChecked("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, image);
        using (VirtualDisk disk = DiskImage.Open(image))
        {
            Assert.Equal("streamOptimized", disk.Subformat);
            VmdkTestKit.AssertContentEquals(disk.Content, raw);
        }
        VmdkTestKit.AssertReadsLikeQemu(image, tmp);
    }

    [Fact]
    public void QemuDeltaReadsThroughToItsBase()
    {
        Oracle.Require("qemu-io");
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.vmdk");
        string child = tmp.File("child.vmdk");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vmdk", baseImage, "8M");
        VmdkTestKit.QemuIo(baseImage, "write -P 0x11 0 2M");
        VmdkTestKit.QemuIo(baseImage, "write -P 0x22 5M 100k");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child);
        VmdkTestKit.QemuIo(child, "write -P 0x33 1M 3k");
        VmdkTestKit.QemuIo(child, "write -P 0x44 5100k 8k");
        using (VirtualDisk disk = DiskImage.Open(child))
        {
            Assert.NotNull(disk.Parent);
            Assert.Equal(Path.GetFullPath(baseImage), disk.Parent!.FilePath);
            Assert.Equal(8L << 20, disk.Capacity);
        }
        VmdkTestKit.AssertReadsLikeQemu(child, tmp);
    }

    [Fact]
    public void ZeroedGrainEntriesInADeltaReadAsZerosNotAsTheParent()
    {
        Oracle.Require("qemu-io");
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.vmdk");
        string child = tmp.File("child.vmdk");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vmdk", baseImage, "4M");
        VmdkTestKit.QemuIo(baseImage, "write -P 0x11 0 4M");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vmdk", "-o", "zeroed_grain=on", "-b", "base.vmdk", "-F", "vmdk", child);
        VmdkTestKit.QemuIo(child, "write -z 64k 128k"); // grain table entries of 1: zeroed grains
        VmdkTestKit.QemuIo(child, "write -P 0x22 1M 10k");
        using (VirtualDisk disk = DiskImage.Open(child))
        {
            byte[] b = new byte[3];
            disk.Content.ReadAt(65535, b);
            Assert.Equal(new byte[] { 0x11, 0, 0 }, b);
        }
        VmdkTestKit.AssertReadsLikeQemu(child, tmp);

        // Writing part of a zeroed grain keeps the rest of it zero (not the parent's bytes).
        using (VirtualDisk disk = DiskImage.Open(child, DiskAccess.ReadWrite))
        {
            disk.Content.WriteAt(70_000, new byte[] { 0x33 });
        }
        QemuImg.Check(child, "vmdk");
        VmdkTestKit.AssertReadsLikeQemu(child, tmp);
        string raw = tmp.File("after.raw");
        QemuImg.ConvertToRaw(child, "vmdk", raw);
        byte[] all = File.ReadAllBytes(raw);
        Assert.Equal(0x33, all[70_000]);
        Assert.Equal(0, all[69_999]);
        Assert.Equal(0x11, all[65_535]);
    }

    [Fact]
    public void HandWrittenDescriptorWithFlatOffsetsReadsLikeQemu()
    {
        using var tmp = new TempDir();
        byte[] data = new byte[8192 * 512];
        new Random(11).NextBytes(data);
        File.WriteAllBytes(tmp.File("data.bin"), data);
        string descriptor = tmp.File("hand.vmdk");
        File.WriteAllText(descriptor,
            "# Disk DescriptorFile\r\nversion=1\r\nCID=0badcafe\r\nparentCID=ffffffff\r\ncreateType=\"monolithicFlat\"\r\n\r\n" +
            "# Extent description\r\nRW 2048 FLAT \"data.bin\" 0\r\nRW 2048 FLAT \"data.bin\" 4096\r\nRW 512 FLAT \"data.bin\" 7000\r\n\r\n" +
            "# The Disk Data Base\r\n#DDB\r\nddb.adapterType = \"lsilogic\"\r\nddb.geometry.cylinders = \"5\"\r\n");
        using (var disk = (VmdkDisk)DiskImage.Open(descriptor))
        {
            Assert.Equal("monolithicFlat", disk.Subformat);
            Assert.Equal("lsilogic", disk.AdapterType);
            Assert.Equal(QemuImg.Info(descriptor, "vmdk").GetProperty("virtual-size").GetInt64(), disk.Capacity);
        }
        VmdkTestKit.AssertReadsLikeQemu(descriptor, tmp);
    }

    [Fact]
    public void ZeroAndReadOnlyExtentsFollowTheSpecification()
    {
        // qemu 7.2 skips every extent line that is not RW with a file name, so it cannot be the oracle here; the
        // expected bytes follow from VMware's definition: FLAT extents are the file's sectors from the offset on,
        // ZERO extents read as zeros, RDONLY extents read normally and refuse writes.
        using var tmp = new TempDir();
        byte[] data = new byte[8192 * 512];
        new Random(12).NextBytes(data);
        File.WriteAllBytes(tmp.File("data.bin"), data);
        string descriptor = tmp.File("hand.vmdk");
        File.WriteAllText(descriptor,
            "# Disk DescriptorFile\nversion=1\nCID=0badcafe\nparentCID=ffffffff\ncreateType=\"custom\"\n" +
            "RW 2048 FLAT \"data.bin\" 0\nRW 1024 ZERO\nRDONLY 2048 FLAT \"data.bin\" 4096\nRW 512 VMFS \"data.bin\" 7000\n");
        byte[] expected = new byte[(2048 + 1024 + 2048 + 512) * 512];
        Array.Copy(data, 0, expected, 0, 2048 * 512);
        Array.Copy(data, 4096 * 512, expected, 3072 * 512, 2048 * 512);
        Array.Copy(data, 7000 * 512, expected, 5120 * 512, 512 * 512);
        using (VirtualDisk disk = DiskImage.Open(descriptor, DiskAccess.ReadWrite))
        {
            byte[] actual = new byte[expected.Length];
            Assert.Equal(expected.Length, disk.Content.ReadAt(0, actual));
            Assert.Equal(expected, actual);
            Assert.Equal(new[] { new StreamExtent(0, 2048 * 512), new StreamExtent(3072 * 512, 2560 * 512) }, disk.Content.GetExtents());
            Assert.Throws<NotSupportedException>(() => disk.Content.WriteAt(2048 * 512, new byte[1])); // ZERO
            Assert.Throws<NotSupportedException>(() => disk.Content.WriteAt(3072 * 512, new byte[1])); // RDONLY
        }
        Assert.Equal(data, File.ReadAllBytes(tmp.File("data.bin")));
    }

    private static void AssertRegionsLikeQemu(VirtualDisk disk, string image, TempDir tmp, (long Start, long Length)[] regions)
    {
        string raw = tmp.File("regions.raw");
        QemuImg.ConvertToRaw(image, "vmdk", raw);
        using FileStream expected = File.OpenRead(raw);
        Assert.Equal(expected.Length, disk.Capacity);
        foreach ((long start, long length) in regions)
        {
            byte[] a = new byte[length];
            byte[] b = new byte[length];
            disk.Content.ReadAt(start, a);
            expected.Position = start;
            expected.ReadExactly(b);
            int same = a.AsSpan().CommonPrefixLength(b);
            Assert.True(same == a.Length, $"differs from qemu at 0x{start + same:X}");
        }
    }
}
