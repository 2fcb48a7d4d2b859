using System;
using System.IO;
using System.Text.Json;
using CsCheck;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Qcow2;

/// <summary>Images we create and write pass `qemu-img check` and compare identical (per qemu) to the expected bytes.</summary>
public sealed class Qcow2WriteTests
{
    private const int DiskSize = 4 << 20;

    [Theory]
    [InlineData(512)]
    [InlineData(65536)]
    [InlineData(2097152)]
    public void CreatedAndWrittenImagePassesQemuCheck(int clusterSize)
    {
        using var tmp = new TempDir();
        string image = tmp.File("new.qcow2");
        byte[] expected = new byte[8 << 20];
        using (VirtualDisk disk = DiskImage.Create(image, new DiskCreateOptions { Format = DiskFormat.Qcow2, Capacity = expected.Length, BlockSize = clusterSize }))
        {
            Assert.Equal("v3", disk.Subformat);
            Write(disk, expected, 0, 4096, 0x11);
            Write(disk, expected, (1 << 20) - 100, 300_000, 0x22);
            Write(disk, expected, 5_000_001, 2_000_000, 0x33);
            Write(disk, expected, 1 << 20, 10, 0x44); // overwrite in place
            Write(disk, expected, expected.Length - 512, 512, 0x55);
            Qcow2Oracle.AssertSameBytes(expected, Qcow2Oracle.ReadAll(disk));
        }
        JsonElement info = QemuImg.Info(image, "qcow2");
        Assert.Equal(expected.Length, info.GetProperty("virtual-size").GetInt64());
        Assert.Equal(clusterSize, info.GetProperty("cluster-size").GetInt64());
        Assert.Equal("1.1", info.GetProperty("format-specific").GetProperty("data").GetProperty("compat").GetString());
        Qcow2Oracle.AssertClean(image);
        string raw = tmp.File("expected.raw");
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
    }

    [Fact]
    public void EmptyCreatedImagePassesCheck()
    {
        using var tmp = new TempDir();
        string image = tmp.File("empty.qcow2");
        using (VirtualDisk disk = DiskImage.Create(image, new DiskCreateOptions { Format = DiskFormat.Qcow2, Capacity = 10L << 30 }))
        {
            Assert.Empty(disk.Content.GetExtents());
        }
        Qcow2Oracle.AssertClean(image);
        Assert.Equal(10L << 30, QemuImg.Info(image, "qcow2").GetProperty("virtual-size").GetInt64());
    }

    [Fact]
    public void FixedIsRejected()
    {
        using var tmp = new TempDir();
        Assert.Throws<ArgumentException>(() => DiskImage.Create(tmp.File("f.qcow2"), new DiskCreateOptions { Format = DiskFormat.Qcow2, Capacity = 1 << 20, Fixed = true }));
        Assert.False(File.Exists(tmp.File("f.qcow2")));
    }

    [Fact]
    public void CreatedChildOfBackingFileIsOpenedByQemu()
    {
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.qcow2");
        Qcow2Oracle.Create(baseImage, "4M");
        Qcow2Oracle.Io(baseImage, "write -P 0x42 0 4M");
        Directory.CreateDirectory(tmp.File("kids"));
        string child = tmp.File("kids/child.qcow2");
        byte[] expected = new byte[4 << 20];
        expected.AsSpan().Fill(0x42);
        using (VirtualDisk disk = DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Qcow2, ParentPath = baseImage, BlockSize = 4096 }))
        {
            Assert.Equal(expected.Length, disk.Capacity);
            Write(disk, expected, 10_000, 5_000, 0x07);
            Write(disk, expected, 3 << 20, 64 << 10, 0x08);
            Qcow2Oracle.AssertSameBytes(expected, Qcow2Oracle.ReadAll(disk));
        }
        JsonElement info = QemuImg.Info(child, "qcow2");
        Assert.Equal("../base.qcow2", info.GetProperty("backing-filename").GetString());
        Assert.Equal("qcow2", info.GetProperty("backing-filename-format").GetString());
        Assert.Equal(Path.GetFullPath(baseImage), Path.GetFullPath(info.GetProperty("full-backing-filename").GetString()!));
        Qcow2Oracle.AssertClean(child);
        string raw = tmp.File("expected.raw");
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(child, "qcow2", raw, "raw");
    }

    [Fact]
    public void WritesToSnapshottedImageCopyOnWriteAndKeepTheSnapshot()
    {
        using var tmp = new TempDir();
        string image = tmp.File("snap.qcow2");
        Qcow2Oracle.Create(image, "4M", "cluster_size=4096");
        Qcow2Oracle.Io(image, "write -P 0x01 0 3M");
        Oracle.RunChecked("qemu-img", "snapshot", "-c", "s1", image);
        string s1Before = tmp.File("s1-before.raw");
        Oracle.RunChecked("qemu-img", "convert", "-l", "snapshot.name=s1", "-O", "raw", image, s1Before);
        string active = tmp.File("active.raw");
        QemuImg.ConvertToRaw(image, "qcow2", active);
        byte[] expected = File.ReadAllBytes(active);

        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Write(disk, expected, 100, 10, 0xEE);               // shared data and shared L2 table
            Write(disk, expected, 1_000_000, 50_000, 0xDD);     // across many shared clusters
            Write(disk, expected, (3 << 20) + 7, 4096, 0xCC);   // unallocated
            Write(disk, expected, 100, 10, 0xEF);               // now private: in place
        }
        Qcow2Oracle.AssertClean(image);
        File.WriteAllBytes(active, expected);
        QemuImg.AssertIdentical(image, "qcow2", active, "raw");
        string s1After = tmp.File("s1-after.raw");
        Oracle.RunChecked("qemu-img", "convert", "-l", "snapshot.name=s1", "-O", "raw", image, s1After);
        Qcow2Oracle.AssertSameBytes(File.ReadAllBytes(s1Before), File.ReadAllBytes(s1After));
    }

    [Fact]
    public void WritesOverCompressedClustersPassCheck()
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.qcow2");
        Qcow2Oracle.Create(source, "4M");
        Qcow2Oracle.Io(source, "write -P 0x61 0 2M", "write -P 0x62 3M 512k");
        string image = tmp.File("c.qcow2");
        Oracle.RunChecked("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "cluster_size=4096", source, image);
        string raw = tmp.File("c.raw");
        QemuImg.ConvertToRaw(image, "qcow2", raw);
        byte[] expected = File.ReadAllBytes(raw);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Write(disk, expected, 5000, 3, 0x01);
            Write(disk, expected, 4096 * 10, 4096 * 3, 0x02);
            Write(disk, expected, (3 << 20) - 10, 20, 0x03);
        }
        Qcow2Oracle.AssertClean(image);
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
    }

    [Fact]
    public void WritesToQemuImagesWithOtherRefcountWidthsPassCheck()
    {
        using var tmp = new TempDir();
        foreach (string bits in new[] { "1", "2", "8", "64" })
        {
            string image = tmp.File($"r{bits}.qcow2");
            Qcow2Oracle.Create(image, "4M", $"refcount_bits={bits},cluster_size=512");
            Qcow2Oracle.Io(image, "write -P 0x61 0 64k");
            byte[] expected = new byte[4 << 20];
            expected.AsSpan(0, 64 << 10).Fill(0x61);
            using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
            {
                Write(disk, expected, 1000, 3_000_000, 0x11);
            }
            Qcow2Oracle.AssertClean(image);
            string raw = tmp.File($"r{bits}.raw");
            File.WriteAllBytes(raw, expected);
            QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
        }
    }

    [Theory]
    [InlineData("compat=0.10")]
    [InlineData("compat=1.1,lazy_refcounts=on")]
    [InlineData("compat=1.1,preallocation=metadata")]
    public void WritesToQemuImagesPassCheck(string options)
    {
        using var tmp = new TempDir();
        string image = tmp.File("q.qcow2");
        Qcow2Oracle.Create(image, "4M", options + ",cluster_size=4096");
        Qcow2Oracle.Io(image, "write -P 0x61 0 64k", "write -z 1M 64k");
        string raw = tmp.File("q.raw");
        QemuImg.ConvertToRaw(image, "qcow2", raw);
        byte[] expected = File.ReadAllBytes(raw);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Write(disk, expected, 1000, 100_000, 0x11);
            Write(disk, expected, (1 << 20) + 4000, 200, 0x12); // inside a zero cluster
            Write(disk, expected, 3 << 20, 4096, 0x13);
        }
        Qcow2Oracle.AssertClean(image);
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
    }

    [Fact]
    public void RefcountTableGrowsWithSmallClusters()
    {
        // 512-byte clusters: one refcount table cluster describes only 8 MiB of file, so 20 MiB of data grows it twice.
        using var tmp = new TempDir();
        string image = tmp.File("grow.qcow2");
        byte[] expected = new byte[24 << 20];
        using (VirtualDisk disk = DiskImage.Create(image, new DiskCreateOptions { Format = DiskFormat.Qcow2, Capacity = expected.Length, BlockSize = 512 }))
        {
            for (int mib = 0; mib < 20; mib++)
            {
                Write(disk, expected, (mib << 20) + (mib * 3), 1 << 20, (byte)(mib + 1));
            }
            Qcow2Oracle.AssertSameBytes(expected, Qcow2Oracle.ReadAll(disk));
        }
        Qcow2Oracle.AssertClean(image);
        string raw = tmp.File("grow.raw");
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
    }

    [Fact]
    public void WritingAnImageWithBitmapsClearsTheirAutoclearBit()
    {
        using var tmp = new TempDir();
        string image = tmp.File("bm.qcow2");
        Qcow2Oracle.Create(image, "4M");
        Oracle.RunChecked("qemu-img", "bitmap", "--add", image, "b0");
        Assert.Contains("b0", Oracle.RunChecked("qemu-img", "info", image), StringComparison.Ordinal);
        byte[] expected = new byte[4 << 20];
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Write(disk, expected, 5, 70_000, 0x21);
        }
        // We do not maintain bitmaps, so the write clears autoclear bit 0 first (qcow2.txt): qemu then sees the bitmaps as
        // inconsistent and reports their two clusters (directory and bitmap table) as leaked - no corruption.
        ToolResult check = Oracle.Run("qemu-img", "check", "-f", "qcow2", image);
        string output = check.StdOut + check.StdErr;
        Assert.DoesNotContain("ERROR", output, StringComparison.Ordinal);
        Assert.Equal(3, check.ExitCode);
        Assert.Contains("2 leaked clusters were found", output, StringComparison.Ordinal);
        Assert.Contains("a program lacking bitmap support modified this file", output, StringComparison.Ordinal);
        string raw = tmp.File("bm.raw");
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DirtyImageGetsItsRefcountsRebuiltBeforeWriting(bool withSnapshot)
    {
        using var tmp = new TempDir();
        string image = tmp.File("dirty.qcow2");
        Qcow2Oracle.Create(image, "4M", "compat=1.1,lazy_refcounts=on,cluster_size=4096");
        Qcow2Oracle.Io(image, "write -P 0x10 0 256k");
        if (withSnapshot)
        {
            Oracle.RunChecked("qemu-img", "snapshot", "-c", "s1", image);
        }
        // qemu-io's abort leaves the lazy-refcounts image dirty with stale refcounts, as a crashed VM would.
        Oracle.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x99 64k 128k", "-c", "write -P 0x98 1M 300k", "-c", "abort", image);
        ToolResult stale = Oracle.Run("qemu-img", "check", "-f", "qcow2", image);
        Assert.True(stale.ExitCode != 0, "the crashed image should have inconsistent refcounts:\n" + stale.StdOut);
        string raw = tmp.File("dirty.raw");
        QemuImg.ConvertToRaw(image, "qcow2", raw);
        byte[] expected = File.ReadAllBytes(raw);

        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Write(disk, expected, 100_000, 20_000, 0x31);   // over data shared with the snapshot (if any)
            Write(disk, expected, 1_100_000, 5_000, 0x32);  // over clusters written just before the crash
            Write(disk, expected, 3 << 20, 4096, 0x33);     // new
        }
        byte[] head = File.ReadAllBytes(image).AsSpan(0, 80).ToArray();
        Assert.Equal(0, head[79] & 1);
        Qcow2Oracle.AssertClean(image);
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
        if (withSnapshot)
        {
            string snap = tmp.File("s1.raw");
            Oracle.RunChecked("qemu-img", "convert", "-l", "snapshot.name=s1", "-O", "raw", image, snap);
            byte[] s1 = new byte[4 << 20];
            s1.AsSpan(0, 256 << 10).Fill(0x10);
            Qcow2Oracle.AssertSameBytes(s1, File.ReadAllBytes(snap));
        }
    }

    [Fact]
    public void ConvertingRawToQcow2PassesCheck()
    {
        string source = TestData.Require("disks/qcow2/windows_volume.qcow2");
        using var tmp = new TempDir();
        string output = tmp.File("out.qcow2");
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            DiskConverter.Convert(disk, output, new DiskCreateOptions { Format = DiskFormat.Qcow2 }, null, TestContext.Current.CancellationToken);
        }
        Qcow2Oracle.AssertClean(output);
        QemuImg.AssertIdentical(output, "qcow2", source, "qcow2");
    }

    /// <summary>Random writes (across cluster boundaries, overlapping, over a backing file) equal the same writes on an array.</summary>
    [Fact]
    public void RandomWritesMatchAnArray()
    {
        using var shared = new TempDir();
        string baseImage = shared.File("base.qcow2");
        Qcow2Oracle.Create(baseImage, "4M", "cluster_size=4096");
        Qcow2Oracle.Io(baseImage, "write -P 0x5a 512k 1M", "write -P 0xa5 3M 64k");
        byte[] baseBytes = new byte[DiskSize];
        baseBytes.AsSpan(512 << 10, 1 << 20).Fill(0x5a);
        baseBytes.AsSpan(3 << 20, 64 << 10).Fill(0xa5);

        Gen<(int Offset, int Length, byte Fill)> write =
            Gen.Select(
                Gen.OneOf(Gen.Int[0, DiskSize - 1], Gen.Int[0, 63].Select(c => (c * 65536) - 1 < 0 ? 0 : (c * 65536) - 1)),
                Gen.OneOf(Gen.Int[1, 600], Gen.Int[1, 200_000]),
                Gen.Byte[1, 255])
            .Select(t => (t.Item1, Math.Min(t.Item2, DiskSize - t.Item1), t.Item3));
        Gen<(int Cluster, bool Backing, (int Offset, int Length, byte Fill)[] Writes)> workload =
            Gen.Select(Gen.OneOfConst(512, 4096, 65536), Gen.Bool, write.Array[1, 12]);

        workload.Sample(w =>
        {
            using var tmp = new TempDir();
            string image = tmp.File("w.qcow2");
            byte[] expected = w.Backing ? (byte[])baseBytes.Clone() : new byte[DiskSize];
            var options = new DiskCreateOptions { Format = DiskFormat.Qcow2, BlockSize = w.Cluster };
            if (w.Backing)
            {
                options.ParentPath = baseImage;
            }
            else
            {
                options.Capacity = DiskSize;
            }
            using (VirtualDisk disk = DiskImage.Create(image, options))
            {
                foreach ((int offset, int length, byte fill) in w.Writes)
                {
                    Write(disk, expected, offset, length, fill);
                }
                Qcow2Oracle.AssertSameBytes(expected, Qcow2Oracle.ReadAll(disk));
            }
            Qcow2Oracle.AssertClean(image);
            string raw = tmp.File("w.raw");
            File.WriteAllBytes(raw, expected);
            QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
        }, iter: 30, threads: 1);
    }

    private static void Write(VirtualDisk disk, byte[] expected, int offset, int length, byte fill)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(fill + (i / 1000));
        }
        disk.Content.WriteAt(offset, data);
        data.CopyTo(expected, offset);
    }
}
