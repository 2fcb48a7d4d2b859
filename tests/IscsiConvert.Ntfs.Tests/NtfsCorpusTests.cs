using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Every NTFS volume of the shared corpus, read through the Storage layer, against sleuthkit on the same bytes: the
/// whole tree (names, directory-ness, sizes, named streams), $STANDARD_INFORMATION times of a sample (istat), and the
/// SHA-256 of every data stream (icat).
/// </summary>
[Collection(NtfsCorpusCollection.Name)]
public class NtfsCorpusTests
{
    // Streams larger than this are hashed only by length (the volume-sized $BadClus:$Bad would cost seconds for nothing).
    private const long MaxHashedStream = 32L << 20;

    private readonly NtfsCorpusFixture _images;

    public NtfsCorpusTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    public static TheoryData<string, long> SleuthKitImages => new()
    {
        { "ntfs/testfs1", 0 },
        { "ntfs/ntfs-lastaccess.raw.gz", 128 },
        { "ntfs/ntfs-ptrn.raw.gz", 128 },
        { "disks/qcow2/windows_volume.qcow2", 0 },
        { "disks/vmdk/monolithicSparse.vmdk", 128 },
    };

    [Theory]
    [MemberData(nameof(SleuthKitImages))]
    public void Tree_EqualsFls(string image, long sectorOffset)
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
        AssertTreeEqualsFls(opened.Volume, _images.Raw(image), sectorOffset);
    }

    internal static void AssertTreeEqualsFls(NtfsVolume volume, string raw, long sectorOffset)
    {
        List<FlsEntry> fls = SleuthKit.Fls(raw, sectorOffset);
        Dictionary<string, NtfsEntry> ours = Walk(volume);

        Assert.Equal(fls.Select(e => e.Path).Distinct().OrderBy(p => p, StringComparer.Ordinal), ours.Keys.OrderBy(p => p, StringComparer.Ordinal));
        foreach (FlsEntry e in fls)
        {
            NtfsEntry entry = ours[e.Path];
            Assert.True(e.Inode.StartsWith(entry.MftRecordNumber.ToString(CultureInfo.InvariantCulture) + "-", StringComparison.Ordinal), $"{e.Path}: fls {e.Inode}, ours {entry.MftRecordNumber}");
            if (e.Stream is null)
            {
                Assert.True(e.IsDirectory == entry.IsDirectory, $"{e.Path}: fls type {e.Type}");
                if (!e.IsDirectory)
                {
                    Assert.True(e.Size == entry.Size, $"{e.Path}: fls size {e.Size}, ours {entry.Size}");
                }
            }
            else if (e.AttributeType == 0x80)
            {
                NtfsStreamInfo? stream = entry.AlternateStreams.SingleOrDefault(s => s.Name == e.Stream);
                Assert.True(stream is not null, $"{e.Path}:{e.Stream} missing");
                Assert.Equal(e.Size, stream!.Length);
            }
        }
    }

    [Theory]
    [MemberData(nameof(SleuthKitImages))]
    public void EveryDataStream_HashEqualsIcat(string image, long sectorOffset)
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
        Assert.True(AssertStreamsEqualIcat(opened.Volume, _images.Raw(image), sectorOffset) > 5);
    }

    internal static int AssertStreamsEqualIcat(NtfsVolume volume, string raw, long sectorOffset, Func<FlsEntry, bool>? sample = null)
    {
        int hashed = 0;
        foreach (FlsEntry e in SleuthKit.Fls(raw, sectorOffset).Where(e => !e.IsDirectory && e.AttributeType == 0x80 && (sample is null || sample(e))))
        {
            using Stream ours = volume.OpenFile(e.Path, e.Stream);
            Assert.Equal(e.Size, ours.Length);
            // sleuthkit prints nothing for the volume-sized sparse $BadClus:$Bad.
            if (e.Size > MaxHashedStream || (e.Path == "$BadClus" && e.Stream == "$Bad"))
            {
                continue;
            }
            string[] args = sectorOffset > 0 ? new[] { "-o", sectorOffset.ToString(CultureInfo.InvariantCulture), raw, e.Inode } : new[] { raw, e.Inode };
            (int code, string sha, long length) = BinaryOracle.Sha256Of("icat", args);
            Assert.True(code == 0, $"icat {e.Inode} failed");
            Assert.True(length == e.Size, $"{e.Path}:{e.Stream}: icat gave {length} bytes");
            Assert.True(sha == BinaryOracle.Sha256(ours), $"{e.Path}{(e.Stream is null ? string.Empty : ":" + e.Stream)} ({e.Inode}) differs from icat");
            hashed++;
        }
        return hashed;
    }

    [Theory]
    [MemberData(nameof(SleuthKitImages))]
    public void Timestamps_OfASample_EqualIstat(string image, long sectorOffset)
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
        string raw = _images.Raw(image);
        Dictionary<string, NtfsEntry> ours = Walk(opened.Volume);

        // Every user file and directory, capped (testfs1 has 512 directories that differ only by name), plus system
        // files. $MFT is left out: its times are zero on these volumes and istat shows zero as 2076-11-29 (a 32-bit
        // wrap in its conversion), which is not a value to compare with.
        IEnumerable<NtfsEntry> sample = ours.Values.Where(e => !e.Name.StartsWith('$')).OrderBy(e => e.Path, StringComparer.Ordinal).Take(25)
            .Concat(new[] { ours["$Volume"], ours["$UpCase"], ours["$LogFile"] });
        foreach (NtfsEntry entry in sample)
        {
            DateTime[] expected = SleuthKit.StandardInformationTimes(raw, sectorOffset, entry.MftRecordNumber);
            DateTime[] actual = { entry.CreationTimeUtc, entry.LastWriteTimeUtc, entry.MftChangeTimeUtc, entry.LastAccessTimeUtc };
            Assert.True(expected.SequenceEqual(actual), $"{entry.Path}: istat {string.Join(", ", expected.Select(Show))}; ours {string.Join(", ", actual.Select(Show))}");
        }
    }

    [Fact]
    public void TwoMiBClusters_TreeAndContent_EqualNtfs3g()
    {
        const string Image = "ntfs/ntfs-2m.raw.gz";
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(Image));
        NtfsVolume volume = opened.Volume;
        string partition = _images.Extract(Image, 128 * 512);
        string info = Oracle.RunChecked("ntfsinfo", "-m", partition);
        Assert.Contains("Cluster Size: 2097152", info, StringComparison.Ordinal);
        Assert.Equal(2097152, volume.ClusterSize);
        Assert.Contains("Volume Name: " + volume.VolumeLabel + "\n", info, StringComparison.Ordinal);
        Assert.Contains($"Volume Version: {volume.MajorVersion}.{volume.MinorVersion}", info, StringComparison.Ordinal);

        Dictionary<string, (long Size, bool Dir)> expected = NtfsLs(Oracle.RunChecked("ntfsls", "-R", "-a", "-s", "-F", "-l", partition));
        Dictionary<string, NtfsEntry> ours = Walk(volume);
        Assert.Equal(expected.Keys.OrderBy(p => p, StringComparer.Ordinal), ours.Keys.OrderBy(p => p, StringComparer.Ordinal));
        var compared = new List<string>();
        var ntfscatFailed = new List<string>();
        foreach ((string path, (long size, bool dir)) in expected)
        {
            Assert.True(dir == ours[path].IsDirectory, path);
            if (!dir)
            {
                Assert.True(size == ours[path].Size, $"{path}: ntfsls {size}, ours {ours[path].Size}");
                // ntfs-3g returns $MFT and $MFTMirr with the fixups undone (from its cache), unlike the bytes on disk.
                if (size > 0 && size <= MaxHashedStream && path is not "$MFT" and not "$MFTMirr")
                {
                    (int code, string sha, _) = BinaryOracle.Sha256Of("ntfscat", partition, "/" + path);
                    if (code == 0)
                    {
                        using Stream s = volume.OpenFile(path);
                        Assert.True(sha == BinaryOracle.Sha256(s), $"{path} differs from ntfscat");
                        compared.Add(path);
                    }
                    else
                    {
                        ntfscatFailed.Add(path);
                    }
                }
            }
        }
        // Something was compared, and nothing was left out because ntfscat could not read it: today ntfscat reads every
        // stream here (11: the metadata files, the $TxfLog streams and both files of System Volume Information).
        Assert.True(ntfscatFailed.Count == 0, "ntfscat could not read, so nothing compared: " + string.Join(", ", ntfscatFailed));
        Assert.Contains("System Volume Information/IndexerVolumeGuid", compared);
        Assert.Contains("System Volume Information/WPSettings.dat", compared);
        Assert.True(compared.Count >= 11, "compared only " + string.Join(", ", compared));
        using Stream guid = volume.OpenFile(@"\System Volume Information\IndexerVolumeGuid");
        Assert.Equal(76, guid.Length);
    }

    [Fact]
    public void WindowsVolume_FindsSyslog_CaseInsensitively()
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath("disks/qcow2/windows_volume.qcow2"));
        NtfsEntry entry = opened.Volume.GetEntry(@"\WINDOWS\system32\CONFIG\SysLog");
        Assert.Equal(@"\Windows\System32\config\syslog", entry.Path);
        Assert.False(entry.IsDirectory);
        Assert.Null(opened.Volume.TryGetEntry(@"\Windows\System32\config\SYSTEM"));
        Assert.Throws<FileNotFoundException>(() => opened.Volume.GetEntry(@"\nope"));
    }

    [Fact]
    public void VolumeLabels_AndFlags_EqualFsstat()
    {
        foreach ((string image, long offset) in new[] { ("ntfs/testfs1", 0L), ("disks/vmdk/monolithicSparse.vmdk", 128L), ("ntfs/ntfs-lastaccess.raw.gz", 128L) })
        {
            using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
            string[] args = offset > 0 ? new[] { "-o", offset.ToString(CultureInfo.InvariantCulture), _images.Raw(image) } : new[] { _images.Raw(image) };
            string fsstat = Oracle.RunChecked("fsstat", args);
            Assert.Contains("Volume Name: " + opened.Volume.VolumeLabel + "\n", fsstat, StringComparison.Ordinal);
            Assert.Contains($"Version: Windows", fsstat, StringComparison.Ordinal);
            Assert.Contains($"Cluster Size: {opened.Volume.ClusterSize}\n", fsstat, StringComparison.Ordinal);
            Assert.False(opened.Volume.IsDirty);
        }
    }

    internal static Dictionary<string, NtfsEntry> Walk(NtfsVolume volume)
    {
        var result = new Dictionary<string, NtfsEntry>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(@"\");
        while (pending.Count > 0)
        {
            string dir = pending.Pop();
            foreach (NtfsEntry e in volume.ListDirectory(dir))
            {
                result.Add(e.Path.Substring(1).Replace('\\', '/'), e);
                if (e.IsDirectory)
                {
                    pending.Push(e.Path);
                }
            }
        }
        return result;
    }

    private static Dictionary<string, (long, bool)> NtfsLs(string output)
    {
        var result = new Dictionary<string, (long, bool)>(StringComparer.Ordinal);
        string dir = string.Empty;
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('/') && line.EndsWith(':'))
            {
                dir = line.Substring(1, line.Length - 2);
                continue;
            }
            System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(line, @"^\s*(\d+) \w{3} [ \d]\d \d\d:\d\d \d{4} (.*)$");
            Assert.True(m.Success, "unexpected ntfsls line: " + line);
            string name = m.Groups[2].Value;
            if (name is "./" or "../")
            {
                continue;
            }
            bool isDir = name.EndsWith('/');
            name = isDir ? name.TrimEnd('/') : name;
            string prefix = dir.Length == 0 ? string.Empty : dir.TrimEnd('/') + "/";
            result[prefix + name] = (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), isDir);
        }
        return result;
    }

    private static string Show(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture);
}
