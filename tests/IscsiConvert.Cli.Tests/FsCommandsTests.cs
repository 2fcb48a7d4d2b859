using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>`iscsi-convert fs ls|cat` on corpus images, checked against sleuthkit (fls, icat) on raw copies made by qemu-img.</summary>
public sealed class FsCommandsTests
{
    private const string Vmdk = "disks/vmdk/monolithicSparse.vmdk";
    private const string Qcow2 = "disks/qcow2/windows_volume.qcow2";

    private static string Raw(TempDir tmp, string relative, string format)
    {
        string raw = tmp.File(Path.GetFileName(relative) + ".raw");
        QemuImg.ConvertToRaw(TestData.Require(relative), format, raw);
        return raw;
    }

    [Fact]
    public void Ls_PicksTheOnlyNtfsPartition_AndListsWhatFlsLists()
    {
        using var tmp = new TempDir();
        string raw = Raw(tmp, Vmdk, "vmdk");
        string[] expected = Oracle.RunChecked("fls", "-o", "128", raw).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("V/V", StringComparison.Ordinal) && !l.Contains(" * ", StringComparison.Ordinal))
            .Select(l => l.Substring(l.IndexOf('\t', StringComparison.Ordinal) + 1))
            .Select(n => n.Contains(':', StringComparison.Ordinal) ? n.Substring(0, n.IndexOf(':', StringComparison.Ordinal)) : n)
            .Distinct().OrderBy(n => n, StringComparer.Ordinal).ToArray();

        var (code, stdout, stderr) = CliRunner.Run("fs", "ls", TestData.Require(Vmdk), "\\", "--json");
        Assert.True(code == 0, stderr);
        JsonElement[] entries = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToArray();
        Assert.Equal(expected, entries.Select(e => e.GetProperty("name").GetString()!).OrderBy(n => n, StringComparer.Ordinal));

        JsonElement vmdkDir = entries.Single(e => e.GetProperty("name").GetString() == "vmdk");
        Assert.True(vmdkDir.GetProperty("isDirectory").GetBoolean());
        string flsLine = Oracle.RunChecked("fls", "-o", "128", raw).Split('\n').Single(l => l.EndsWith("\tvmdk", StringComparison.Ordinal));
        Assert.Contains($" {vmdkDir.GetProperty("mftRecord").GetInt64()}-", flsLine, StringComparison.Ordinal);

        (code, stdout, stderr) = CliRunner.Run("fs", "ls", TestData.Require(Vmdk), "--partition", "1", "/VMDK");
        Assert.True(code == 0, stderr);
        Assert.Contains("VMWare Virtual Disk Format (VMDK).asciidoc", stdout, StringComparison.Ordinal);
        Assert.StartsWith("- ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Cat_OfABareVolumeInQcow2_EqualsIcat()
    {
        using var tmp = new TempDir();
        string raw = Raw(tmp, Qcow2, "qcow2");
        string line = Oracle.RunChecked("fls", "-r", "-p", raw).Split('\n').Single(l => l.EndsWith("\tWindows/System32/config/syslog", StringComparison.Ordinal));
        string inode = line.Split(' ')[1].Split(':')[0];
        (int icatCode, string expected, long length) = BinaryOracle.Sha256Of("icat", raw, inode);
        Assert.Equal(0, icatCode);
        Assert.True(length > 0);

        string output = tmp.File("syslog");
        var (code, _, stderr) = CliRunner.Run("fs", "cat", TestData.Require(Qcow2), "/windows/system32/config/SYSLOG", "--output", output);
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(output))));

        // To (captured) standard output: one char per byte.
        (code, string stdout, stderr) = CliRunner.Run("fs", "cat", TestData.Require(Qcow2), @"\Windows\System32\config\syslog");
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, Convert.ToHexString(SHA256.HashData(Encoding.Latin1.GetBytes(stdout))));
    }

    [Fact]
    public void Check_CleanVolume_IsOk_AndMirrorDamage_IsReportedAsNtfsfixReportsIt()
    {
        var (code, stdout, stderr) = CliRunner.Run("fs", "check", TestData.Require(Vmdk));
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("OK: no problems found.", stdout, StringComparison.Ordinal);
        Assert.Contains("Write safety: clean", stdout, StringComparison.Ordinal);
        Assert.Contains("\"test_disk\"", stdout, StringComparison.Ordinal); // fsstat: Volume Name: test_disk (manifest)

        using var tmp = new TempDir();
        string copy = tmp.File("damaged.raw");
        byte[] image = File.ReadAllBytes(TestData.Require("ntfs/testfs1"));
        int record3 = Enumerable.Range(0, image.Length / 512).Select(i => i * 512)
            .First(a => image.AsSpan(a, 4).SequenceEqual("FILE"u8) && BitConverter.ToUInt32(image, a + 0x2C) == 3);
        image[record3 + 0x100] ^= 0x55; // $MFT's copy only: $MFTMirr now differs
        File.WriteAllBytes(copy, image);
        ToolResult fix = Oracle.Run("ntfsfix", "-n", copy);
        Assert.Contains("$MFTMirr does not match $MFT (record 3)", fix.StdOut + fix.StdErr, StringComparison.Ordinal);

        (code, stdout, _) = CliRunner.Run("fs", "check", copy);
        Assert.Equal(CliApp.DataError, code);
        Assert.Contains("MFT record 3: $MFTMirr does not match $MFT", stdout, StringComparison.Ordinal);

        // --json: the same verdict as a document (not an error object), with the exit code.
        (code, stdout, _) = CliRunner.Run("fs", "check", copy, "--json");
        Assert.Equal(CliApp.DataError, code);
        System.Text.Json.JsonElement report = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(CliApp.DataError, report.GetProperty("exitCode").GetInt32());
        Assert.Contains(report.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("$MFTMirr does not match $MFT", StringComparison.Ordinal));
        (code, stdout, stderr) = CliRunner.Run("fs", "check", TestData.Require(Vmdk), "--json");
        Assert.True(code == 0, stderr);
        report = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("test_disk", report.GetProperty("label").GetString());
        Assert.True(report.GetProperty("writable").GetBoolean());
        Assert.Equal(0, report.GetProperty("problems").GetArrayLength());
    }

    [Fact]
    public void WrongPartitionOrPath_SaysWhatThereIs()
    {
        var (code, _, stderr) = CliRunner.Run("fs", "ls", TestData.Require(Vmdk), "--partition", "3");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("has no partition 3", stderr, StringComparison.Ordinal);
        Assert.Contains("1: ", stderr, StringComparison.Ordinal);
        Assert.Contains("NTFS", stderr, StringComparison.Ordinal);

        (code, _, stderr) = CliRunner.Run("fs", "cat", TestData.Require(Vmdk), @"\no\such\file");
        Assert.Equal(CliApp.DataError, code);
        Assert.Contains("does not exist", stderr, StringComparison.Ordinal);

        (code, _, stderr) = CliRunner.Run("fs", "ls", TestData.Require("disks/vmdk/ext2.vmdk"));
        Assert.Equal(CliApp.DataError, code);
        Assert.Contains("Not an NTFS volume", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void DiskWithSeveralNtfsPartitions_AsksForOne()
    {
        using var tmp = new TempDir();
        string disk = tmp.File("two.img");
        using (var f = new FileStream(disk, FileMode.CreateNew))
        {
            f.SetLength(8L << 20);
        }
        Oracle.RunChecked("sgdisk", "-n", "1:2048:+2M", "-t", "1:0700", "-n", "2:0:+2M", "-t", "2:0700", disk);
        JsonElement[] parts = JsonDocument.Parse(Oracle.RunChecked("sfdisk", "--json", disk)).RootElement
            .GetProperty("partitiontable").GetProperty("partitions").EnumerateArray().ToArray();
        byte[] volume = File.ReadAllBytes(TestData.Require("ntfs/testfs1"));
        using (var f = new FileStream(disk, FileMode.Open, FileAccess.Write))
        {
            foreach (JsonElement p in parts)
            {
                f.Position = p.GetProperty("start").GetInt64() * 512;
                f.Write(volume);
            }
        }

        var (code, stdout, stderr) = CliRunner.Run("fs", "ls", disk);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("2 NTFS partitions", stderr, StringComparison.Ordinal);
        Assert.Contains("--partition", stderr, StringComparison.Ordinal);

        (code, stdout, stderr) = CliRunner.Run("fs", "ls", disk, "--partition", "2", "/", "--json");
        Assert.True(code == 0, stderr);
        string[] names = JsonDocument.Parse(stdout).RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToArray();
        string offset = parts[1].GetProperty("start").GetInt64().ToString(CultureInfo.InvariantCulture);
        string[] expected = Oracle.RunChecked("fls", "-o", offset, disk).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("V/V", StringComparison.Ordinal))
            .Select(l => l.Substring(l.IndexOf('\t', StringComparison.Ordinal) + 1))
            .Select(n => n.Contains(':', StringComparison.Ordinal) ? n.Substring(0, n.IndexOf(':', StringComparison.Ordinal)) : n)
            .Distinct().ToArray();
        Assert.Equal(expected.OrderBy(n => n, StringComparer.Ordinal), names.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Contains("many_subdirs", names);
    }
}
