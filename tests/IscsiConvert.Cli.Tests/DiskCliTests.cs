using System.IO;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

public class DiskCliTests
{
    [Fact]
    public void Create_then_info_reports_what_qemu_img_reports()
    {
        using var tmp = new TempDir();
        string path = tmp.File("d.img");
        var created = CliRunner.Run("disk", "create", path, "--size", "3M", "--format", "raw");
        Assert.True(created.ExitCode == 0, created.StdErr);

        var info = CliRunner.Run("disk", "info", path, "--json");
        Assert.True(info.ExitCode == 0, info.StdErr);
        using JsonDocument ours = JsonDocument.Parse(info.StdOut);
        JsonElement qemu = QemuImg.Info(path);
        Assert.Equal(qemu.GetProperty("format").GetString(), ours.RootElement.GetProperty("format").GetString());
        Assert.Equal(qemu.GetProperty("virtual-size").GetInt64(), ours.RootElement.GetProperty("virtualSize").GetInt64());
        Assert.Equal(3L << 20, ours.RootElement.GetProperty("virtualSize").GetInt64());
    }

    [Fact]
    public void Convert_of_a_gpt_disk_to_vhd_keeps_the_exact_size()
    {
        // 64 MiB is not a whole CHS geometry: rounding up would leave the backup GPT header short of the last sector.
        using var tmp = new TempDir();
        string source = tmp.File("gpt.img");
        using (var f = new FileStream(source, FileMode.CreateNew))
        {
            f.SetLength(64L << 20);
        }
        Oracle.RunChecked("sgdisk", "-n", "1:2048:0", "-t", "1:0700", source);
        string vhd = tmp.File("gpt.vhd");
        var result = CliRunner.Run("disk", "convert", source, vhd, "--format", "vhd");
        Assert.True(result.ExitCode == 0, result.StdErr);

        Assert.Equal(64L << 20, QemuImg.Info(vhd).GetProperty("virtual-size").GetInt64());
        QemuImg.AssertIdentical(source, "raw", vhd, "vpc");
        string back = tmp.File("back.img");
        QemuImg.ConvertToRaw(vhd, "vpc", back);
        string verify = Oracle.RunChecked("sgdisk", "-v", back);
        Assert.Contains("No problems found", verify, System.StringComparison.Ordinal);

        var info = CliRunner.Run("disk", "info", vhd);
        Assert.True(info.ExitCode == 0, info.StdErr);
        Assert.DoesNotContain("last sector", info.StdOut + info.StdErr, System.StringComparison.Ordinal);
        Assert.Contains("partitions:      gpt", info.StdOut, System.StringComparison.Ordinal);

        // It says so, with the size qemu-img's own VHD of 64M gets (its CHS rounding) as the size it avoided.
        string qemuVhd = tmp.File("qemu.vhd");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "vpc", qemuVhd, "64M");
        long rounded = QemuImg.Info(qemuVhd).GetProperty("virtual-size").GetInt64();
        Assert.NotEqual(64L << 20, rounded);
        Assert.Contains($"Kept the exact size, {64L << 20} bytes: it is not a whole number of VHD CHS cylinders (rounding up would give {rounded} bytes",
            result.StdOut, System.StringComparison.Ordinal);
        var json = CliRunner.Run("disk", "convert", source, tmp.File("gpt2.vhd"), "--format", "vhd", "--json");
        Assert.True(json.ExitCode == 0, json.StdErr);
        JsonElement report = JsonDocument.Parse(json.StdOut).RootElement;
        Assert.True(report.GetProperty("exactSizeKept").GetBoolean());
        Assert.Equal(64L << 20, report.GetProperty("virtualSize").GetInt64());
        Assert.Equal(rounded, report.GetProperty("roundedSize").GetInt64());

        // A disk of a whole geometry (the size qemu-img rounded to) needs nothing kept, and nothing is said.
        string whole = tmp.File("whole.img");
        using (var f = new FileStream(whole, FileMode.CreateNew))
        {
            f.SetLength(rounded);
        }
        var plain = CliRunner.Run("disk", "convert", whole, tmp.File("whole.vhd"), "--format", "vhd", "--json");
        Assert.True(plain.ExitCode == 0, plain.StdErr);
        Assert.False(JsonDocument.Parse(plain.StdOut).RootElement.GetProperty("exactSizeKept").GetBoolean());
        Assert.DoesNotContain("Kept the exact size", CliRunner.Run("disk", "convert", whole, tmp.File("whole2.vhd"), "--format", "vhd").StdOut, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Convert_writes_an_identical_image()
    {
        using var tmp = new TempDir();
        string source = tmp.File("src.img");
        byte[] data = new byte[2 << 20];
        data[12345] = 0x42;
        File.WriteAllBytes(source, data);
        var result = CliRunner.Run("disk", "convert", source, tmp.File("dst.img"), "--format", "raw");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains("Converted raw", result.StdOut, System.StringComparison.Ordinal);
        QemuImg.AssertIdentical(source, "raw", tmp.File("dst.img"), "raw");
    }

    [Fact]
    public void Missing_image_is_a_clear_error_not_a_crash()
    {
        var result = CliRunner.Run("disk", "info", "/nonexistent/x.vhdx");
        Assert.Equal(CliApp.DataError, result.ExitCode);
        Assert.StartsWith("error: ", result.StdErr, System.StringComparison.Ordinal);
        Assert.Contains("/nonexistent/x.vhdx", result.StdErr, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_size_is_rejected_without_creating_a_file()
    {
        using var tmp = new TempDir();
        var result = CliRunner.Run("disk", "create", tmp.File("x.img"), "--size", "12Q", "--format", "raw");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--size", result.StdErr, System.StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("x.img")));
    }

    [Fact]
    public void Unknown_format_is_a_usage_error()
    {
        using var tmp = new TempDir();
        var result = CliRunner.Run("disk", "create", tmp.File("x.img"), "--size", "1M", "--format", "floppy");
        Assert.NotEqual(0, result.ExitCode);
        Assert.False(File.Exists(tmp.File("x.img")));
    }

    [Fact]
    public void Help_lists_the_disk_commands()
    {
        var result = CliRunner.Run("disk", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string sub in new[] { "info", "convert", "create" })
        {
            Assert.Contains(sub, result.StdOut, System.StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("64G", 64L << 30)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("1.5K", 1536)]
    [InlineData("1048576", 1048576)]
    [InlineData("2TB", 2L << 40)]
    public void Sizes_parse_in_binary_units(string text, long expected)
    {
        Assert.True(SizeParser.TryParse(text, out long bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1G")]
    [InlineData("G")]
    [InlineData("10X")]
    [InlineData("99999999999P")]
    public void Bad_sizes_do_not_parse(string text) => Assert.False(SizeParser.TryParse(text, out _));
}
