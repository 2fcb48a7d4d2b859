using System;
using System.IO;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `disk info` as a newcomer meets it: a differencing image whose parent was moved (the paths tried named once,
/// --parent on the commands that open images), a bare volume's file system, and a VHDX log replayed in memory.
/// </summary>
public sealed class DiskInfoImageTests
{
    [Fact]
    public void A_moved_parent_is_named_once_in_the_error_and_found_with_parent()
    {
        Oracle.Require("qemu-img");
        using var tmp = new TempDir();
        string a = Directory.CreateDirectory(tmp.File("a")).FullName;
        string b = Directory.CreateDirectory(tmp.File("b")).FullName;
        // The parent is made by qemu-img from random data; the child (empty) by us, over it.
        string raw = tmp.File("data.raw");
        byte[] data = new byte[8 << 20];
        new Random(15).NextBytes(data.AsSpan(0, 1 << 20));
        File.WriteAllBytes(raw, data);
        string parent = Path.Combine(a, "parent.vhd");
        Oracle.RunChecked("qemu-img", "convert", "-f", "raw", "-O", "vpc", raw, parent);
        string child = Path.Combine(a, "child.vhd");
        Assert.Equal(0, CliRunner.Run("disk", "create", child, "--format", "vhd", "--parent", parent).ExitCode);
        string moved = Path.Combine(b, "renamed.vhd");
        File.Move(parent, moved);

        // disk info reports the child itself (as vhdiinfo does: the parent name from the header); a command that
        // reads the content stops, naming each path tried once.
        var (code, info, stderr) = CliRunner.Run("disk", "info", child, "--json");
        Assert.True(code == 0, stderr);
        string vhdiinfo = Oracle.RunChecked("vhdiinfo", child);
        string storedName = JsonDocument.Parse(info).RootElement.GetProperty("missingParent").GetString()!;
        Assert.Contains("Parent filename\t\t: " + storedName + "\n", vhdiinfo.Replace("\r", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(parent, storedName);
        Assert.Equal(QemuImg.Info(moved).GetProperty("virtual-size").GetInt64(), JsonDocument.Parse(info).RootElement.GetProperty("virtualSize").GetInt64());

        (code, _, stderr) = CliRunner.Run("disk", "convert", child, tmp.File("x.raw"), "--format", "raw");
        Assert.Equal(CliApp.DataError, code);
        // The VHD stores the parent twice (absolute and relative locators); both resolve to one path, named once.
        Assert.Equal(1, CountOf(stderr, parent));
        Assert.Contains("--parent", stderr, StringComparison.Ordinal);

        (code, string stdout, stderr) = CliRunner.Run("disk", "info", child, "--parent", moved, "--json");
        Assert.True(code == 0, stderr);
        JsonElement chain = JsonDocument.Parse(stdout).RootElement.GetProperty("parentChain");
        Assert.Equal(moved, chain[0].GetProperty("path").GetString());

        // The content through the moved parent is the parent's, byte for byte, as qemu-img reads the parent.
        string ours = tmp.File("ours.raw");
        (code, _, stderr) = CliRunner.Run("disk", "convert", child, ours, "--format", "raw", "--parent", moved);
        Assert.True(code == 0, stderr);
        string theirs = tmp.File("theirs.raw");
        QemuImg.ConvertToRaw(moved, "vpc", theirs);
        Assert.Equal(Sha256(theirs), Sha256(ours));

        // Every command that opens images takes it; disk create keeps its own --parent (make a child).
        foreach (string[] command in new[] { new[] { "fs", "ls" }, new[] { "fs", "check" }, new[] { "inspect" } })
        {
            string help = CliRunner.Run([.. command, "--help"]).StdOut;
            Assert.Contains("--parent", help, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("qcow2", "24M")]
    [InlineData("vmdk", "40M")]
    public void A_child_made_by_qemu_img_whose_parent_is_missing_is_reported_as_qemu_img_info_reports_it(string format, string size)
    {
        Oracle.Require("qemu-img");
        using var tmp = new TempDir();
        string parent = tmp.File("parent." + format);
        string child = tmp.File("child." + format);
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", format, parent, size);
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", format, "-b", "parent." + format, "-F", format, child);
        File.Delete(parent);

        // qemu-img info reports the child itself and succeeds (RunChecked fails on a non-zero exit).
        JsonElement qemu = QemuImg.Info(child);
        var (code, stdout, stderr) = CliRunner.Run("disk", "info", child, "--json");
        Assert.True(code == 0, stderr);
        JsonElement ours = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(qemu.GetProperty("format").GetString(), ours.GetProperty("format").GetString());
        Assert.Equal(qemu.GetProperty("virtual-size").GetInt64(), ours.GetProperty("virtualSize").GetInt64());
        Assert.Equal(qemu.GetProperty("backing-filename").GetString(), ours.GetProperty("missingParent").GetString());
        Assert.Equal(0, ours.GetProperty("parentChain").GetArrayLength());
        Assert.False(ours.TryGetProperty("partitionTable", out _));
        if (format == "vmdk")
        {
            Assert.Equal(qemu.GetProperty("format-specific").GetProperty("data").GetProperty("create-type").GetString(), ours.GetProperty("subformat").GetString());
        }

        (code, stdout, stderr) = CliRunner.Run("disk", "info", child);
        Assert.True(code == 0, stderr);
        Assert.Contains($"-> parent.{format} [missing", stdout, StringComparison.Ordinal);
        Assert.Contains("parent." + format, stderr, StringComparison.Ordinal); // the warning names it too

        // Commands that read the content still refuse (without the parent it is not the disk's), naming the path once.
        (code, _, stderr) = CliRunner.Run("disk", "convert", child, tmp.File("out.raw"), "--format", "raw");
        Assert.Equal(CliApp.DataError, code);
        Assert.Equal(1, CountOf(stderr, parent));
        Assert.False(File.Exists(tmp.File("out.raw")));
    }

    [Fact]
    public void A_vhdx_child_whose_parent_is_missing_is_reported_with_the_parent_path_it_stores()
    {
        Oracle.Require("qemu-img");
        using var tmp = new TempDir();
        string a = Directory.CreateDirectory(tmp.File("a")).FullName;
        string raw = tmp.File("data.raw");
        byte[] data = new byte[16 << 20];
        new Random(16).NextBytes(data.AsSpan(0, 1 << 20));
        File.WriteAllBytes(raw, data);
        // The parent by qemu-img; the child by us (qemu-img makes no VHDX children: "Backing file not supported").
        string parent = Path.Combine(a, "parent.vhdx");
        Oracle.RunChecked("qemu-img", "convert", "-f", "raw", "-O", "vhdx", raw, parent);
        long parentSize = QemuImg.Info(parent).GetProperty("virtual-size").GetInt64();
        string child = Path.Combine(a, "child.vhdx");
        Assert.Equal(0, CliRunner.Run("disk", "create", child, "--format", "vhdx", "--parent", parent).ExitCode);
        string moved = tmp.File("moved.vhdx");
        File.Move(parent, moved);

        var (code, stdout, stderr) = CliRunner.Run("disk", "info", child, "--json");
        Assert.True(code == 0, stderr);
        JsonElement ours = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("vhdx", ours.GetProperty("format").GetString());
        Assert.Equal("differencing", ours.GetProperty("subformat").GetString());
        Assert.Equal(parentSize, ours.GetProperty("virtualSize").GetInt64());
        Assert.Equal(parent, ours.GetProperty("missingParent").GetString()); // absolute_win32_path, as Get-VHD shows ParentPath
        Assert.Equal(0, ours.GetProperty("parentChain").GetArrayLength());
        Assert.False(ours.TryGetProperty("partitionTable", out _));

        (code, stdout, stderr) = CliRunner.Run("disk", "info", child);
        Assert.True(code == 0, stderr);
        Assert.Contains("format:          vhdx (differencing)", stdout, StringComparison.Ordinal);
        Assert.Contains($"-> {parent} [missing", stdout, StringComparison.Ordinal);

        // relative_path (.\parent.vhdx) and absolute_win32_path resolve to one path: named once.
        (code, _, stderr) = CliRunner.Run("disk", "convert", child, tmp.File("x.raw"), "--format", "raw");
        Assert.Equal(CliApp.DataError, code);
        Assert.Equal(1, CountOf(stderr, parent));
        Assert.False(File.Exists(tmp.File("x.raw")));

        // With the moved parent named, the content is the parent's as qemu-img reads it.
        string ourRaw = tmp.File("ours.raw");
        (code, _, stderr) = CliRunner.Run("disk", "convert", child, ourRaw, "--format", "raw", "--parent", moved);
        Assert.True(code == 0, stderr);
        string theirs = tmp.File("theirs.raw");
        QemuImg.ConvertToRaw(moved, "vhdx", theirs);
        Assert.Equal(Sha256(theirs), Sha256(ourRaw));
    }

    [Fact]
    public void A_bare_volume_reports_its_file_system()
    {
        // MANIFEST (fsstat): windows_volume.qcow2 holds a bare NTFS volume, ext2.vhd a bare ext2 volume "ext2_test".
        var (code, stdout, stderr) = CliRunner.Run("disk", "info", TestData.Require("disks/qcow2/windows_volume.qcow2"));
        Assert.True(code == 0, stderr);
        Assert.Contains("partitions:      (no partition table)", stdout, StringComparison.Ordinal);
        Assert.Contains("file system:     NTFS (the whole disk is one volume)", stdout, StringComparison.Ordinal);

        (code, stdout, stderr) = CliRunner.Run("disk", "info", TestData.Require("disks/vhd/ext2.vhd"), "--json");
        Assert.True(code == 0, stderr);
        JsonElement report = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("ext2", report.GetProperty("fileSystem").GetString());
        Assert.Equal("ext2_test", report.GetProperty("fileSystemLabel").GetString());
    }

    [Fact]
    public void A_vhdx_log_replayed_in_memory_is_reported_and_the_file_is_unchanged()
    {
        using var tmp = new TempDir();
        string image = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        string before = Sha256(image);

        var (code, stdout, stderr) = CliRunner.Run("disk", "info", image);
        Assert.True(code == 0, stderr);
        Assert.Contains("a pending VHDX log was replayed in memory", stdout, StringComparison.Ordinal);
        Assert.Contains("mbr", stdout, StringComparison.Ordinal); // MANIFEST: after replay, MBR with 2 Linux partitions
        Assert.Equal(before, Sha256(image));
        Assert.True(JsonDocument.Parse(CliRunner.Run("disk", "info", image, "--json").StdOut).RootElement.GetProperty("logReplayedInMemory").GetBoolean());

        // An image without a pending log says nothing of the kind.
        string clean = TestData.Gunzip("disks/vhdx/swap.vhdx.gz", tmp.Path);
        Assert.DoesNotContain("replayed", CliRunner.Run("disk", "info", clean).StdOut, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    private static string Sha256(string path)
    {
        using FileStream f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f));
    }
}
