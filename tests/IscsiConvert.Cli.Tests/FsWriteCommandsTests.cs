using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `fs mkdir|put|rm` on an NTFS partition inside images that qemu-img made from a raw disk (MBR + mkntfs): written
/// through our container code, then checked by qemu-img check, converted back to raw by qemu-img, and read by ntfs-3g
/// (ntfscat, ntfsls), sleuthkit (icat) and ntfsfix -n.
/// </summary>
public sealed class FsWriteCommandsTests : IDisposable
{
    private const long PartitionStart = 1L << 20;
    private const long PartitionLength = 64L << 20;
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    // A raw disk with one MBR partition (type 7) formatted by mkntfs.
    private string RawDiskWithNtfs()
    {
        string volume = _tmp.File("volume.ntfs");
        using (var f = new FileStream(volume, FileMode.CreateNew))
        {
            f.SetLength(PartitionLength);
        }
        Oracle.RunChecked("mkntfs", "-q", "-F", "-f", "-c", "4096", "-p", (PartitionStart / 512).ToString(System.Globalization.CultureInfo.InvariantCulture), "-H", "255", "-S", "63", "-L", "cli", volume);
        string disk = _tmp.File("disk.raw");
        using (var output = new FileStream(disk, FileMode.CreateNew))
        using (var input = File.OpenRead(volume))
        {
            output.SetLength(PartitionStart + PartitionLength + (1L << 20));
            output.Position = PartitionStart;
            input.CopyTo(output);
        }
        ToolResult sfdisk = Oracle.RunWithInput("sfdisk", $"label: dos\nstart=2048, size={PartitionLength / 512}, type=7\n", "--no-reread", "--no-tell-kernel", disk);
        Assert.True(sfdisk.ExitCode == 0, sfdisk.StdErr);
        return disk;
    }

    private string Partition(string raw)
    {
        string part = _tmp.File(Path.GetFileName(raw) + ".part");
        using var input = File.OpenRead(raw);
        using var output = new FileStream(part, FileMode.Create);
        input.Position = PartitionStart;
        byte[] buffer = new byte[1 << 20];
        for (long left = PartitionLength; left > 0;)
        {
            int n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            output.Write(buffer, 0, n);
            left -= n;
        }
        return part;
    }

    [Theory]
    [InlineData("vmdk")]
    [InlineData("qcow2")]
    [InlineData("vhdx")]
    [InlineData("vpc")]
    [InlineData("raw")]
    public void Put_mkdir_and_rm_through_a_container_made_by_qemu_img(string format)
    {
        string raw = RawDiskWithNtfs();
        string image = raw;
        if (format != "raw")
        {
            image = _tmp.File("disk." + format);
            Oracle.RunChecked("qemu-img", "convert", "-f", "raw", "-O", format, raw, image);
        }
        byte[] driver = new byte[2_345_678];
        new Random(7).NextBytes(driver);
        string local = _tmp.File("netkvm.sys");
        File.WriteAllBytes(local, driver);
        File.WriteAllText(_tmp.File("gone.txt"), "to be deleted");

        var (code, stdout, stderr) = CliRunner.Run("fs", "mkdir", image, @"\Windows\System32\drivers");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"created \Windows\System32\drivers", stdout, StringComparison.Ordinal);
        (code, stdout, stderr) = CliRunner.Run("fs", "put", image, local, "/Windows/System32/drivers");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"created \Windows\System32\drivers\netkvm.sys (2345678 bytes", stdout, StringComparison.Ordinal);
        (code, _, stderr) = CliRunner.Run("fs", "put", image, _tmp.File("gone.txt"), "/Windows/INF/gone.txt", "--parents");
        Assert.True(code == 0, stderr);
        (code, stdout, stderr) = CliRunner.Run("fs", "rm", image, "/Windows/INF/gone.txt");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"deleted \Windows\INF\gone.txt", stdout, StringComparison.Ordinal);

        if (format is "vmdk" or "qcow2" or "vhdx")
        {
            QemuImg.Check(image, format);
        }
        string back = image;
        if (format != "raw")
        {
            back = _tmp.File("back.raw");
            QemuImg.ConvertToRaw(image, format, back);
        }
        string part = Partition(back);
        ToolResult fix = Oracle.Run("ntfsfix", "-n", part);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string expected = Convert.ToHexString(SHA256.HashData(driver));
        (int catCode, string catSha, _) = BinaryOracle.Sha256Of("ntfscat", part, "/Windows/System32/drivers/netkvm.sys");
        Assert.True(catCode == 0, "ntfscat failed: " + Oracle.Run("ntfscat", part, "/Windows/System32/drivers/netkvm.sys").StdErr);
        Assert.Equal(expected, catSha);
        string inf = Oracle.RunChecked("ntfsls", "-a", "-p", "/Windows/INF", part);
        Assert.DoesNotContain("gone.txt", inf, StringComparison.Ordinal);
        string line = Array.Find(Oracle.RunChecked("fls", "-r", "-p", part).Split('\n'), l => l.EndsWith("\tWindows/System32/drivers/netkvm.sys", StringComparison.Ordinal))!;
        Assert.Equal(expected, BinaryOracle.Sha256Of("icat", part, line.Split(' ')[1].Split(':')[0]).Sha256);

        // And our own fs cat reads it back through the container.
        (code, stdout, stderr) = CliRunner.Run("fs", "cat", image, "/Windows/System32/drivers/netkvm.sys");
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, Convert.ToHexString(SHA256.HashData(System.Text.Encoding.Latin1.GetBytes(stdout))));
    }

    [Fact]
    public void Dry_run_reports_and_writes_nothing()
    {
        string raw = RawDiskWithNtfs();
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(raw)));
        File.WriteAllText(_tmp.File("a.txt"), "a");
        var (code, stdout, stderr) = CliRunner.Run("fs", "put", raw, _tmp.File("a.txt"), "/x/a.txt", "--parents", "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"dry run: created \x\a.txt (1 bytes", stdout, StringComparison.Ordinal);
        Assert.Contains("nothing was written", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(raw))));
    }

    [Fact]
    public void Errors_are_reported_and_nothing_is_written()
    {
        string raw = RawDiskWithNtfs();
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(raw)));
        File.WriteAllText(_tmp.File("a.txt"), "a");
        var (code, _, stderr) = CliRunner.Run("fs", "put", raw, _tmp.File("a.txt"), "/missing/dir/a.txt");
        Assert.NotEqual(0, code);
        Assert.Contains("missing", stderr, StringComparison.Ordinal);
        (code, _, stderr) = CliRunner.Run("fs", "rm", raw, "/nothing-here");
        Assert.NotEqual(0, code);
        Assert.Contains("nothing-here", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(raw))));
    }
}
