using System;
using System.IO;
using System.Text.Json;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Vmdk;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vmdk;

/// <summary>Images we create and write, checked by qemu-img check, compare and info.</summary>
public sealed class VmdkWriteTests
{
    [Theory]
    [InlineData("monolithicSparse", 16L << 20)]
    [InlineData("monolithicFlat", 16L << 20)]
    [InlineData("twoGbMaxExtentSparse", 5L << 30)]
    [InlineData("twoGbMaxExtentFlat", 5L << 30)]
    public void CreatedAndWrittenImagePassesQemuCheckAndCompare(string variant, long size)
    {
        using var tmp = new TempDir();
        string image = tmp.File("ours.vmdk");
        string raw = tmp.File("expected.raw");
        using (var expected = new FileStream(raw, FileMode.CreateNew))
        {
            expected.SetLength(size);
        }
        var options = new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = size, Variant = variant, NewIdentifier = IdentifierSource.Sequential(7) };
        using (VirtualDisk disk = DiskImage.Create(image, options))
        {
            Assert.Equal(variant, disk.Subformat);
            Assert.Equal(size, disk.Capacity);
            using var expected = new FileStream(raw, FileMode.Open);
            var rng = new Random(3);
            foreach (long at in new[] { 0L, 65536 - 100, 1L << 20, (2L << 30) - 5000, size - 4096, size / 2 + 3 })
            {
                byte[] data = new byte[rng.Next(1, 200_000)];
                rng.NextBytes(data);
                long pos = Math.Min(at, size - data.Length);
                disk.Content.WriteAt(pos, data);
                expected.Position = pos;
                expected.Write(data);
            }
        }
        JsonElement info = QemuImg.Info(image, "vmdk");
        Assert.Equal(variant, VmdkTestKit.CreateType(info));
        Assert.Equal(size, info.GetProperty("virtual-size").GetInt64());
        QemuImg.Check(image, "vmdk");
        QemuImg.AssertIdentical(image, "vmdk", raw, "raw");
        // And we read back what we wrote, after reopening.
        using VirtualDisk reopened = DiskImage.Open(image);
        if (size <= 64L << 20)
        {
            VmdkTestKit.AssertContentEquals(reopened.Content, raw);
        }
    }

    [Fact]
    public void CreationIsDeterministicWithAnIdentifierSource()
    {
        using var tmp = new TempDir();
        byte[][] files = new byte[2][];
        for (int i = 0; i < 2; i++)
        {
            Directory.CreateDirectory(tmp.File($"run{i}"));
            string image = tmp.File($"run{i}/d.vmdk");
            using (DiskImage.Create(image, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 1 << 20, NewIdentifier = IdentifierSource.Sequential(42) }))
            {
            }
            files[i] = File.ReadAllBytes(image);
        }
        Assert.Equal(files[0], files[1]);
        // The CID qemu reports is the one the identifier source gave (first four bytes, little-endian).
        uint expectedCid = BitConverter.ToUInt32(IdentifierSource.Sequential(42)().ToByteArray(), 0);
        JsonElement info = QemuImg.Info(tmp.File("run0/d.vmdk"), "vmdk");
        Assert.Equal(expectedCid, info.GetProperty("format-specific").GetProperty("data").GetProperty("cid").GetUInt32());
    }

    [Fact]
    public void DeltaOnQemuBaseIsOpenedByQemuWithTheRightBackingFile()
    {
        Oracle.Require("qemu-io");
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.vmdk");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vmdk", baseImage, "8M");
        VmdkTestKit.QemuIo(baseImage, "write -P 0x11 0 3M");
        Directory.CreateDirectory(tmp.File("sub"));
        string child = tmp.File("sub/child.vmdk");
        using (VirtualDisk disk = DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Vmdk, ParentPath = baseImage, NewIdentifier = IdentifierSource.Sequential(1) }))
        {
            Assert.NotNull(disk.Parent);
            byte[] data = new byte[5000];
            data.AsSpan().Fill(0x77);
            disk.Content.WriteAt((1L << 20) + 100, data); // partial grain: the rest of it must come from the base
            disk.Content.WriteAt(6L << 20, data);
        }
        JsonElement info = QemuImg.Info(child, "vmdk");
        Assert.Equal("../base.vmdk", info.GetProperty("backing-filename").GetString());
        uint baseCid = QemuImg.Info(baseImage, "vmdk").GetProperty("format-specific").GetProperty("data").GetProperty("cid").GetUInt32();
        Assert.Equal(baseCid, info.GetProperty("format-specific").GetProperty("data").GetProperty("parent-cid").GetUInt32());
        QemuImg.Check(child, "vmdk");
        string qemuRaw = tmp.File("child.raw");
        QemuImg.ConvertToRaw(child, "vmdk", qemuRaw);
        byte[] expected = File.ReadAllBytes(qemuRaw);
        Assert.Equal(0x11, expected[(1 << 20) + 99]);
        Assert.Equal(0x77, expected[(1 << 20) + 100]);
        Assert.Equal(0x11, expected[(1 << 20) + 5100]);
        using VirtualDisk reopened = DiskImage.Open(child);
        VmdkTestKit.AssertContentEquals(reopened.Content, qemuRaw);
    }

    [Fact]
    public void ConvertingRawToStreamOptimizedPassesQemuCheckAndCompare()
    {
        using var tmp = new TempDir();
        string raw = VmdkTestKit.PatternedRaw(tmp, "src.raw", 9L << 20, 5);
        string image = tmp.File("so.vmdk");
        using (VirtualDisk source = DiskImage.Open(raw))
        {
            DiskConverter.Convert(source, image, new DiskCreateOptions { Format = DiskFormat.Vmdk, Variant = "streamOptimized", NewIdentifier = IdentifierSource.Sequential(3) }, null, TestContext.Current.CancellationToken);
        }
        Assert.Equal("streamOptimized", VmdkTestKit.CreateType(QemuImg.Info(image, "vmdk")));
        QemuImg.Check(image, "vmdk");
        QemuImg.AssertIdentical(image, "vmdk", raw, "raw");
        Assert.True(new FileInfo(image).Length < 2L << 20, "the zero-filled parts are not stored");
        using VirtualDisk ours = DiskImage.Open(image);
        VmdkTestKit.AssertContentEquals(ours.Content, raw);
    }

    [Fact]
    public void ConvertingTheNtfsCorpusImageToEveryVariantKeepsItsBytes()
    {
        string source = TestData.Require("disks/vmdk/monolithicSparse.vmdk");
        using var tmp = new TempDir();
        using VirtualDisk disk = DiskImage.Open(source);
        foreach (string variant in new[] { "monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "streamOptimized" })
        {
            string target = tmp.File(variant + ".vmdk");
            DiskConverter.Convert(disk, target, new DiskCreateOptions { Format = DiskFormat.Vmdk, Variant = variant }, null, TestContext.Current.CancellationToken);
            Assert.False(File.Exists(target + ".partial"));
            JsonElement extents = QemuImg.Info(target, "vmdk").GetProperty("format-specific").GetProperty("data").GetProperty("extents");
            foreach (JsonElement extent in extents.EnumerateArray())
            {
                Assert.True(File.Exists(extent.GetProperty("filename").GetString()), "qemu finds every extent under its final name");
            }
            if (variant is "monolithicSparse" or "streamOptimized")
            {
                Assert.Contains($"SPARSE \"{variant}.vmdk\"", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(target), 512, 1024), StringComparison.Ordinal);
            }
            QemuImg.Check(target, "vmdk");
            QemuImg.AssertIdentical(target, "vmdk", source, "vmdk");
        }
    }

    [Fact]
    public void RandomWritesIntoAnExistingStreamOptimizedImageAreRefused()
    {
        string source = TestData.Require("disks/vmdk/streamOptimized.vmdk");
        using var tmp = new TempDir();
        string copy = tmp.File("so.vmdk");
        File.Copy(source, copy);
        byte[] before = File.ReadAllBytes(copy);
        using (VirtualDisk disk = DiskImage.Open(copy, DiskAccess.ReadWrite))
        {
            var ex = Assert.Throws<NotSupportedException>(() => disk.Content.WriteAt(4096, new byte[512]));
            Assert.Contains("streamOptimized", ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void WritingBackwardsIntoANewStreamOptimizedImageIsRefused()
    {
        using var tmp = new TempDir();
        using VirtualDisk disk = DiskImage.Create(tmp.File("s.vmdk"), new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 4 << 20, Variant = "streamOptimized" });
        disk.Content.WriteAt(1 << 20, new byte[] { 1 });
        var ex = Assert.Throws<NotSupportedException>(() => disk.Content.WriteAt(0, new byte[] { 1 }));
        Assert.Contains("sequentially", ex.Message, StringComparison.Ordinal);
    }
}
