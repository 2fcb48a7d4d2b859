using System;
using System.IO;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `--json` on the commands that only write (fs put|mkdir|rm, disk create|format|recover): a JSON result object on
/// standard output, its facts checked against what the oracles read back (ntfscat, ntfsls, fsstat, qemu-img info).
/// </summary>
public sealed class WriteCommandsJsonTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    // A disk with no partition table, formatted whole by mkntfs.
    private string BareNtfs()
    {
        string image = _tmp.File("bare.ntfs");
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.SetLength(16L << 20);
        }
        Oracle.RunChecked("mkntfs", "-q", "-F", "-f", "-L", "json", image);
        return image;
    }

    private static JsonElement Json(string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run([.. args, "--json"]);
        Assert.True(code == 0, $"{string.Join(" ", args)}: exit {code}: {stderr}");
        return JsonDocument.Parse(stdout).RootElement;
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void Fs_put_reports_the_file_written_as_ntfs_3g_reads_it()
    {
        string image = BareNtfs();
        string local = _tmp.File("hello.txt");
        File.WriteAllText(local, "hello from json");
        JsonElement r = Json(new[] { "fs", "put", image, local, "/hello.txt" });
        Assert.Equal(Path.GetFullPath(image), r.GetProperty("image").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("partition").ValueKind);
        Assert.Equal("put", r.GetProperty("command").GetString());
        Assert.Equal("created", r.GetProperty("outcome").GetString());
        Assert.Equal(@"\hello.txt", r.GetProperty("path").GetString());
        Assert.Equal(15, r.GetProperty("size").GetInt64());
        Assert.False(r.GetProperty("dryRun").GetBoolean());
        Assert.True(r.GetProperty("written").GetBoolean());
        Assert.Equal("hello from json", Oracle.RunChecked("ntfscat", image, "hello.txt"));
        // ntfsls -i prints each name's MFT record number first.
        string listing = Oracle.RunChecked("ntfsls", "-i", image);
        Assert.Matches($@"(?m)^\s*{r.GetProperty("mftRecord").GetInt64()} hello\.txt$", listing);

        r = Json(new[] { "fs", "put", image, local, "/hello.txt" });
        Assert.Equal("replaced", r.GetProperty("outcome").GetString());
    }

    [Fact]
    public void Fs_mkdir_reports_created_then_exists_without_writing()
    {
        string image = BareNtfs();
        JsonElement r = Json(new[] { "fs", "mkdir", image, "/a/b" });
        Assert.Equal("mkdir", r.GetProperty("command").GetString());
        Assert.Equal("created", r.GetProperty("outcome").GetString());
        Assert.Equal(@"\a\b", r.GetProperty("path").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("size").ValueKind);
        Assert.True(r.GetProperty("written").GetBoolean());
        Assert.Matches($@"(?m)^\s*{r.GetProperty("mftRecord").GetInt64()} b$", Oracle.RunChecked("ntfsls", "-i", "-p", "/a", image));

        string before = Sha256(image);
        r = Json(new[] { "fs", "mkdir", image, "/a/b" });
        Assert.Equal("exists", r.GetProperty("outcome").GetString());
        Assert.False(r.GetProperty("written").GetBoolean());
        Assert.Equal(before, Sha256(image));
    }

    [Fact]
    public void Fs_rm_reports_the_deletion_and_a_dry_run_writes_nothing()
    {
        string image = BareNtfs();
        Json(new[] { "fs", "mkdir", image, "/gone" });
        string before = Sha256(image);
        JsonElement r = Json(new[] { "fs", "rm", image, "/gone", "--dry-run" });
        Assert.Equal("rm", r.GetProperty("command").GetString());
        Assert.Equal("deleted", r.GetProperty("outcome").GetString());
        Assert.True(r.GetProperty("dryRun").GetBoolean());
        Assert.False(r.GetProperty("written").GetBoolean());
        Assert.Equal(before, Sha256(image));

        r = Json(new[] { "fs", "rm", image, "/gone" });
        Assert.Equal(@"\gone", r.GetProperty("path").GetString());
        Assert.True(r.GetProperty("written").GetBoolean());
        Assert.DoesNotContain("gone", Oracle.RunChecked("ntfsls", image), StringComparison.Ordinal);
    }

    [Fact]
    public void Disk_create_reports_the_image_as_qemu_img_info_sees_it()
    {
        string image = _tmp.File("new.vhdx");
        JsonElement r = Json(new[] { "disk", "create", image, "--format", "vhdx", "--size", "64M" });
        JsonElement info = QemuImg.Info(image);
        Assert.Equal(Path.GetFullPath(image), r.GetProperty("output").GetString());
        Assert.Equal("vhdx", r.GetProperty("format").GetString());
        Assert.Equal(info.GetProperty("format").GetString(), r.GetProperty("format").GetString());
        Assert.Equal("dynamic", r.GetProperty("subformat").GetString());
        Assert.Equal(info.GetProperty("virtual-size").GetInt64(), r.GetProperty("virtualSize").GetInt64());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("parent").ValueKind);

        string child = _tmp.File("child.qcow2");
        string baseImage = _tmp.File("base.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "qcow2", baseImage, "32M");
        r = Json(new[] { "disk", "create", child, "--format", "qcow2", "--parent", baseImage });
        Assert.Equal(Path.GetFullPath(baseImage), r.GetProperty("parent").GetString());
        Assert.Equal(Path.GetFullPath(baseImage), QemuImg.Info(child).GetProperty("full-backing-filename").GetString());
        Assert.Equal(32L << 20, r.GetProperty("virtualSize").GetInt64());
    }

    [Fact]
    public void Disk_format_reports_the_new_volume_as_fsstat_reads_it()
    {
        string image = _tmp.File("whole.raw");
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.SetLength(24L << 20);
        }
        string before = Sha256(image);
        JsonElement r = Json(new[] { "disk", "format", image, "-L", "fmtjson", "-c", "8K", "--dry-run" });
        Assert.True(r.GetProperty("dryRun").GetBoolean());
        Assert.False(r.GetProperty("written").GetBoolean());
        Assert.Equal(before, Sha256(image));

        r = Json(new[] { "disk", "format", image, "-L", "fmtjson", "-c", "8K" });
        Assert.Equal(Path.GetFullPath(image), r.GetProperty("image").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("partition").ValueKind);
        Assert.Equal("the whole disk", r.GetProperty("target").GetString());
        Assert.Equal(24L << 20, r.GetProperty("size").GetInt64());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("previousFileSystem").ValueKind);
        Assert.True(r.GetProperty("written").GetBoolean());
        string fsstat = Oracle.RunChecked("fsstat", image);
        Assert.Contains("Volume Name: " + r.GetProperty("label").GetString(), fsstat, StringComparison.Ordinal);
        Assert.Contains($"Cluster Size: {r.GetProperty("clusterSize").GetInt64()}", fsstat, StringComparison.Ordinal);
        Assert.Contains($"Sector Size: {r.GetProperty("bytesPerSector").GetInt32()}", fsstat, StringComparison.Ordinal);
        Assert.Contains($"Volume Serial Number: {r.GetProperty("serialNumber").GetString()}", fsstat, StringComparison.Ordinal);
        Assert.Equal(8192, r.GetProperty("clusterSize").GetInt64());

        r = Json(new[] { "disk", "format", image, "--force" });
        Assert.Equal("NTFS", r.GetProperty("previousFileSystem").GetString());
    }

    [Fact]
    public void Disk_recover_reports_none_or_discarded()
    {
        string image = _tmp.File("disk.raw");
        File.WriteAllBytes(image, new byte[1 << 20]);
        JsonElement r = Json(new[] { "disk", "recover", image });
        Assert.Equal(Path.GetFullPath(image), r.GetProperty("image").GetString());
        Assert.Equal("none", r.GetProperty("outcome").GetString());

        // A journal that stopped before its commit point (a header and nothing complete) is discarded.
        string journal = image + ".iscsiconvert-journal";
        File.WriteAllBytes(journal, [.. "ICJRNL01"u8.ToArray(), .. new byte[10_000]]);
        r = Json(new[] { "disk", "recover", image });
        Assert.Equal("discarded", r.GetProperty("outcome").GetString());
        Assert.False(File.Exists(journal));
    }

    [Fact]
    public void Reg_import_on_a_hive_file_reports_the_changes_as_hivexget_reads_them()
    {
        string hive = _tmp.File("SYSTEM");
        File.Copy(TestData.Require("registry/win7-system/SYSTEM"), hive);
        File.SetAttributes(hive, FileAttributes.Normal);
        string reg = _tmp.File("change.reg");
        File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n\r\n[Select]\r\n\"JsonImport\"=dword:0000002a\r\n\"Current\"=dword:00000001\r\n", System.Text.Encoding.Unicode);
        JsonElement r = Json(new[] { "reg", "import", hive, reg });
        Assert.Equal(Path.GetFullPath(hive), r.GetProperty("hive").GetString());
        Assert.True(r.GetProperty("written").GetBoolean());
        Assert.False(r.GetProperty("dryRun").GetBoolean());
        Assert.Contains("JsonImport", Assert.Single(r.GetProperty("changes").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal(2, r.GetProperty("unchanged").GetInt32()); // the key [Select] exists and Current is 1 already
        Assert.Equal("42", Oracle.RunChecked("hivexget", hive, @"\Select", "JsonImport").Trim());
    }
}
