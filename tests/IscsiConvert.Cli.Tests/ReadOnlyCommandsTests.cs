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

    /// <summary>
    /// An image whose last in-place write was committed but not finished (its journal beside it, written from the
    /// format's description): every read-only command reads the write applied in memory and changes no byte of the
    /// image or the journal; `disk info` says so; `disk recover` then writes it, as ntfs-3g's ntfscat sees.
    /// </summary>
    [Fact]
    public void ReadOnlyCommands_OnAnImageWithAnUnfinishedCommittedWrite_ReadTheWriteInMemoryAndChangeNoByte()
    {
        using var tmp = new TempDir();
        string image = CopyWritable(tmp, _images.Win7, "win7.raw");
        string hive = TestData.Require("registry/win7-system/SYSTEM");
        // The hive's first cluster, found by its bytes (ntfs-3g copied the file whole); its base block is 4 KiB, of
        // which bytes 0x400–0x40F are reserved, unused by any reader: the write puts a marker there.
        byte[] head = File.ReadAllBytes(hive).AsSpan(0, 4096).ToArray();
        byte[] disk = File.ReadAllBytes(image);
        long hiveAt = -1;
        for (long at = 0; at + 4096 <= disk.Length; at += 4096)
        {
            if (disk.AsSpan((int)at, 4096).SequenceEqual(head))
            {
                hiveAt = at;
                break;
            }
        }
        Assert.True(hiveAt > 0, "the SYSTEM hive's first cluster was not found in the image");
        Assert.True(head.AsSpan(0x400, 16).IndexOfAnyExcept((byte)0) < 0, "the hive's reserved bytes are not zeros");
        byte[] marker = "JOURNAL-APPLIED!"u8.ToArray();
        string journal = CommittedJournalFile.Write(image, new[] { (hiveAt + 0x400, marker) });
        string[] inputs = { image, journal };
        string oracleSystemPath = "/Windows/System32/config/SYSTEM";
        Assert.DoesNotContain("JOURNAL-APPLIED!", Oracle.RunChecked("ntfscat", image, oracleSystemPath), StringComparison.Ordinal);

        AssertUnchanged(inputs, "disk", "info", image);
        var (code, stdout, stderr) = CliRunner.Run("disk", "info", image);
        Assert.Equal(0, code);
        Assert.Contains("journal replayed in memory (not written)", stdout, StringComparison.Ordinal);
        Assert.Contains("committed but not finished", stderr, StringComparison.Ordinal);
        Assert.True(System.Text.Json.JsonDocument.Parse(CliRunner.Run("disk", "info", image, "--json").StdOut).RootElement.GetProperty("journalReplayedInMemory").GetBoolean());
        AssertUnchanged(inputs, "inspect", image);
        AssertUnchanged(inputs, "inspect", image, "--json");
        AssertUnchanged(inputs, "match", image, "--hwid", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02");
        AssertUnchanged(inputs, "fs", "ls", image, @"\Windows\System32\config");
        AssertUnchanged(inputs, "fs", "check", image);
        string read = tmp.File("SYSTEM");
        AssertUnchanged(inputs, "fs", "cat", image, @"\Windows\System32\config\SYSTEM", "--output", read);
        byte[] expected = File.ReadAllBytes(hive);
        marker.CopyTo(expected, 0x400);
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(read)), "fs cat does not read the committed write");
        AssertUnchanged(inputs, "reg", "export", image, "--hive", "SYSTEM", @"Select");

        (code, stdout, stderr) = CliRunner.Run("disk", "recover", image);
        Assert.True(code == 0, stderr);
        Assert.False(File.Exists(journal));
        Assert.Contains("JOURNAL-APPLIED!", Oracle.RunChecked("ntfscat", image, oracleSystemPath), StringComparison.Ordinal);
        Assert.DoesNotContain("journal", CliRunner.Run("disk", "info", image).StdOut, StringComparison.Ordinal);
    }

    /// <summary>
    /// The commands that write only elsewhere, or not at all with --dry-run, leave their image as it was: every writing
    /// command's --dry-run, `disk convert`'s input (a differencing child and its parent, and a VHDX whose log needs
    /// replaying) and `reg export` from a hive inside an image.
    /// </summary>
    [Fact]
    public void DryRunsAndConvertInputs_ChangeNoByte()
    {
        using var tmp = new TempDir();
        string image = CopyWritable(tmp, _images.Win7, "win7.raw");
        string[] inputs = { image };
        string local = tmp.File("local.txt");
        File.WriteAllText(local, "not written");
        string reg = tmp.File("dry.reg");
        File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters]\r\n\"DryImport\"=\"x\"\r\n", System.Text.Encoding.Unicode);
        const string Tcpip = @"ControlSet001\Services\Tcpip\Parameters";
        AssertUnchanged(inputs, "prepare", image, "--nic", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", "--dry-run");
        AssertUnchanged(inputs, "fs", "put", image, local, @"\Windows\dry.txt", "--dry-run");
        AssertUnchanged(inputs, "fs", "mkdir", image, @"\Windows\DryDir", "--dry-run");
        AssertUnchanged(inputs, "fs", "rm", image, @"\Windows\System32\config\SOFTWARE", "--dry-run");
        AssertUnchanged(inputs, "disk", "format", image, "--force", "--dry-run");
        AssertUnchanged(inputs, "reg", "set", image, "--hive", "SYSTEM", Tcpip, "DrySet", "-t", "REG_SZ", "-d", "x", "--dry-run");
        AssertUnchanged(inputs, "reg", "delete", image, "--hive", "SYSTEM", Tcpip, "Domain", "--dry-run");
        AssertUnchanged(inputs, "reg", "import", image, reg, "--hive", "SYSTEM", "--dry-run");
        AssertUnchanged(inputs, "reg", "export", image, "--hive", "SYSTEM", "Select");
        AssertUnchanged(inputs, "disk", "convert", image, tmp.File("win7.qcow2"), "--format", "qcow2");

        // A differencing child: converting it reads the parent too.
        string child = tmp.File("child.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-f", "qcow2", "-b", image, "-F", "raw", child);
        Oracle.RunChecked("qemu-io", "-f", "qcow2", "-c", "write -P 0x5A 1M 64K", child);
        AssertUnchanged(new[] { image, child }, "disk", "convert", child, tmp.File("flat.vhdx"), "--format", "vhdx");
        AssertUnchanged(new[] { image, child }, "disk", "info", child);

        // A VHDX whose log must be replayed: read in memory, never into the input.
        string vhdx = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        AssertUnchanged(new[] { vhdx }, "disk", "convert", vhdx, tmp.File("replayed.raw"), "--format", "raw");
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
