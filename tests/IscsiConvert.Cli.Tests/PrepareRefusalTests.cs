using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// Issue 12's refusals of `prepare`: an image file marked read-only (before the first write), a dirty NTFS volume, an image another
/// writer holds, and an image with two Windows installations and no `--partition` (the family's volume of
/// <see cref="MatchImages"/> twice behind an MBR). Each runs on the Windows 7 and the Windows 10 image, with a plan
/// that succeeds on the clean image (the virtio NIC with the netkvm package: Windows 10 has no service for it), exits
/// with the code docs/cli.md gives and changes no byte and no timestamp of the image.
/// </summary>
public sealed class PrepareRefusalTests : IClassFixture<MatchImages>
{
    private const string VirtioNic = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";
    private static readonly DateTime Old = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly MatchImages _images;

    public PrepareRefusalTests(MatchImages images)
    {
        _images = images;
    }

    private static (string Hash, DateTime Written) Snapshot(string path) =>
        (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))), File.GetLastWriteTimeUtc(path));

    private string Volume(string family) => family == "win7" ? _images.Win7 : _images.Win10;

    // A copy of the family's image, dated in the past (so a rewrite would show), and the netkvm package for its architecture.
    private (string Image, string Package) Copy(string family, string name)
    {
        string image = _images.Tmp.File(name + "-" + family + ".raw");
        File.Copy(Volume(family), image, overwrite: true);
        File.SetLastWriteTimeUtc(image, Old);
        return (image, Package(family, name));
    }

    private string Package(string family, string name) =>
        PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, name + "-pkg-" + family, family == "win7" ? "x86" : "amd64");

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void An_image_marked_read_only_is_refused_with_exit_code_3_even_for_root_and_is_unchanged(string family)
    {
        (string image, string package) = Copy(family, "refuse-readonly");
        File.SetAttributes(image, File.GetAttributes(image) | FileAttributes.ReadOnly);
        var before = Snapshot(image);
        try
        {
            var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package);
            Assert.True(code == CliApp.Refused, $"exit {code}: {stderr}");
            Assert.Contains("read-only", stderr, StringComparison.Ordinal);
            Assert.Equal(before, Snapshot(image));

            // Reading it is fine: a dry run plans from a read-only image.
            (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--dry-run");
            Assert.True(code == 0, stderr);
            Assert.Equal(before, Snapshot(image));
        }
        finally
        {
            File.SetAttributes(image, FileAttributes.Normal);
        }
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void A_dirty_ntfs_volume_is_refused_with_exit_code_3_in_place_and_into_a_child_and_is_unchanged(string family)
    {
        (string image, string package) = Copy(family, "refuse-dirty");
        foreach (long at in NtfsPatch.VolumeFlagsOffsets(image))
        {
            NtfsPatch.SetBits(image, at, 0x01); // chkdsk pending, as Windows leaves it after an unclean stop
        }
        File.SetLastWriteTimeUtc(image, Old);
        var before = Snapshot(image);

        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package);
        Assert.True(code == CliApp.Refused, $"exit {code}: {stderr}");
        Assert.Contains("dirty", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(image));

        string child = _images.Tmp.File("refuse-dirty-" + family + ".qcow2");
        (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--output", child);
        Assert.True(code == CliApp.Refused, $"exit {code}: {stderr}");
        Assert.False(File.Exists(child));
        Assert.Equal(before, Snapshot(image));
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void An_image_another_writer_holds_is_refused_as_in_use_with_exit_code_3_and_is_unchanged(string family)
    {
        (string image, string package) = Copy(family, "refuse-inuse");
        var before = Snapshot(image);
        using (VirtualDisk holder = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package);
            Assert.True(code == CliApp.Refused, $"exit {code}: {stderr}");
            Assert.Contains("in use", stderr, StringComparison.Ordinal);
        }
        Assert.Equal(before, Snapshot(image));
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Two_windows_installations_without_partition_are_a_usage_error_and_partition_chooses_one(string family)
    {
        string volume = Volume(family);
        string package = Package(family, "refuse-two-windows");
        long sectors = new FileInfo(volume).Length / 512;
        const long First = 2048;
        long second = First + sectors;
        string image = _images.Tmp.File("refuse-two-windows-" + family + ".raw");
        using (var disk = new FileStream(image, FileMode.Create))
        {
            byte[] mbr = new byte[512];
            MbrEntry(mbr, 0, First, sectors);
            MbrEntry(mbr, 1, second, sectors);
            mbr[510] = 0x55;
            mbr[511] = 0xAA;
            disk.Write(mbr);
            foreach (long start in new[] { First, second })
            {
                disk.Position = start * 512;
                using FileStream source = File.OpenRead(volume);
                source.CopyTo(disk);
            }
        }
        File.SetLastWriteTimeUtc(image, Old);
        var before = Snapshot(image);

        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package);
        Assert.True(code == CliApp.UsageError, $"exit {code}: {stderr}");
        Assert.Contains("--partition", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(image));

        (code, string stdout, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--partition", "2", "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains("Windows on partition 2", stdout, StringComparison.Ordinal);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\netkvm\Start = REG_DWORD 0 (new)", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(image));
    }

    // An MBR partition entry of type 07 (NTFS) at LBA start, count sectors (CHS left zero: LBA is what is read).
    private static void MbrEntry(byte[] mbr, int index, long start, long count)
    {
        int at = 446 + index * 16;
        mbr[at + 4] = 0x07;
        BitConverter.GetBytes((uint)start).CopyTo(mbr, at + 8);
        BitConverter.GetBytes((uint)count).CopyTo(mbr, at + 12);
    }
}
