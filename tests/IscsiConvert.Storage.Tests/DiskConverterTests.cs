using System;
using System.IO;
using System.Threading;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests;

public class DiskConverterTests
{
    [Fact]
    public void Raw_to_raw_keeps_content_and_skips_zero_chunks()
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.img");
        using (VirtualDisk disk = DiskImage.Create(source, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 16L << 20 }))
        {
            disk.Content.WriteAt(5 << 20, new byte[] { 1, 2, 3, 4 });
            disk.Content.WriteAt((16L << 20) - 512, new byte[512]);
            disk.Content.WriteAt((16L << 20) - 1, new byte[] { 0xFF });
        }

        long written;
        var reports = new System.Collections.Generic.List<ProgressReport>();
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            written = DiskConverter.Convert(disk, tmp.File("dst.img"), new DiskCreateOptions { Format = DiskFormat.Raw }, new SyncProgress(reports.Add));
        }

        // Only the two places with non-zero bytes are written (at most a chunk each; less where the host file system
        // reports smaller data extents); everything else stays a hole.
        Assert.InRange(written, 2, 2 * DiskConverter.ChunkSize);
        using (VirtualDisk copy = DiskImage.Open(tmp.File("dst.img")))
        {
            Assert.InRange(copy.StoredBytes, written, 2 * DiskConverter.ChunkSize);
        }
        QemuImg.AssertIdentical(source, "raw", tmp.File("dst.img"), "raw");
        Assert.Equal(reports[^1].Total, reports[^1].Completed);
        Assert.False(File.Exists(tmp.File("dst.img.partial")));
    }

    [Fact]
    public void Cancelled_conversion_leaves_no_output()
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.img");
        File.WriteAllBytes(source, new byte[4 << 20]);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            Assert.ThrowsAny<OperationCanceledException>(() =>
                DiskConverter.Convert(disk, tmp.File("dst.img"), new DiskCreateOptions { Format = DiskFormat.Raw }, null, cts.Token));
        }
        Assert.False(File.Exists(tmp.File("dst.img")));
        Assert.False(File.Exists(tmp.File("dst.img.partial")));
    }

    [Theory]
    [InlineData(DiskFormat.Vmdk, "monolithicFlat")]
    [InlineData(DiskFormat.Vmdk, "twoGbMaxExtentSparse")]
    [InlineData(DiskFormat.Vhdx, null)]
    [InlineData(DiskFormat.Qcow2, null)]
    public void Conversion_cancelled_after_the_target_exists_leaves_no_file_behind(DiskFormat format, string? variant)
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.img");
        byte[] data = new byte[4 << 20];
        data[100] = 1;
        File.WriteAllBytes(source, data);
        string outDir = Directory.CreateDirectory(tmp.File("out")).FullName;
        using var cts = new CancellationTokenSource();
        // The first report comes after the target image was created and before any data is copied.
        var cancelOnFirstReport = new SyncProgress(_ => cts.Cancel());
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            Assert.ThrowsAny<OperationCanceledException>(() =>
                DiskConverter.Convert(disk, Path.Combine(outDir, "dst.img"), new DiskCreateOptions { Format = format, Variant = variant }, cancelOnFirstReport, cts.Token));
        }
        Assert.Empty(Directory.GetFiles(outDir));
    }

    /// <summary>
    /// A conversion long enough to start the new image's write-back several times (<see cref="DiskConverter.WriteBackInterval"/>)
    /// and to allocate many blocks in the new image without the formats' ordering flushes (the unpublished .partial
    /// file): qemu-img must find the result identical to the source, and consistent where it can check the format.
    /// </summary>
    [Theory]
    [InlineData(DiskFormat.Raw, null, "raw")]
    [InlineData(DiskFormat.Vhd, null, "vpc")]
    [InlineData(DiskFormat.Vhdx, null, "vhdx")]
    [InlineData(DiskFormat.Vmdk, null, "vmdk")]
    [InlineData(DiskFormat.Vmdk, "twoGbMaxExtentSparse", "vmdk")]
    [InlineData(DiskFormat.Qcow2, null, "qcow2")]
    public void Long_conversion_is_identical_to_its_source_per_qemu(DiskFormat format, string? subformat, string qemuFormat)
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.img");
        long capacity = 128L << 20;
        var random = new Random(14);
        using (VirtualDisk disk = DiskImage.Create(source, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = capacity }))
        {
            // Runs of data of odd sizes at odd places (partial chunks and blocks), 3 * WriteBackInterval in all.
            long pos = 0;
            long data = 0;
            while (data < 3 * DiskConverter.WriteBackInterval)
            {
                byte[] run = new byte[random.Next(1, 3 << 20)];
                random.NextBytes(run);
                pos += random.Next(0, 1 << 20) + 512;
                if (pos + run.Length > capacity)
                {
                    break;
                }
                disk.Content.WriteAt(pos, run);
                pos += run.Length;
                data += run.Length;
            }
            Assert.True(data >= 3 * DiskConverter.WriteBackInterval, "the source holds enough data for several write-back intervals");
        }

        string target = tmp.File("dst." + qemuFormat);
        var options = new DiskCreateOptions { Format = format };
        if (subformat is not null)
        {
            options.Variant = subformat;
        }
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            DiskConverter.Convert(disk, target, options);
        }

        QemuImg.AssertIdentical(source, "raw", target, qemuFormat);
        if (format is DiskFormat.Qcow2 or DiskFormat.Vhdx or DiskFormat.Vmdk)
        {
            QemuImg.Check(target, qemuFormat);
        }
        Assert.False(File.Exists(target + ".partial"));
    }

    [Fact]
    public void Existing_destination_is_never_overwritten()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp.File("src.img"), new byte[4096]);
        File.WriteAllBytes(tmp.File("dst.img"), new byte[] { 9 });
        using VirtualDisk disk = DiskImage.Open(tmp.File("src.img"));
        Assert.Throws<IOException>(() => DiskConverter.Convert(disk, tmp.File("dst.img"), new DiskCreateOptions { Format = DiskFormat.Raw }));
        Assert.Equal(new byte[] { 9 }, File.ReadAllBytes(tmp.File("dst.img")));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests want the reports in order, on this thread.</summary>
    private sealed class SyncProgress(Action<ProgressReport> report) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => report(value);
    }
}
