using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Volumes made by <see cref="NtfsFormatter"/>, checked by the tools that know NTFS: ntfsfix -n (ntfs-3g's
/// consistency check of $MFT/$MFTMirr, boot sectors and $LogFile), sleuthkit's fsstat/fls, ntfsinfo and ntfsls, and
/// our own reader's Verify and CheckWritable.
/// </summary>
public sealed class NtfsFormatTests : IDisposable
{
    private static readonly string[] SystemFiles =
    {
        "$AttrDef", "$BadClus", "$Bitmap", "$Boot", "$Extend", "$LogFile", "$MFT", "$MFTMirr", "$Secure", "$UpCase", "$Volume",
    };

    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    internal static string FormatImage(TempDir tmp, string name, long size, NtfsFormatOptions? options = null)
    {
        string image = tmp.File(name);
        using (var f = new FileStream(image, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            f.SetLength(size);
            NtfsFormatter.Format(f, options ?? new NtfsFormatOptions { Label = "fresh" });
        }
        return image;
    }

    internal static void AssertNtfsfixClean(string image)
    {
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        string output = fix.StdOut + fix.StdErr;
        Assert.True(fix.ExitCode == 0, $"{fix.CommandLine} exited {fix.ExitCode}:\n{output}");
        Assert.Contains("processed successfully", output, StringComparison.Ordinal);
        Assert.Contains("Checking the alternate boot sector... OK", output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("corrupt", output, StringComparison.OrdinalIgnoreCase);
    }

    // ntfsresize accounts every cluster of every file against $Bitmap and fails on any difference.
    internal static void AssertClusterAccounting(string image)
    {
        ToolResult resize = Oracle.Run("ntfsresize", "--info", "--force", "--no-progress-bar", image);
        Assert.True(resize.ExitCode == 0, resize.StdOut + resize.StdErr);
        Assert.Contains("Accounting clusters ...\nSpace in use", resize.StdOut, StringComparison.Ordinal);
    }

    internal static string AssertFsstat(string image, long clusterSize, string label, int sectorSize = 512)
    {
        string fsstat = Oracle.RunChecked("fsstat", "-b", sectorSize.ToString(CultureInfo.InvariantCulture), image);
        Assert.Contains("File System Type: NTFS", fsstat, StringComparison.Ordinal);
        Assert.Contains($"Cluster Size: {clusterSize}\n", fsstat, StringComparison.Ordinal);
        Assert.Contains($"Volume Name: {label}\n", fsstat, StringComparison.Ordinal);
        Assert.Contains("Version: Windows XP", fsstat, StringComparison.Ordinal);
        return fsstat;
    }

    [Theory]
    [InlineData(8L << 20, 4096)]
    [InlineData(64L << 20, 512)]
    [InlineData(64L << 20, 65536)]
    [InlineData(1L << 30, 0)]
    public void FormattedVolume_PassesNtfsfixAndFsstat_AndOurVerify(long size, int clusterSize)
    {
        string image = FormatImage(_tmp, "v.img", size, new NtfsFormatOptions { Label = "fresh", ClusterSize = clusterSize });
        long expectedCluster = clusterSize == 0 ? 4096 : clusterSize;
        AssertNtfsfixClean(image);
        string fsstat = AssertFsstat(image, expectedCluster, "fresh");
        Assert.Contains($"Total Cluster Range: 0 - {((size / 512) - 1) * 512 / expectedCluster - 1}\n", fsstat, StringComparison.Ordinal);

        AssertClusterAccounting(image);

        using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
        using var volume = NtfsVolume.Open(stream);
        Assert.Empty(volume.Verify());
        volume.CheckWritable();
        Assert.Equal("fresh", volume.VolumeLabel);
        Assert.Equal(3, volume.MajorVersion);
        Assert.Equal(1, volume.MinorVersion);
        Assert.False(volume.IsDirty);
        Assert.Equal(SystemFiles, volume.ListDirectory("\\").Select(e => e.Name).ToArray());
        Assert.Equal(new[] { "$ObjId", "$Quota", "$Reparse" }, volume.ListDirectory("\\$Extend").Select(e => e.Name).ToArray());
    }

    [Fact]
    public void OneTiBSparseVolume_HasABitmapWithHeadAndTail_ThatNtfsresizeAccounts()
    {
        string image = FormatImage(_tmp, "tib.img", 1L << 40);
        AssertNtfsfixClean(image);
        AssertClusterAccounting(image);
        string fsstat = AssertFsstat(image, 4096, "fresh");
        Assert.Contains($"Total Cluster Range: 0 - {((1L << 40) - 512) / 4096 - 1}\n", fsstat, StringComparison.Ordinal);
    }

    [Fact]
    public void SystemFiles_AreListed_ByFlsAndNtfsls()
    {
        string image = FormatImage(_tmp, "v.img", 32L << 20);
        List<string> fls = SleuthKit.Fls(image, 0).Select(e => e.Path).Distinct().ToList();
        foreach (string name in SystemFiles)
        {
            Assert.Contains(name, fls);
        }
        Assert.Contains("$Extend/$Quota", fls);
        Assert.Contains("$Extend/$ObjId", fls);
        Assert.Contains("$Extend/$Reparse", fls);

        // -s shows the system files (ntfsls hides names starting with '$' otherwise); "." and ".." come first.
        string ntfsls = Oracle.RunChecked("ntfsls", "-a", "-s", image);
        Assert.Equal(new[] { ".", ".." }.Concat(SystemFiles), ntfsls.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        string extend = Oracle.RunChecked("ntfsls", "-a", "-s", "-p", "/$Extend", image);
        Assert.Equal(new[] { ".", "..", "$ObjId", "$Quota", "$Reparse" }, extend.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        string info = Oracle.RunChecked("ntfsinfo", "-m", image);
        Assert.Contains("Volume Name: fresh", info, StringComparison.Ordinal);
        Assert.Contains("Volume Version: 3.1", info, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4096, 512)]
    [InlineData(512, 512)]
    [InlineData(65536, 512)]
    [InlineData(4096, 4096)]
    public void Ntfs3g_WritesAFileIntoTheVolume_AndItReadsBack(int clusterSize, int sectorSize)
    {
        string image = FormatImage(_tmp, "rw.img", 64L << 20, new NtfsFormatOptions { Label = "rw", ClusterSize = clusterSize, BytesPerSector = sectorSize });
        byte[] content = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        string local = _tmp.File("local.bin");
        File.WriteAllBytes(local, content);
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "dir"));
            File.Copy(local, Path.Combine(mount, "dir", "copied.bin"));
        });
        AssertNtfsfixClean(image);
        AssertClusterAccounting(image);
        string expected = BinaryOracle.Sha256(new MemoryStream(content));
        Assert.Equal((0, expected, content.Length), BinaryOracle.Sha256Of("ntfscat", image, "/dir/copied.bin"));
        string b = sectorSize.ToString(CultureInfo.InvariantCulture);
        string inode = Oracle.RunChecked("ifind", "-b", b, "-n", "dir/copied.bin", image).Trim();
        Assert.Equal((0, expected, content.Length), BinaryOracle.Sha256Of("icat", "-b", b, image, inode));

        using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
        using var volume = NtfsVolume.Open(stream);
        Assert.Empty(volume.Verify());
        using Stream file = volume.OpenFile(@"\dir\copied.bin");
        Assert.Equal(expected, BinaryOracle.Sha256(file));
    }

    [Theory]
    [InlineData(65536)]
    [InlineData(2 * 1024 * 1024)]
    public void LargeClusters_IndexRecordsSmallerThanACluster_AreReadByNtfs3g(int clusterSize)
    {
        // With clusters above 4 KiB, INDX records are addressed in 512-byte blocks; sleuthkit cannot open 2 MiB
        // clusters (a TSK limit), ntfs-3g can.
        string image = FormatImage(_tmp, "big.img", 96L << 20, new NtfsFormatOptions { Label = "big", ClusterSize = clusterSize });
        AssertNtfsfixClean(image);
        string info = Oracle.RunChecked("ntfsinfo", "-m", image);
        Assert.Contains($"Cluster Size: {clusterSize}\n", info, StringComparison.Ordinal);
        string ntfsls = Oracle.RunChecked("ntfsls", "-a", "-s", image);
        Assert.Equal(new[] { ".", ".." }.Concat(SystemFiles), ntfsls.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
        using var volume = NtfsVolume.Open(stream);
        Assert.Empty(volume.Verify());
        Assert.Equal(clusterSize, volume.ClusterSize);
    }

    [Fact]
    public void Wimcapture_CapturesTheVolume()
    {
        string image = FormatImage(_tmp, "wim.img", 32L << 20);
        string wim = _tmp.File("v.wim");
        string output = Oracle.RunChecked("wimlib-imagex", "capture", image, wim, "fresh");
        Assert.True(File.Exists(wim), output);
        string info = Oracle.RunChecked("wimlib-imagex", "info", wim);
        Assert.Matches(@"Image Count:\s+1\n", info);
        Assert.Matches(@"Name:\s+fresh\n", info);
        Assert.Matches(@"Directory Count:\s+1\n", info);
    }

    [Fact]
    public void FourKnVolume_Has4KiBSectorsAndMftRecords()
    {
        string image = FormatImage(_tmp, "4kn.img", 64L << 20, new NtfsFormatOptions { Label = "fourk", BytesPerSector = 4096 });
        AssertNtfsfixClean(image);
        string fsstat = AssertFsstat(image, 4096, "fourk", 4096);
        Assert.Contains("Sector Size: 4096\n", fsstat, StringComparison.Ordinal);
        Assert.Contains("Size of MFT Entries: 4096 bytes", fsstat, StringComparison.Ordinal);
        string info = Oracle.RunChecked("ntfsinfo", "-m", image);
        Assert.Contains("Sector Size: 4096", info, StringComparison.Ordinal);
        Assert.Contains("MFT Record Size: 4096", info, StringComparison.Ordinal);
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
        using var volume = NtfsVolume.Open(stream);
        Assert.Empty(volume.Verify());
        Assert.Equal(4096, volume.MftRecordSize);
    }

    [Fact]
    public void BootSector_CarriesHiddenSectorsAndSerial_AsFsstatAndNtfsinfoRead()
    {
        string image = FormatImage(_tmp, "v.img", 16L << 20, new NtfsFormatOptions { Label = "ser", SerialNumber = 0x0123456789ABCDEF, HiddenSectors = 2048 });
        string fsstat = AssertFsstat(image, 4096, "ser");
        Assert.Contains("Volume Serial Number: 0123456789ABCDEF", fsstat, StringComparison.Ordinal);
        byte[] boot = new byte[512];
        using (var f = File.OpenRead(image))
        {
            f.ReadExactly(boot);
        }
        Assert.Equal(2048u, BitConverter.ToUInt32(boot, 0x1C));
        AssertNtfsfixClean(image);
    }

    [Fact]
    public void OddSizedVolume_UsesWholeSectors()
    {
        string image = FormatImage(_tmp, "odd.img", (20L << 20) + 1234);
        AssertNtfsfixClean(image);
        AssertFsstat(image, 4096, "fresh");
    }

    [Fact]
    public void TooSmallVolume_IsRefused_WithTheMinimum_AndNothingIsWritten()
    {
        var stream = new MemoryStream(new byte[256 * 1024]);
        ArgumentException e = Assert.Throws<ArgumentException>(() => NtfsFormatter.Format(stream, new NtfsFormatOptions()));
        Assert.Contains("smallest volume", e.Message, StringComparison.Ordinal);
        Assert.True(stream.ToArray().All(b => b == 0));
        long minimum = long.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"smallest volume for these options is (\d+) bytes").Groups[1].Value, CultureInfo.InvariantCulture);

        // The minimum is exact: a volume of that size formats and passes ntfsfix; one sector less does not format.
        Assert.Throws<ArgumentException>(() => NtfsFormatter.Plan(minimum - 512));
        string image = FormatImage(_tmp, "min.img", minimum);
        AssertNtfsfixClean(image);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(256)]
    [InlineData(4 * 1024 * 1024)]
    public void BadClusterSize_IsRefused(int clusterSize)
    {
        Assert.Throws<ArgumentException>(() => NtfsFormatter.Plan(64L << 20, new NtfsFormatOptions { ClusterSize = clusterSize }));
        Assert.Throws<ArgumentException>(() => NtfsFormatter.Plan(64L << 20, new NtfsFormatOptions { ClusterSize = 2048, BytesPerSector = 4096 }));
    }

    [Fact]
    public void DefaultClusterSize_Is4KiB_UpTo16TiB_ThenDoubles()
    {
        Assert.Equal(4096, NtfsFormatter.Plan(64L << 20).ClusterSize);
        Assert.Equal(4096, NtfsFormatter.Plan(16L << 40).ClusterSize);
        Assert.Equal(8192, NtfsFormatter.Plan((16L << 40) + (1L << 30)).ClusterSize);
        Assert.Equal(65536, NtfsFormatter.Plan(200L << 40).ClusterSize);
    }

}
