using System;
using System.IO;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Qcow2;

/// <summary>
/// Writes of many clusters in one call go through the run path (clusters allocated together, one data write, entries
/// written per L2 table and refcounts per refcount block). These cover the boundaries a run can cross; each image must
/// pass `qemu-img check` and compare identical (per qemu) to the bytes written.
/// </summary>
public sealed class Qcow2RunWriteTests
{
    /// <summary>
    /// 512-byte clusters: an L2 table maps 32 KiB and a 16-bit refcount block counts 128 KiB of file, so one 3 MiB write
    /// spans about a hundred L2 tables and two dozen new refcount blocks, and outgrows the one-cluster refcount table.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1000)] // unaligned: a partial cluster at each end
    public void OneWriteAcrossManyL2TablesAndRefcountBlocks(int offset)
    {
        using var tmp = new TempDir();
        string image = tmp.File("span.qcow2");
        byte[] expected = new byte[16 << 20];
        using (VirtualDisk disk = DiskImage.Create(image, new DiskCreateOptions { Format = DiskFormat.Qcow2, Capacity = expected.Length, BlockSize = 512 }))
        {
            Write(disk, expected, offset, 3 << 20, 0x10);
            Write(disk, expected, (8 << 20) + offset, 7 << 20, 0x20); // grows the refcount table during the run
            Qcow2Oracle.AssertSameBytes(expected, Qcow2Oracle.ReadAll(disk));
        }
        AssertMatches(image, expected, tmp);
    }

    /// <summary>
    /// One write over clusters of every kind at once: private (in place), unallocated, zero, compressed, and shared with
    /// a snapshot (data and L2 table copied). The snapshot must keep its old content.
    /// </summary>
    [Fact]
    public void OneWriteOverClustersOfEveryKind()
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.qcow2");
        Qcow2Oracle.Create(source, "4M", "cluster_size=4096");
        Qcow2Oracle.Io(source, "write -P 0x31 64k 64k");
        string image = tmp.File("mixed.qcow2");
        // Compressed clusters at 64k-128k, then plain writes, a zeroed range and a snapshot that shares 0-256k.
        Oracle.RunChecked("qemu-img", "convert", "-c", "-O", "qcow2", "-o", "cluster_size=4096", source, image);
        Qcow2Oracle.Io(image, "write -P 0x32 0 64k", "write -z 128k 64k", "write -P 0x33 192k 64k");
        Oracle.RunChecked("qemu-img", "snapshot", "-c", "s1", image);
        Qcow2Oracle.Io(image, "write -P 0x34 256k 64k"); // private to the active layer after the snapshot
        string snapshotBefore = tmp.File("s1-before.raw");
        Oracle.RunChecked("qemu-img", "convert", "-l", "snapshot.name=s1", "-O", "raw", image, snapshotBefore);
        string raw = tmp.File("mixed.raw");
        QemuImg.ConvertToRaw(image, "qcow2", raw);
        byte[] expected = File.ReadAllBytes(raw);

        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Write(disk, expected, 0, 1 << 20, 0x40);                  // every kind, cluster-aligned
            Write(disk, expected, 100, (1 << 20) + 5000, 0x50);       // again, now all private, unaligned ends
            Write(disk, expected, (2 << 20) - 3, 70_000, 0x60);       // unallocated, unaligned
            Qcow2Oracle.AssertSameBytes(expected, Qcow2Oracle.ReadAll(disk));
        }
        AssertMatches(image, expected, tmp);
        string snapshotAfter = tmp.File("s1-after.raw");
        Oracle.RunChecked("qemu-img", "convert", "-l", "snapshot.name=s1", "-O", "raw", image, snapshotAfter);
        Qcow2Oracle.AssertSameBytes(File.ReadAllBytes(snapshotBefore), File.ReadAllBytes(snapshotAfter));
    }

    /// <summary>
    /// Converting with small clusters: every 1 MiB chunk needs new refcount blocks part way through its run (512-byte
    /// clusters: one per 128 KiB of file; 4 KiB clusters: one per 8 MiB, so the boundary falls inside a chunk).
    /// </summary>
    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public void ConversionNeedingNewRefcountBlocksMidChunkPassesCheck(int clusterSize)
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.img");
        byte[] data = new byte[40 << 20];
        var fill = new byte[(1 << 20) + 12345];
        for (int i = 0; i < fill.Length; i++)
        {
            fill[i] = (byte)((i * 7) + 1);
        }
        for (int mib = 0; mib < 38; mib += 2)
        {
            fill.CopyTo(data, (mib << 20) + (mib * 100));
        }
        File.WriteAllBytes(source, data);
        string output = tmp.File("out.qcow2");
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            DiskConverter.Convert(disk, output, new DiskCreateOptions { Format = DiskFormat.Qcow2, BlockSize = clusterSize }, null, TestContext.Current.CancellationToken);
        }
        Assert.Equal(clusterSize, QemuImg.Info(output, "qcow2").GetProperty("cluster-size").GetInt64());
        Qcow2Oracle.AssertClean(output);
        QemuImg.AssertIdentical(output, "qcow2", source, "raw");
    }

    private static void AssertMatches(string image, byte[] expected, TempDir tmp)
    {
        Qcow2Oracle.AssertClean(image);
        string raw = tmp.File("expected.raw");
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(image, "qcow2", raw, "raw");
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
