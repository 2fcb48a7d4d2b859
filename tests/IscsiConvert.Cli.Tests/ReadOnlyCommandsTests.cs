using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// Every read-only command leaves every byte of its input as it was: the files are hashed before and after. The inputs
/// are writable copies (the corpus itself is read-only, where a stray write would fail instead of showing), and include
/// the cases that tempt a reader to write: a VHDX whose log needs replaying, dirty hives with logs to recover.
/// </summary>
public sealed class ReadOnlyCommandsTests : IClassFixture<MatchImages>
{
    private readonly MatchImages _images;

    public ReadOnlyCommandsTests(MatchImages images)
    {
        _images = images;
    }

    private static Dictionary<string, string> Hashes(IEnumerable<string> files) =>
        files.ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);

    private static void AssertUnchanged(string[] inputs, params string[] args)
    {
        Dictionary<string, string> before = Hashes(inputs);
        DateTime[] times = inputs.Select(File.GetLastWriteTimeUtc).ToArray();
        var (code, _, stderr) = CliRunner.Run(args);
        Assert.True(code is 0 or 1, $"{string.Join(" ", args)} exited {code}: {stderr}");
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Hashes(inputs));
        Assert.Equal(times, inputs.Select(File.GetLastWriteTimeUtc).ToArray());
    }

    private static string CopyWritable(TempDir tmp, string source, string? name = null)
    {
        string target = tmp.File(name ?? Path.GetFileName(source));
        File.Copy(source, target);
        File.SetAttributes(target, FileAttributes.Normal);
        return target;
    }

    [Theory]
    [InlineData("disks/vhd/ext2.vhd")]
    [InlineData("disks/vhd/fat-differential.vhd")]
    [InlineData("disks/vmdk/monolithicSparse.vmdk")]
    [InlineData("disks/vmdk/streamOptimized.vmdk")]
    [InlineData("disks/qcow2/windows_volume.qcow2")]
    [InlineData("disks/vhdx/vhdx-log-replay.vhdx.gz")]
    [InlineData("disks/vhdx/swap.vhdx.gz")]
    public void DiskInfo_FsLsCatCheck_ChangeNoByte(string relative)
    {
        using var tmp = new TempDir();
        string image = relative.EndsWith(".gz", StringComparison.Ordinal)
            ? TestData.Gunzip(relative, tmp.Path)
            : CopyWritable(tmp, TestData.Require(relative));
        string[] inputs = { image };
        AssertUnchanged(inputs, "disk", "info", image);
        AssertUnchanged(inputs, "disk", "info", image, "--json");
        AssertUnchanged(inputs, "fs", "ls", image, "\\");
        AssertUnchanged(inputs, "fs", "check", image);
        if (relative.Contains("windows_volume", StringComparison.Ordinal))
        {
            AssertUnchanged(inputs, "fs", "cat", image, "/windows/system32/config/SYSLOG", "--output", tmp.File("syslog.out"));
        }
    }

    [Fact]
    public void FsOnAnNtfsVolume_ChangesNoByte()
    {
        using var tmp = new TempDir();
        string volume = CopyWritable(tmp, TestData.Require("ntfs/testfs1"));
        string[] inputs = { volume };
        AssertUnchanged(inputs, "disk", "info", volume);
        AssertUnchanged(inputs, "fs", "ls", volume, "\\many_subdirs", "--json");
        AssertUnchanged(inputs, "fs", "cat", volume, "\\1000-bytes-file", "--output", tmp.File("out"));
        AssertUnchanged(inputs, "fs", "check", volume);
    }

    [Theory]
    [InlineData("registry/misc/BCD")]
    [InlineData("registry/misc/SECURITY")]
    [InlineData("registry/win7-dirty-oldlog/OldDirtyHive", "registry/win7-dirty-oldlog/OldDirtyHive.LOG1")]
    [InlineData("registry/win10-dirty-ntuser/transactions_NTUSER.DAT", "registry/win10-dirty-ntuser/transactions_ntuser.dat.log1", "registry/win10-dirty-ntuser/transactions_ntuser.dat.log2")]
    public void RegExportAndCheck_ChangeNoByte_NotEvenOfADirtyHiveOrItsLogs(params string[] relative)
    {
        using var tmp = new TempDir();
        string[] inputs = relative.Select(r => CopyWritable(tmp, TestData.Require(r))).ToArray();
        string hive = inputs[0];
        AssertUnchanged(inputs, "reg", "export", hive);
        AssertUnchanged(inputs, "reg", "export", hive, "--format", "json");
        AssertUnchanged(inputs, "reg", "check", hive);
    }

    [Fact]
    public void InfShow_ChangesNoByte()
    {
        using var tmp = new TempDir();
        string inf = CopyWritable(tmp, TestData.Require("inf/virtio-win/viostor.inx"));
        AssertUnchanged(new[] { inf }, "inf", "show", inf, "--os", "win10-x64");
        AssertUnchanged(new[] { inf }, "inf", "show", inf, "--os", "win7-x64", "--json");
    }

    [Fact]
    public void InspectMatchAndFs_OnAWindowsImage_ChangeNoByte()
    {
        string image = _images.Win7;
        string[] inputs = { image };
        AssertUnchanged(inputs, "inspect", image);
        AssertUnchanged(inputs, "inspect", image, "--json");
        AssertUnchanged(inputs, "match", image, "--hwid", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02");
        AssertUnchanged(inputs, "disk", "info", image);
        AssertUnchanged(inputs, "fs", "ls", image, @"\Windows\System32\config");
        AssertUnchanged(inputs, "fs", "check", image);
        using var tmp = new TempDir();
        AssertUnchanged(inputs, "fs", "cat", image, @"\Windows\System32\config\SYSTEM", "--output", tmp.File("SYSTEM"));
    }
}
