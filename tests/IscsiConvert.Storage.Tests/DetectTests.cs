using System.Collections.Generic;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests;

/// <summary>Format detection by content agrees with qemu-img's own probe on every image in the shared corpus.</summary>
public class DetectTests
{
    public static IEnumerable<object[]> CorpusImages() => new[]
    {
        new object[] { "disks/vhd/ext2.vhd", "vpc" },
        new object[] { "disks/vhd/fat-differential.vhd", "vpc" },
        new object[] { "disks/vmdk/ext2.vmdk", "vmdk" },
        new object[] { "disks/vmdk/monolithicSparse.vmdk", "vmdk" },
        new object[] { "disks/vmdk/streamOptimized.vmdk", "vmdk" },
        new object[] { "disks/qcow2/ext2.qcow2", "qcow2" },
        new object[] { "disks/qcow2/windows_volume.qcow2", "qcow2" },
        new object[] { "disks/vhdx/swap.vhdx.gz", "vhdx" },
        new object[] { "ntfs/testfs1", "raw" },
    };

    [Theory]
    [MemberData(nameof(CorpusImages))]
    public void Detect_agrees_with_qemu_img(string relativePath, string qemuFormat)
    {
        using var tmp = new TempDir();
        string path = relativePath.EndsWith(".gz", System.StringComparison.Ordinal)
            ? TestData.Gunzip(relativePath, tmp.Path)
            : TestData.Require(relativePath);

        // qemu's probe is the oracle; the expected name in the row only guards against qemu probing something odd.
        string probed = QemuImg.Info(path).GetProperty("format").GetString()!;
        Assert.Equal(qemuFormat, probed);

        DiskFormat ours = DiskImage.Detect(path);
        Assert.Equal(probed, ours switch
        {
            DiskFormat.Vhd => "vpc",
            _ => ours.ToString().ToLowerInvariant(),
        });
    }

    [Fact]
    public void Short_or_empty_files_are_raw()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp.File("empty"), new byte[0]);
        File.WriteAllBytes(tmp.File("tiny"), new byte[] { 0x51, 0x46 });
        Assert.Equal(DiskFormat.Raw, DiskImage.Detect(tmp.File("empty")));
        Assert.Equal(DiskFormat.Raw, DiskImage.Detect(tmp.File("tiny")));
    }
}
