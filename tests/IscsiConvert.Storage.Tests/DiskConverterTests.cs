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
