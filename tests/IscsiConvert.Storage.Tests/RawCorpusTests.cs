using System.Collections.Generic;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests;

/// <summary>The raw images of the shared corpus (volumes and whole disks made by Windows and mkntfs) against qemu-img.</summary>
public class RawCorpusTests
{
    public static IEnumerable<object[]> RawImages() => new[]
    {
        new object[] { "ntfs/testfs1" },
        new object[] { "ntfs/ntfs-lastaccess.raw.gz" },
        new object[] { "ntfs/ntfs-ptrn.raw.gz" },
        new object[] { "ntfs/ntfs-2m.raw.gz" },
    };

    [Theory]
    [MemberData(nameof(RawImages))]
    public void Raw_corpus_image_matches_qemu_img_and_converts_identically(string relativePath)
    {
        using var tmp = new TempDir();
        string path = relativePath.EndsWith(".gz", System.StringComparison.Ordinal)
            ? TestData.Gunzip(relativePath, tmp.Path)
            : TestData.Require(relativePath);
        var info = QemuImg.Info(path);

        string ours = tmp.File("ours.img");
        string qemus = tmp.File("qemu.img");
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Equal(info.GetProperty("format").GetString(), disk.Format.ToString().ToLowerInvariant());
            Assert.Equal(info.GetProperty("virtual-size").GetInt64(), disk.Capacity);
            Assert.Null(disk.Parent);
            Assert.False(info.TryGetProperty("backing-filename", out _));
            DiskConverter.Convert(disk, ours, new DiskCreateOptions { Format = DiskFormat.Raw });
        }
        QemuImg.ConvertToRaw(path, "raw", qemus);
        Assert.Equal(new FileInfo(qemus).Length, new FileInfo(ours).Length);
        QemuImg.AssertIdentical(qemus, "raw", ours, "raw");
    }
}
