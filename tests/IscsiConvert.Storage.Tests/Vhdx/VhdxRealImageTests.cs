using System;
using System.IO;
using System.Text.Json;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Vhdx;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>Images made by Windows, checked against qemu-img and the manifest's facts.</summary>
public sealed class VhdxRealImageTests
{
    /// <summary>MANIFEST row 6: sha256 of the whole replayed 1 GiB virtual disk (qemu-img replay + convert -O raw).</summary>
    private const string ReplayedSha256 = "3ba3b309425b7ff5e8e0199edceed95226250f880c53b24e8eae93865f3fad5e";

    [Fact]
    public void Swap_ReportsWhatQemuReports_AndConvertsToIdenticalRaw()
    {
        using var tmp = new TempDir();
        string image = TestData.Gunzip("disks/vhdx/swap.vhdx.gz", tmp.Path);
        string before = VhdxTestSupport.FileSha256(image);
        JsonElement info = QemuImg.Info(image, "vhdx");
        string ours = tmp.File("ours.raw");
        using (VirtualDisk disk = DiskImage.Open(image))
        {
            Assert.Equal(DiskFormat.Vhdx, disk.Format);
            Assert.Equal("dynamic", disk.Subformat);
            Assert.Equal(info.GetProperty("virtual-size").GetInt64(), disk.Capacity);
            Assert.Null(disk.Parent);
            DiskConverter.Convert(disk, ours, new DiskCreateOptions { Format = DiskFormat.Raw }, null, TestContext.Current.CancellationToken);
        }
        string theirs = tmp.File("qemu.raw");
        QemuImg.ConvertToRaw(image, "vhdx", theirs);
        QemuImg.AssertIdentical(ours, "raw", theirs, "raw");
        Assert.Equal(before, VhdxTestSupport.FileSha256(image));
    }

    [Fact]
    public void DirtyLog_ReadOnlyOpen_ReplaysInMemory_AndLeavesTheFileUntouched()
    {
        using var tmp = new TempDir();
        string image = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        // The premise: qemu refuses the image until its log is replayed.
        Assert.NotEqual(0, Oracle.Run("qemu-img", "info", "-f", "vhdx", image).ExitCode);
        string before = VhdxTestSupport.FileSha256(image);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadOnly))
        {
            Assert.Equal(1L << 30, disk.Capacity);
            Assert.Equal(ReplayedSha256, VhdxTestSupport.ContentSha256(disk.Content));
        }
        Assert.Equal(before, VhdxTestSupport.FileSha256(image));
    }

    [Fact]
    public void DirtyLog_ReadWriteOpen_ReplaysOnDisk_AndQemuThenAccepts()
    {
        using var tmp = new TempDir();
        string image = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Assert.Equal(Guid.Empty, ((VhdxDisk)disk).CurrentHeader.LogGuid);
        }
        QemuImg.Check(image, "vhdx");
        Assert.Equal(1L << 30, QemuImg.Info(image, "vhdx").GetProperty("virtual-size").GetInt64());
        string raw = tmp.File("replayed.raw");
        QemuImg.ConvertToRaw(image, "vhdx", raw);
        Assert.Equal(ReplayedSha256, VhdxTestSupport.FileSha256(raw));
    }

    [Theory]
    [InlineData("dynamic")]
    [InlineData("fixed")]
    public void QemuMadeImages_ReadIdentically(string subformat)
    {
        using var tmp = new TempDir();
        string image = tmp.File("q.vhdx");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vhdx", "-o", "subformat=" + subformat, image, "64M");
        Oracle.RunChecked("qemu-io", "-f", "vhdx", "-c", "write -P 0xab 1M 64k", image);
        byte[] expected = new byte[64 << 20];
        expected.AsSpan(1 << 20, 64 << 10).Fill(0xab);
        using VirtualDisk disk = DiskImage.Open(image);
        Assert.Equal(subformat, disk.Subformat);
        Assert.Equal(expected, VhdxTestSupport.ReadAll(disk.Content));
        QemuImg.AssertIdentical(image, "vhdx", VhdxTestSupport.WriteRaw(tmp, "expected.raw", expected), "raw");
    }
}
