using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;
using Xunit;

namespace IscsiConvert.Tests.Partitions;

public class FileSystemProbeTests
{
    public static TheoryData<string, long, string[], string> Formatters => new()
    {
        { "mkfs.ext2", 8L << 20, new[] { "-q", "-F", "-L", "my ext2" }, "ext2" },
        { "mkfs.ext3", 8L << 20, new[] { "-q", "-F", "-L", "ext3-label" }, "ext3" },
        { "mkfs.ext4", 8L << 20, new[] { "-q", "-F", "-L", "root" }, "ext4" },
        { "mkfs.vfat", 4L << 20, new[] { "-F", "12", "-n", "SMALL" }, "FAT12" },
        { "mkfs.vfat", 16L << 20, new[] { "-F", "16", "-n", "MIDDLE" }, "FAT16" },
        { "mkfs.vfat", 64L << 20, new[] { "-F", "32", "-s", "1", "-n", "EFI" }, "FAT32" },
        { "mkfs.vfat", 64L << 20, new[] { "-F", "32", "-s", "1" }, "FAT32" },
        { "mkswap", 4L << 20, new[] { "-L", "swappy" }, "swap" },
        { "mkntfs", 8L << 20, new[] { "-F", "-Q", "-L", "Windows" }, "ntfs" },
    };

    /// <summary>Every formatter's result is named as blkid names it (TYPE, or VERSION for FAT), with blkid's label.</summary>
    [Theory]
    [MemberData(nameof(Formatters))]
    public void Detect_AgreesWithBlkid(string mkfs, long size, string[] args, string expectedKind)
    {
        using var tmp = new TempDir();
        string path = PartitionOracles.BlankDisk(tmp, "vol.img", size);
        var all = new List<string>(args) { path };
        Oracle.RunChecked(mkfs, all.ToArray());
        Dictionary<string, string> blkid = PartitionOracles.Blkid(path);

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read);
        DetectedFileSystem fs = FileSystemProbe.Detect(file)!;
        Assert.NotNull(fs);
        string oracleName = blkid["TYPE"] switch
        {
            "vfat" => blkid["VERSION"],
            "ntfs" => "NTFS",
            string t => t,
        };
        Assert.Equal(oracleName, fs.Name);
        Assert.Equal(expectedKind, blkid["TYPE"] == "vfat" ? blkid["VERSION"] : blkid["TYPE"]);
        if (blkid["TYPE"] == "ntfs")
        {
            Assert.Null(fs.Label); // the NTFS label lives in the MFT: not read by the probe
        }
        else
        {
            Assert.Equal(blkid.GetValueOrDefault("LABEL"), fs.Label);
        }
    }

    [Fact]
    public void UnknownOrEmptyVolumes_AreNull()
    {
        Assert.Null(FileSystemProbe.Detect(new MemoryStream(new byte[8192])));
        Assert.Null(FileSystemProbe.Detect(new MemoryStream(new byte[100])));
    }

    [Theory]
    [InlineData("-FVE-FS-", "BitLocker")] // the BitLocker volume header's signature at offset 3
    [InlineData("ReFS\0\0\0\0", "ReFS")]
    [InlineData("EXFAT   ", "exFAT")]
    public void BootSectorSignatures_AreRecognised(string oemId, string expected)
    {
        byte[] sector = new byte[4096];
        System.Text.Encoding.ASCII.GetBytes(oemId).CopyTo(sector, 3);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        Assert.Equal(expected, FileSystemProbe.Detect(new MemoryStream(sector))?.Name);
    }

    [Fact]
    public void FileSystemsInsideGptPartitions_AreFoundThroughPartitionStreams()
    {
        // Format partitions in place: the file systems start at the partition offsets sgdisk chose.
        using var tmp = new TempDir();
        string path = PartitionOracles.BlankDisk(tmp, "disk.img", 64L << 20);
        PartitionOracles.SgdiskChecked(path, "-n", "1:2048:+34M", "-t", "1:ef00", "-n", "2:0:0", "-t", "2:8300");
        SfdiskTable t = PartitionOracles.SfdiskJson(path);
        string efi = PartitionOracles.BlankDisk(tmp, "efi.img", t.Partitions[0].Size * 512);
        string linux = PartitionOracles.BlankDisk(tmp, "linux.img", t.Partitions[1].Size * 512);
        Oracle.RunChecked("mkfs.vfat", "-F", "32", "-s", "1", "-n", "ESP", efi);
        Oracle.RunChecked("mkfs.ext4", "-q", "-F", "-L", "rootfs", linux);
        CopyInto(efi, path, t.Partitions[0].Start * 512);
        CopyInto(linux, path, t.Partitions[1].Start * 512);

        using VirtualDisk disk = DiskImage.Open(path);
        PartitionTable table = PartitionTable.Read(disk)!;
        using SparseStream p1 = table.Open(table.Partitions[0]);
        using SparseStream p2 = table.Partitions[1].Open();
        Assert.Equal("FAT32 \"ESP\"", FileSystemProbe.Detect(p1)!.ToString());
        Assert.Equal("ext4 \"rootfs\"", FileSystemProbe.Detect(p2)!.ToString());
    }

    private static void CopyInto(string source, string disk, long offset)
    {
        using var src = new FileStream(source, FileMode.Open, FileAccess.Read);
        using var dst = new FileStream(disk, FileMode.Open, FileAccess.Write);
        dst.Position = offset;
        src.CopyTo(dst);
    }
}
