using System;
using System.IO;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// A truncated QCOW2 and a truncated sparse VMDK get one treatment, the one `qemu-img info` gives both: `disk info`
/// reports the header facts (format, virtual size) and says the image is damaged, with exit 0; a read that needs the
/// missing data fails with exit 1 naming the file, the structure and its offset; a read-write open is refused with
/// the file unchanged.
/// </summary>
public sealed class DiskInfoTruncatedTests
{
    private const long VirtualSize = 1L << 30;

    /// <param name="format">The qemu format name.</param>
    /// <param name="cutInSecondRun">False: cut right after the first run of data (for QCOW2 the second L2 table is gone);
    /// true: cut in the middle of the second run (the tables are all there, part of the data is not).</param>
    [Theory]
    [InlineData("qcow2", false)]
    [InlineData("qcow2", true)]
    [InlineData("vmdk", false)]
    [InlineData("vmdk", true)]
    public void A_truncated_image_reports_its_header_and_its_damage(string format, bool cutInSecondRun)
    {
        Oracle.Require("qemu-img");
        Oracle.Require("qemu-io");
        using var tmp = new TempDir();
        string image = MakeTruncated(tmp, format, cutInSecondRun);
        // The oracle reads the header of the truncated file and succeeds.
        Assert.Equal(VirtualSize, QemuImg.Info(image, format).GetProperty("virtual-size").GetInt64());

        var (code, stdout, stderr) = CliRunner.Run("disk", "info", image);
        Assert.True(code == CliApp.Success, stderr);
        Assert.Contains($"format:          {format}", stdout, StringComparison.Ordinal);
        Assert.Contains($"({VirtualSize} bytes)", stdout, StringComparison.Ordinal);
        Assert.Contains("warning:         the image is damaged", stdout, StringComparison.Ordinal);
        Assert.Contains("past the end of the file", stdout, StringComparison.Ordinal);

        (code, stdout, stderr) = CliRunner.Run("disk", "info", image, "--json");
        Assert.True(code == CliApp.Success, stderr);
        JsonElement report = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(VirtualSize, report.GetProperty("virtualSize").GetInt64());
        Assert.Contains("past the end of the file", report.GetProperty("damage").GetString(), StringComparison.Ordinal);

        // Reading the whole disk needs the data past the end: a data error naming the file and the offset.
        (code, _, stderr) = CliRunner.Run("disk", "convert", image, tmp.File("out.raw"), "--format", "raw");
        Assert.Equal(CliApp.DataError, code);
        Assert.Contains(image, stderr, StringComparison.Ordinal);
        Assert.Contains("past the end of the file", stderr, StringComparison.Ordinal);

        // Writing is refused at open, before anything is written.
        string before = Sha256(image);
        Assert.Throws<CorruptDataException>(() => DiskImage.Open(image, DiskAccess.ReadWrite).Dispose());
        Assert.Equal(before, Sha256(image));
    }

    [Fact]
    public void An_intact_image_reports_no_damage()
    {
        Oracle.Require("qemu-img");
        Oracle.Require("qemu-io");
        using var tmp = new TempDir();
        foreach (string format in new[] { "qcow2", "vmdk" })
        {
            string image = MakeImage(tmp, format);
            var (code, stdout, stderr) = CliRunner.Run("disk", "info", image, "--json");
            Assert.True(code == CliApp.Success, stderr);
            Assert.False(JsonDocument.Parse(stdout).RootElement.TryGetProperty("damage", out _), stdout);
        }
    }

    /// <summary>
    /// A 1 GiB image holding 1 MiB at 0 and 1 MiB at 768 MiB, written by qemu-io, cut where `qemu-img map` puts the data:
    /// right after the first run (what follows — for QCOW2 the second L2 table, for VMDK the second run of grains — is
    /// gone), or half-way through the second run.
    /// </summary>
    private static string MakeTruncated(TempDir tmp, string format, bool cutInSecondRun)
    {
        string image = MakeImage(tmp, format);
        using JsonDocument map = JsonDocument.Parse(Oracle.RunChecked("qemu-img", "map", "--output=json", "-f", format, image));
        long cut = cutInSecondRun
            ? map.RootElement[2].GetProperty("offset").GetInt64() + (1 << 19)
            : map.RootElement[0].GetProperty("offset").GetInt64() + (1 << 20);
        using (var f = new FileStream(image, FileMode.Open, FileAccess.Write))
        {
            Assert.True(f.Length > cut);
            f.SetLength(cut);
        }
        return image;
    }

    private static string MakeImage(TempDir tmp, string format)
    {
        string image = tmp.File("disk." + format);
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", format, image, VirtualSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Oracle.RunChecked("qemu-io", "-f", format, "-c", "write -P 0xab 0 1M", "-c", "write -P 0xcd 768M 1M", image);
        return image;
    }

    private static string Sha256(string path)
    {
        using FileStream f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f));
    }
}
