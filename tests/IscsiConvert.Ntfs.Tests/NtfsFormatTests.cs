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
}
