using System;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `iscsi-convert disk format` on images partitioned by sgdisk/sfdisk; the new volume is checked with ntfsfix -n (on
/// the partition copied out) and sleuthkit's fsstat at the partition's offset.
/// </summary>
public sealed class DiskFormatTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    // A sparse raw disk with a GPT made by sgdisk: partition 1 from sector 2048 to the end (or two halves).
    private string GptDisk(long size, bool twoPartitions = false)
    {
        string image = _tmp.File("disk.raw");
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.SetLength(size);
        }
        if (twoPartitions)
        {
            Oracle.RunChecked("sgdisk", "-n", "1:2048:+16M", "-t", "1:0700", "-n", "2:0:0", "-t", "2:0700", image);
        }
        else
        {
            Oracle.RunChecked("sgdisk", "-n", "1:2048:0", "-t", "1:0700", image);
        }
        return image;
    }

    // Copies a partition out (sparsely) for ntfsfix, which reads a volume from offset 0.
    private string Extract(string image, long offset, long length)
    {
        string part = _tmp.File(Path.GetFileName(image) + ".part");
        using var input = File.OpenRead(image);
        using var output = new FileStream(part, FileMode.Create, FileAccess.Write);
        output.SetLength(length);
        byte[] buffer = new byte[1 << 20];
        for (long done = 0; done < length;)
        {
            input.Position = offset + done;
            int n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, length - done));
            if (n <= 0)
            {
                break;
            }
            if (buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0) >= 0)
            {
                output.Position = done;
                output.Write(buffer, 0, n);
            }
            done += n;
        }
        return part;
    }

    private static (long Start, long Length) Partition(string image, int number)
    {
        string info = Oracle.RunChecked("sgdisk", "-i", number.ToString(CultureInfo.InvariantCulture), image);
        long first = long.Parse(Field(info, "First sector:"), CultureInfo.InvariantCulture);
        long last = long.Parse(Field(info, "Last sector:"), CultureInfo.InvariantCulture);
        return (first * 512, (last - first + 1) * 512);
    }

    private static string Field(string text, string name)
    {
        int at = text.IndexOf(name, StringComparison.Ordinal) + name.Length;
        return text.Substring(at).TrimStart().Split(' ', '\n')[0];
    }

    private static void AssertNtfsfixClean(string volume)
    {
        ToolResult fix = Oracle.Run("ntfsfix", "-n", volume);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        Assert.Contains("processed successfully", fix.StdOut, StringComparison.Ordinal);
        Assert.Contains("Checking the alternate boot sector... OK", fix.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_TheOnlyPartition_MakesAVolumeNtfsfixAndFsstatAccept()
    {
        string image = GptDisk(64L << 20);
        var (code, stdout, stderr) = CliRunner.Run("disk", "format", image, "--label", "CliVol", "--cluster-size", "2K");
        Assert.True(code == 0, stderr);
        Assert.Contains("Formatted partition 1", stdout, StringComparison.Ordinal);
        Assert.Contains("2048 bytes", stdout, StringComparison.Ordinal);

        (long start, long length) = Partition(image, 1);
        string fsstat = Oracle.RunChecked("fsstat", "-o", (start / 512).ToString(CultureInfo.InvariantCulture), image);
        Assert.Contains("File System Type: NTFS", fsstat, StringComparison.Ordinal);
        Assert.Contains("Volume Name: CliVol", fsstat, StringComparison.Ordinal);
        Assert.Contains("Cluster Size: 2048", fsstat, StringComparison.Ordinal);
        AssertNtfsfixClean(Extract(image, start, length));

        // The boot sector names the partition's first sector, as Windows needs to boot from it.
        byte[] boot = new byte[512];
        using (var f = File.OpenRead(image))
        {
            f.Position = start;
            f.ReadExactly(boot);
        }
        Assert.Equal((uint)(start / 512), BitConverter.ToUInt32(boot, 0x1C));

        // Our own reader sees it through the partition too.
        (code, stdout, stderr) = CliRunner.Run("fs", "check", image);
        Assert.True(code == 0, stderr + stdout);
    }

    [Fact]
    public void Format_RefusesAPartitionWithAFileSystem_UnlessForced()
    {
        string image = GptDisk(32L << 20);
        Assert.Equal(0, CliRunner.Run("disk", "format", image, "-L", "first").ExitCode);
        byte[] before = SHA256.HashData(File.ReadAllBytes(image));

        var (code, _, stderr) = CliRunner.Run("disk", "format", image, "-L", "second");
        Assert.Equal(CliApp.Refused, code); // refused as unsafe (it would erase a file system): its own code
        Assert.Contains("Nothing was written", stderr, StringComparison.Ordinal);
        Assert.Contains("NTFS", stderr, StringComparison.Ordinal);
        Assert.Contains("--force", stderr, StringComparison.Ordinal);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(image)));

        (code, string stdout, stderr) = CliRunner.Run("disk", "format", image, "-L", "second", "--force");
        Assert.True(code == 0, stderr);
        Assert.Contains("was NTFS", stdout, StringComparison.Ordinal);
        (long start, _) = Partition(image, 1);
        Assert.Contains("Volume Name: second", Oracle.RunChecked("fsstat", "-o", (start / 512).ToString(CultureInfo.InvariantCulture), image), StringComparison.Ordinal);
    }

    [Fact]
    public void DiskWithoutPartitionTable_IsFormattedWhole_AndPartitionIsRefused()
    {
        string image = _tmp.File("bare.raw");
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.SetLength(24L << 20);
        }
        var (code, _, stderr) = CliRunner.Run("disk", "format", image, "--partition", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("no partition table", stderr, StringComparison.Ordinal);

        (code, string stdout, stderr) = CliRunner.Run("disk", "format", image, "-L", "bare");
        Assert.True(code == 0, stderr);
        Assert.Contains("the whole disk", stdout, StringComparison.Ordinal);
        AssertNtfsfixClean(image);
        Assert.Contains("Volume Name: bare", Oracle.RunChecked("fsstat", image), StringComparison.Ordinal);
    }

    [Fact]
    public void DryRun_WritesNothing()
    {
        string image = GptDisk(32L << 20);
        byte[] before = SHA256.HashData(File.ReadAllBytes(image));
        var (code, stdout, stderr) = CliRunner.Run("disk", "format", image, "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains("Would format partition 1", stdout, StringComparison.Ordinal);
        Assert.Contains("4096 bytes", stdout, StringComparison.Ordinal);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(image)));
    }

    [Fact]
    public void TwoPartitions_WithoutPartition_AreListed_AndTheChosenOneIsFormatted()
    {
        string image = GptDisk(64L << 20, twoPartitions: true);
        var (code, _, stderr) = CliRunner.Run("disk", "format", image);
        Assert.NotEqual(0, code);
        Assert.Contains("2 partitions", stderr, StringComparison.Ordinal);
        Assert.Contains("--partition", stderr, StringComparison.Ordinal);

        (code, _, stderr) = CliRunner.Run("disk", "format", image, "--partition", "2", "-L", "second");
        Assert.True(code == 0, stderr);
        (long start, long length) = Partition(image, 2);
        Assert.Contains("Volume Name: second", Oracle.RunChecked("fsstat", "-o", (start / 512).ToString(CultureInfo.InvariantCulture), image), StringComparison.Ordinal);
        AssertNtfsfixClean(Extract(image, start, length));
        (long start1, _) = Partition(image, 1);
        Assert.NotEqual(0, Oracle.Run("fsstat", "-o", (start1 / 512).ToString(CultureInfo.InvariantCulture), image).ExitCode);
    }

    [Fact]
    public void MbrPartitionInAVhdx_IsFormatted()
    {
        string raw = _tmp.File("mbr.raw");
        using (var f = new FileStream(raw, FileMode.CreateNew))
        {
            f.SetLength(48L << 20);
        }
        ToolResult sfdisk = Oracle.RunIn(null, "sh", "-c", $"echo 'start=2048, type=7' | sfdisk '{raw}'");
        Assert.True(sfdisk.ExitCode == 0, sfdisk.StdErr);
        string vhdx = _tmp.File("mbr.vhdx");
        Oracle.RunChecked("qemu-img", "convert", "-f", "raw", "-O", "vhdx", raw, vhdx);

        var (code, stdout, stderr) = CliRunner.Run("disk", "format", vhdx, "-L", "invhdx");
        Assert.True(code == 0, stderr);
        Assert.Contains("Formatted partition 1", stdout, StringComparison.Ordinal);
        Assert.Contains("No errors were found", QemuImg.Check(vhdx, "vhdx"), StringComparison.Ordinal);
        string back = _tmp.File("back.raw");
        QemuImg.ConvertToRaw(vhdx, "vhdx", back);
        Assert.Contains("Volume Name: invhdx", Oracle.RunChecked("fsstat", "-o", "2048", back), StringComparison.Ordinal);
        AssertNtfsfixClean(Extract(back, 2048L * 512, (48L << 20) - (2048L * 512)));
    }

    [Fact]
    public void FourKnVhdx_GetsA4KnVolume()
    {
        string vhdx = _tmp.File("4kn.vhdx");
        long firstSector;
        long partitionLength;
        using (VirtualDisk disk = DiskImage.Create(vhdx, new DiskCreateOptions { Format = DiskFormat.Vhdx, Capacity = 64L << 20, LogicalSectorSize = 4096 }))
        {
            PartitionTable table = PartitionTable.CreateGpt(disk.Content, 4096, IdentifierSource.Sequential(5));
            PartitionInfo data = table.AddPartition(NewPartition.Of(PartitionKind.BasicData, 0, "data"));
            firstSector = data.FirstSector;
            partitionLength = data.Length;
            disk.Flush();
        }
        var (code, stdout, stderr) = CliRunner.Run("disk", "format", vhdx, "-L", "fourk");
        Assert.True(code == 0, stderr);
        Assert.Contains("4096-byte sectors", stdout, StringComparison.Ordinal);

        // qemu-img does not read 4 KiB-sector VHDX; our conversion (checked against qemu-img elsewhere) makes the raw copy.
        string raw = _tmp.File("4kn.raw");
        Assert.Equal(0, CliRunner.Run("disk", "convert", vhdx, raw, "--format", "raw").ExitCode);
        string fsstat = Oracle.RunChecked("fsstat", "-b", "4096", "-o", firstSector.ToString(CultureInfo.InvariantCulture), raw);
        Assert.Contains("Sector Size: 4096", fsstat, StringComparison.Ordinal);
        Assert.Contains("Size of MFT Entries: 4096 bytes", fsstat, StringComparison.Ordinal);
        Assert.Contains("Volume Name: fourk", fsstat, StringComparison.Ordinal);
        long start = firstSector * 4096;
        byte[] boot = new byte[512];
        using (var f = File.OpenRead(raw))
        {
            f.Position = start;
            f.ReadExactly(boot);
        }
        Assert.Equal((uint)firstSector, BitConverter.ToUInt32(boot, 0x1C));
        AssertNtfsfixClean(Extract(raw, start, partitionLength));
    }
}
