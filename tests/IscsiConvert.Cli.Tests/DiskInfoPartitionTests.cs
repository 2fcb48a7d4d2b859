using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Cli;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>The partition part of `disk info`, checked against sfdisk, blkid and fsstat on the same files.</summary>
public class DiskInfoPartitionTests
{
    [Fact]
    public void GptDisk_JsonAndTextListPartitionsAsSfdiskDoes_WithFileSystems()
    {
        using var tmp = new TempDir();
        string path = Blank(tmp.File("gpt.img"), 64L << 20);
        Oracle.RunChecked("sgdisk", "-n", "1:2048:+34M", "-t", "1:ef00", "-c", "1:EFI system partition", "-n", "2:0:+8M", "-t", "2:0c01", "-c", "2:Microsoft reserved partition",
            "-n", "3:0:0", "-t", "3:0700", "-c", "3:Basic data partition", path);
        JsonElement sfdisk = Json(Oracle.RunChecked("sfdisk", "--json", path)).GetProperty("partitiontable");
        JsonElement[] expected = sfdisk.GetProperty("partitions").EnumerateArray().ToArray();

        // A FAT32 file system in partition 1, made separately and copied to the partition's offset.
        long efiStart = expected[0].GetProperty("start").GetInt64() * 512;
        string efi = Blank(tmp.File("efi.img"), expected[0].GetProperty("size").GetInt64() * 512);
        Oracle.RunChecked("mkfs.vfat", "-F", "32", "-s", "1", "-n", "SYSTEM", efi);
        using (var dst = new FileStream(path, FileMode.Open, FileAccess.Write))
        using (var src = File.OpenRead(efi))
        {
            dst.Position = efiStart;
            src.CopyTo(dst);
        }
        string blkidEfi = Oracle.RunChecked("blkid", "-p", "-o", "export", efi);
        Assert.Contains("VERSION=FAT32", blkidEfi, StringComparison.Ordinal);
        Assert.Contains("LABEL=SYSTEM", blkidEfi, StringComparison.Ordinal);

        var (code, stdout, stderr) = Run("disk", "info", path, "--json");
        Assert.True(code == 0, stderr);
        JsonElement table = Json(stdout).GetProperty("partitionTable");
        Assert.Equal("gpt", table.GetProperty("scheme").GetString());
        Assert.Equal(sfdisk.GetProperty("id").GetString(), table.GetProperty("diskId").GetString());
        JsonElement[] ours = table.GetProperty("partitions").EnumerateArray().ToArray();
        Assert.Equal(expected.Length, ours.Length);
        for (int i = 0; i < ours.Length; i++)
        {
            Assert.Equal(i + 1, ours[i].GetProperty("index").GetInt32());
            Assert.Equal("gpt", ours[i].GetProperty("scheme").GetString());
            Assert.Equal(expected[i].GetProperty("start").GetInt64() * 512, ours[i].GetProperty("start").GetInt64());
            Assert.Equal(expected[i].GetProperty("size").GetInt64() * 512, ours[i].GetProperty("length").GetInt64());
            Assert.Equal(expected[i].GetProperty("type").GetString(), ours[i].GetProperty("typeCode").GetString());
            Assert.Equal(expected[i].GetProperty("uuid").GetString(), ours[i].GetProperty("uniqueGuid").GetString());
            Assert.Equal(expected[i].GetProperty("name").GetString(), ours[i].GetProperty("name").GetString());
        }
        Assert.Equal("EFI system", ours[0].GetProperty("type").GetString());
        Assert.Equal("FAT32", ours[0].GetProperty("fileSystem").GetString());
        Assert.Equal("SYSTEM", ours[0].GetProperty("fileSystemLabel").GetString());
        Assert.Equal("Microsoft reserved", ours[1].GetProperty("type").GetString());
        Assert.False(ours[1].TryGetProperty("fileSystem", out _));

        (code, stdout, stderr) = Run("disk", "info", path);
        Assert.True(code == 0, stderr);
        Assert.Contains("partitions:      gpt, disk id " + sfdisk.GetProperty("id").GetString() + ", 3 partition(s)", stdout, StringComparison.Ordinal);
        string row1 = stdout.Split('\n').Single(l => l.Contains("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", StringComparison.Ordinal));
        Assert.Contains("EFI system", row1, StringComparison.Ordinal);
        Assert.Contains(efiStart.ToString(System.Globalization.CultureInfo.InvariantCulture), row1, StringComparison.Ordinal);
        Assert.Contains("FAT32 \"SYSTEM\"", row1, StringComparison.Ordinal);
        Assert.Contains("Basic data partition", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void WindowsNtfsSample_ShowsTheMbrPartitionAndNtfs_AsMmlsAndFsstatDo()
    {
        using var tmp = new TempDir();
        string path = TestData.Gunzip("ntfs/ntfs-lastaccess.raw.gz", tmp.Path);
        var (code, stdout, stderr) = Run("disk", "info", path, "--json");
        Assert.True(code == 0, stderr);
        JsonElement table = Json(stdout).GetProperty("partitionTable");
        Assert.Equal("mbr", table.GetProperty("scheme").GetString());
        JsonElement p = Assert.Single(table.GetProperty("partitions").EnumerateArray().ToArray());

        string mmls = Oracle.RunChecked("mmls", path);
        string row = mmls.Split('\n').Single(l => l.Contains("(0x07)", StringComparison.Ordinal));
        long[] numbers = row.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(2).Take(3).Select(long.Parse).ToArray();
        Assert.Equal(numbers[0] * 512, p.GetProperty("start").GetInt64());
        Assert.Equal(numbers[2] * 512, p.GetProperty("length").GetInt64());
        Assert.Equal(128 * 512, p.GetProperty("start").GetInt64()); // MANIFEST: NTFS at sector 128
        Assert.Equal("0x07", p.GetProperty("typeCode").GetString());
        Assert.Equal("Ntfs", p.GetProperty("kind").GetString());
        Assert.Contains("File System Type: NTFS", Oracle.RunChecked("fsstat", "-o", "128", path), StringComparison.Ordinal);
        Assert.Equal("NTFS", p.GetProperty("fileSystem").GetString());

        (code, stdout, _) = Run("disk", "info", path);
        Assert.Equal(0, code);
        Assert.Contains("partitions:      mbr", stdout, StringComparison.Ordinal);
        Assert.Contains("NTFS/exFAT/IFS", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void BlankDisk_HasNoPartitionTable()
    {
        using var tmp = new TempDir();
        string path = Blank(tmp.File("blank.img"), 4L << 20);
        var (code, stdout, _) = Run("disk", "info", path);
        Assert.Equal(0, code);
        Assert.Contains("partitions:      (no partition table)", stdout, StringComparison.Ordinal);
        (code, stdout, _) = Run("disk", "info", path, "--json");
        Assert.Equal(0, code);
        Assert.False(Json(stdout).TryGetProperty("partitionTable", out _));
    }

    [Fact]
    public void UnreadableGpt_IsReportedWithoutLosingTheImageFacts()
    {
        using var tmp = new TempDir();
        string path = Blank(tmp.File("bad.img"), 8L << 20);
        Oracle.RunChecked("sgdisk", "-n", "1:0:0", path);
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            f.Position = 512;
            f.Write(new byte[8]); // primary signature
            f.Position = f.Length - 512;
            f.Write(new byte[8]); // backup signature
        }
        var (code, stdout, _) = Run("disk", "info", path, "--json");
        Assert.Equal(0, code);
        JsonElement report = Json(stdout);
        Assert.Equal(8L << 20, report.GetProperty("virtualSize").GetInt64());
        string error = report.GetProperty("partitionTableError").GetString()!;
        Assert.Contains("GPT primary header at offset 0x200", error, StringComparison.Ordinal);
        Assert.Contains(path, error, StringComparison.Ordinal);
    }

    private static (int Code, string StdOut, string StdErr) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement Json(string text)
    {
        using JsonDocument doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private static string Blank(string path, long size)
    {
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(size);
        return path;
    }
}
