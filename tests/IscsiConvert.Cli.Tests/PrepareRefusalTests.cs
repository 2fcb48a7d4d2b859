using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// Issue 12's refusals of `prepare`: an image file marked read-only (before the first write), a dirty NTFS volume, an image another
/// writer holds, and an image with two Windows installations and no `--partition` (the Windows 7 volume of
/// <see cref="MatchImages"/> twice behind an MBR). Each exits with the code docs/cli.md gives and changes no byte
/// and no timestamp of the image.
/// </summary>
public sealed class PrepareRefusalTests : IClassFixture<MatchImages>
{
    private const string Nic = @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02";
    private static readonly DateTime Old = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly MatchImages _images;

    public PrepareRefusalTests(MatchImages images)
    {
        _images = images;
    }

    private static (string Hash, DateTime Written) Snapshot(string path) =>
        (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))), File.GetLastWriteTimeUtc(path));

    private string Copy(string name)
    {
        string image = _images.Tmp.File(name);
        File.Copy(_images.Win7, image, overwrite: true);
        File.SetLastWriteTimeUtc(image, Old);
        return image;
    }

    [Fact]
    public void An_image_marked_read_only_is_refused_with_exit_code_3_even_for_root_and_is_unchanged()
    {
        string image = Copy("refuse-readonly.raw");
        File.SetAttributes(image, File.GetAttributes(image) | FileAttributes.ReadOnly);
        var before = Snapshot(image);
        try
        {
            var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", Nic);
            Assert.True(code == CliApp.Refused, $"exit {code}: {stderr}");
            Assert.Contains("read-only", stderr, StringComparison.Ordinal);
            Assert.Equal(before, Snapshot(image));

            // Reading it is fine: a dry run plans from a read-only image.
            (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--dry-run");
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
        string image = _images.Tmp.File("refuse-dirty-" + family + ".raw");
        File.Copy(family == "win7" ? _images.Win7 : _images.Win10, image, overwrite: true);
        foreach (long at in NtfsPatch.VolumeFlagsOffsets(image))
        {
            NtfsPatch.SetBits(image, at, 0x01); // chkdsk pending, as Windows leaves it after an unclean stop
        }
        File.SetLastWriteTimeUtc(image, Old);
        var before = Snapshot(image);
        // A plan that would succeed on the clean volume: the virtio NIC with its package (Windows 10 has no service for it).
        string package = PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, "refuse-dirty-pkg-" + family, family == "win7" ? "x86" : "amd64");
        const string VirtioNic = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";

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

    [Fact]
    public void An_image_another_writer_holds_is_refused_as_in_use_with_exit_code_3_and_is_unchanged()
    {
        string image = Copy("refuse-inuse.raw");
        var before = Snapshot(image);
        using (VirtualDisk holder = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", Nic);
            Assert.True(code == CliApp.Refused, $"exit {code}: {stderr}");
            Assert.Contains("in use", stderr, StringComparison.Ordinal);
        }
        Assert.Equal(before, Snapshot(image));
    }

    [Fact]
    public void Two_windows_installations_without_partition_are_a_usage_error_and_partition_chooses_one()
    {
        string volume = _images.Win7;
        long sectors = new FileInfo(volume).Length / 512;
        const long First = 2048;
        long second = First + sectors;
        string image = _images.Tmp.File("refuse-two-windows.raw");
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

        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", Nic);
        Assert.True(code == CliApp.UsageError, $"exit {code}: {stderr}");
        Assert.Contains("--partition", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(image));

        (code, string stdout, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--partition", "2", "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\E1G60\Start = REG_DWORD 0 (was 3)", stdout, StringComparison.Ordinal);
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
