using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Storage.Qcow2;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Qcow2;

/// <summary>Reading QCOW2 images made by qemu (and the shared corpus) gives exactly qemu-img's raw bytes.</summary>
public sealed class Qcow2ReadTests
{
    private static readonly string[] Workload =
    {
        "write -P 0xab 1M 64k",
        "write -z 3M 64k",
        "write -P 0x5c 100000 3000",
        "write -P 0x11 4190000 300000",
        "write -P 0x77 7M 1M",
    };

    [Theory]
    [InlineData("disks/qcow2/ext2.qcow2")]
    [InlineData("disks/qcow2/windows_volume.qcow2")]
    public void CorpusImagesMatchQemu(string relative)
    {
        string path = TestData.Require(relative);
        JsonElement info = QemuImg.Info(path);
        using var tmp = new TempDir();
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Equal("qcow2", info.GetProperty("format").GetString());
            Assert.Equal(DiskFormat.Qcow2, disk.Format);
            Assert.Equal(info.GetProperty("virtual-size").GetInt64(), disk.Capacity);
            string compat = info.GetProperty("format-specific").GetProperty("data").GetProperty("compat").GetString()!;
            Assert.Equal(compat == "0.10" ? "v2" : "v3", disk.Subformat);
        }
        Qcow2Oracle.AssertReadsAsQemu(path, tmp);
    }

    [Theory]
    [InlineData("compat=0.10", "v2")]
    [InlineData("compat=1.1,cluster_size=512", "v3")]
    [InlineData("compat=1.1,cluster_size=65536", "v3")]
    [InlineData("compat=1.1,cluster_size=2097152", "v3")]
    [InlineData("compat=1.1,lazy_refcounts=on", "v3")]
    [InlineData("compat=1.1,refcount_bits=1", "v3")]
    [InlineData("compat=1.1,refcount_bits=64", "v3")]
    public void QemuWrittenImagesMatchQemu(string options, string subformat)
    {
        using var tmp = new TempDir();
        string image = tmp.File("a.qcow2");
        Qcow2Oracle.Create(image, "9M", options);
        Qcow2Oracle.Io(image, Workload);
        using (VirtualDisk disk = DiskImage.Open(image))
        {
            Assert.Equal(subformat, disk.Subformat);
            Assert.Equal(9L << 20, disk.Capacity);
        }
        Qcow2Oracle.AssertReadsAsQemu(image, tmp);
    }

    [Fact]
    public void CompressedImageMatchesQemu()
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.qcow2");
        Qcow2Oracle.Create(source, "6M");
        Qcow2Oracle.Io(source, Workload[0], Workload[2], "write -P 0x33 2M 1M", "write -P 0 5M 4k");
        string compressed = tmp.File("c.qcow2");
        Oracle.RunChecked("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "cluster_size=4096", source, compressed);
        Qcow2Oracle.AssertReadsAsQemu(compressed, tmp);
        string compressed2 = tmp.File("c2.qcow2");
        Oracle.RunChecked("qemu-img", "convert", "-c", "-O", "qcow2", source, compressed2);
        Qcow2Oracle.AssertReadsAsQemu(compressed2, tmp);
    }

    [Fact]
    public void BackingChainMatchesQemu()
    {
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.qcow2");
        Qcow2Oracle.Create(baseImage, "8M");
        Qcow2Oracle.Io(baseImage, "write -P 0x42 0 8M");
        Directory.CreateDirectory(tmp.File("sub"));
        string child = tmp.File("sub/child.qcow2");
        Qcow2Oracle.Create(child, string.Empty, null, "../base.qcow2", "qcow2");
        // Zero clusters hide the backing file; unallocated ones show it.
        Qcow2Oracle.Io(child, "write -P 0xab 1M 64k", "write -z 3M 64k", "write -P 0x5c 100000 3000");
        using (VirtualDisk disk = DiskImage.Open(child))
        {
            Assert.NotNull(disk.Parent);
            Assert.Equal(Path.GetFullPath(baseImage), disk.Parent!.FilePath);
            Assert.Equal("../base.qcow2", ((Qcow2Disk)disk).BackingFile);
            byte[] all = Qcow2Oracle.ReadAll(disk);
            Assert.Equal(0x42, all[0]);
            Assert.Equal(0, all[(3 << 20) + 5]);
        }
        Qcow2Oracle.AssertReadsAsQemu(child, tmp);
    }

    [Fact]
    public void RawBackingFileIsRead()
    {
        using var tmp = new TempDir();
        string raw = tmp.File("base.img");
        byte[] data = new byte[4 << 20];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 7 / 4096);
        }
        File.WriteAllBytes(raw, data);
        string child = tmp.File("child.qcow2");
        Qcow2Oracle.Create(child, string.Empty, null, "base.img", "raw");
        Qcow2Oracle.Io(child, "write -P 0xab 1M 64k");
        Qcow2Oracle.AssertReadsAsQemu(child, tmp);
    }

    [Fact]
    public void SnapshotsAreListedAndReadLikeQemu()
    {
        using var tmp = new TempDir();
        string image = tmp.File("s.qcow2");
        Qcow2Oracle.Create(image, "8M");
        Qcow2Oracle.Io(image, "write -P 0x01 0 2M");
        Oracle.RunChecked("qemu-img", "snapshot", "-c", "s1", image);
        Qcow2Oracle.Io(image, "write -P 0x02 1M 2M", "write -z 0 64k");
        Oracle.RunChecked("qemu-img", "snapshot", "-c", "second", image);
        Qcow2Oracle.Io(image, "write -P 0x03 5M 100k");

        JsonElement info = QemuImg.Info(image);
        JsonElement[] expected = info.GetProperty("snapshots").EnumerateArray().ToArray();
        using (var disk = (Qcow2Disk)DiskImage.Open(image))
        {
            Assert.Equal(expected.Length, disk.Snapshots.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i].GetProperty("id").GetString(), disk.Snapshots[i].Id);
                Assert.Equal(expected[i].GetProperty("name").GetString(), disk.Snapshots[i].Name);
                Assert.Equal(expected[i].GetProperty("date-sec").GetInt64(), disk.Snapshots[i].Date.ToUnixTimeSeconds());
                Assert.Equal(8L << 20, disk.Snapshots[i].VirtualSize);
            }
        }
        Qcow2Oracle.AssertReadsAsQemu(image, tmp);
        foreach (string name in new[] { "s1", "second" })
        {
            string raw = tmp.File(name + ".raw");
            Oracle.RunChecked("qemu-img", "convert", "-l", "snapshot.name=" + name, "-O", "raw", image, raw);
            using Qcow2Disk snap = Qcow2Disk.OpenSnapshot(image, name);
            Assert.False(snap.Content.CanWrite);
            Qcow2Oracle.AssertSameBytes(File.ReadAllBytes(raw), Qcow2Oracle.ReadAll(snap));
        }
    }

    [Fact]
    public void ExtentsCoverExactlyTheAllocatedClusters()
    {
        using var tmp = new TempDir();
        string image = tmp.File("e.qcow2");
        Qcow2Oracle.Create(image, "8M");
        Qcow2Oracle.Io(image, "write -P 0xab 1M 64k", "write -z 3M 64k");
        // qemu-img map lists data ranges; with no backing file the zero cluster is not data.
        string map = Oracle.RunChecked("qemu-img", "map", "--output=json", "-f", "qcow2", image);
        using JsonDocument doc = JsonDocument.Parse(map);
        long dataBytes = 0;
        foreach (JsonElement e in doc.RootElement.EnumerateArray())
        {
            if (e.GetProperty("data").GetBoolean())
            {
                dataBytes += e.GetProperty("length").GetInt64();
            }
        }
        using VirtualDisk disk = DiskImage.Open(image);
        Assert.Equal(dataBytes, ExtentMath.Sum(disk.Content.GetExtents()));
        Assert.Equal(new StreamExtent(1 << 20, 64 << 10), Assert.Single(disk.Content.GetExtents()));
    }

    [Fact]
    public void DirtyImageReadsLikeQemuReadOnly()
    {
        using var tmp = new TempDir();
        string image = tmp.File("dirty.qcow2");
        Qcow2Oracle.Create(image, "4M", "compat=1.1,lazy_refcounts=on");
        // qemu-io's abort leaves a lazy-refcounts image dirty, as a crashed VM would.
        Oracle.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x99 64k 128k", "-c", "abort", image);
        byte[] head = new byte[80];
        using (FileStream f = File.OpenRead(image))
        {
            f.ReadExactly(head);
        }
        Assert.True((head[79] & 1) == 1, "qemu-io abort should have left the dirty bit set");
        byte[] before = File.ReadAllBytes(image);
        using (VirtualDisk disk = DiskImage.Open(image))
        {
            byte[] all = Qcow2Oracle.ReadAll(disk);
            Assert.Equal(0x99, all[(64 << 10) + 5]);
        }
        Assert.Equal(before, File.ReadAllBytes(image));
        Qcow2Oracle.AssertReadsAsQemu(image, tmp);
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void ConverterToRawEqualsQemuRaw()
    {
        string source = TestData.Require("disks/qcow2/windows_volume.qcow2");
        using var tmp = new TempDir();
        string expected = tmp.File("qemu.raw");
        QemuImg.ConvertToRaw(source, "qcow2", expected);
        string ours = tmp.File("ours.raw");
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            DiskConverter.Convert(disk, ours, new DiskCreateOptions { Format = DiskFormat.Raw }, null, TestContext.Current.CancellationToken);
        }
        QemuImg.AssertIdentical(expected, "raw", ours, "raw");
        Qcow2Oracle.AssertSameBytes(File.ReadAllBytes(expected), File.ReadAllBytes(ours));
    }
}
