using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// $MFT on an aged volume: grown a little at a time while the free space was all two-cluster holes, so its $DATA is in
/// hundreds of extents and its runlist has long outgrown record 0 — it goes on in extension records behind $MFT's own
/// $ATTRIBUTE_LIST, in low records that record 0's first extent maps. Then the engine's writes (a package folder, many
/// new files that make $MFT grow again), and after each step ntfs-3g, sleuthkit and Verify read the volume as we meant it.
/// </summary>
public sealed class NtfsMftGrowthTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Mft_in_hundreds_of_extents_grows_behind_its_own_attribute_list()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "mft.img", 128L << 20);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            NtfsAttributeListWriteTests.Checkerboard(v, files, mftRecords: 0, clusterSize: 4096);
            v.Flush();
        }
        int before = MftExtents(image);

        // Aged: files created a few hundred at a time, so $MFT grows into the holes, 256 records (32 holes) at a time.
        AddFiles(image, files, "/Windows/WinSxS/Manifests", 2500, size: 200);
        int extents = MftExtents(image);
        Assert.True(extents >= 50 && extents > before, $"$MFT is in {extents} extents");
        NtfsAttributeListWriteTests.AssertHasAttributeList(image, "/$MFT");
        AssertMftReadByEveryone(image);
        AssertAgree(image, files);

        // The engine's writes: a package folder with its files (the driver in fragments), then more names than $MFT
        // has free records, so it grows again behind its list.
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            string package = "/Windows/System32/DriverStore/FileRepository/netkvm.inf_amd64_0123456789abcdef";
            v.CreateDirectory(package);
            foreach ((string name, int size) in new[] { ("netkvm.inf", 7_000), ("netkvm.cat", 12_000), ("netkvm.sys", 300_000) })
            {
                byte[] data = NtfsWriteTests.RandomBytes(size, size);
                v.WriteFile(package + "/" + name, data);
                files[package + "/" + name] = data;
            }
            v.Flush();
        }
        AssertAgree(image, files);
        AddFiles(image, files, "/Windows/INF", 1000, size: 100);
        Assert.True(MftExtents(image) > extents, "$MFT grew again");
        AssertMftReadByEveryone(image);
        AssertAgree(image, files);

        // The real driver takes it: ntfs-3g creates files (growing $MFT behind the list in its own way) and deletes one;
        // then we read its layout and grow $MFT once more.
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(mount + "/Windows/System32");
            for (int i = 0; i < 400; i++)
            {
                string path = $"/Windows/System32/n3g{i:D4}.dll";
                byte[] data = NtfsWriteTests.RandomBytes(50_000 + i, 100);
                File.WriteAllBytes(mount + path, data);
                files[path] = data;
            }
            File.WriteAllBytes(mount + "/Windows/INF/by-ntfs-3g.inf", new byte[5000]);
            File.Delete(mount + "/Windows/INF/by-ntfs-3g.inf");
        });
        AssertMftReadByEveryone(image);
        AssertAgree(image, files);
        int afterNtfs3g = MftExtents(image);
        AddFiles(image, files, "/Windows/System32", 400, size: 100);
        Assert.True(MftExtents(image) >= afterNtfs3g);
        AssertMftReadByEveryone(image);
        AssertAgree(image, files);
    }

    [Fact]
    public void Mft_in_thousands_of_extents_moves_its_attribute_list_to_clusters()
    {
        // Free space in single clusters 8 apart: every four records $MFT grows by are an extent of their own, each a
        // 3-byte run, so its list needs several extension records and outgrows what record 0 keeps resident.
        string image = NtfsWriteTests.MakeVolume(_tmp, "mftlist.img", 160L << 20);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            NtfsAttributeListWriteTests.Checkerboard(v, files, mftRecords: 0, clusterSize: 4096, fileClusters: 8, keptClusters: 7);
            v.Flush();
        }

        // Aged: files added until $MFT is fragmented enough to need its attribute list, then a few old files deleted,
        // which frees records that record 0's first $DATA extent maps. $MFT keeps some of them for its own extension
        // records (the reserved records 16-23 are soon taken) and files get the rest.
        string[] directories = { "/Windows/WinSxS/Manifests", "/Windows/INF", "/Windows/System32", "/Windows/System32/drivers" };
        int batches = 0;
        while (MftExtensionRecords(image).Max() == 0)
        {
            Assert.True(batches < 4, $"$MFT in {MftExtents(image)} extents has no extension records");
            AddFiles(image, files, directories[batches++ % directories.Length], 1000, size: 100);
        }
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            foreach (string path in files.Keys.Where(p => p.StartsWith("/fill/", StringComparison.Ordinal)).Where((_, i) => i % 200 == 7).ToList())
            {
                v.Delete(path);
                files.Remove(path);
            }
            v.Flush();
        }
        while (!MftListIsNonResident(image) || MftExtensionRecords(image).Max() < 24)
        {
            Assert.True(batches < 16, $"$MFT in {MftExtents(image)} extents: list non-resident {MftListIsNonResident(image)}, extension records {string.Join(", ", MftExtensionRecords(image))}");
            AddFiles(image, files, directories[batches++ % directories.Length], 1000, size: 100);
        }
        int extents = MftExtents(image);
        Assert.True(extents >= 2000, $"$MFT is in {extents} extents");
        AssertMftReadByEveryone(image);
        AssertAgree(image, files);

        // Grown again with the list in clusters: the list is written anew (to clusters free on disk, the old ones given
        // back), and the files in the new records read back through every tool.
        string moved = Oracle.RunChecked("istat", image, "0");
        List<string> added = AddFiles(image, files, "/Windows/WinSxS", 1500, size: 300);
        Assert.True(MftListIsNonResident(image));
        Assert.True(MftExtents(image) > extents, "$MFT grew on");
        Assert.NotEqual(AttributeListClusters(moved), AttributeListClusters(Oracle.RunChecked("istat", image, "0")));
        AssertMftReadByEveryone(image);
        AssertAgree(image, files);
        AssertReadByTools(image, added.Where((_, i) => i % 100 == 0 || i == added.Count - 1));

        // The real driver reads $MFT through the list in clusters and writes beside it; then we delete on its layout.
        Ntfs3gMount.With(image, mount =>
        {
            for (int i = 0; i < 50; i++)
            {
                string path = $"/Windows/System32/n3g{i:D3}.dll";
                byte[] data = NtfsWriteTests.RandomBytes(70_000 + i, 3000);
                File.WriteAllBytes(mount + path, data);
                files[path] = data;
            }
        });
        AssertMftReadByEveryone(image);
        AssertAgree(image, files);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            foreach (string path in added.Where((_, i) => i % 5 == 0))
            {
                v.Delete(path);
                files.Remove(path);
            }
            v.Flush();
        }

        // The limit that remains: once the records 16-23 and the kept ones are all $MFT's, a growth that needs one more
        // extension record is refused, that one edit is undone, and a volume disposed without Flush is untouched.
        string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(image)));
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            UnsupportedFormatException refused = Assert.Throws<UnsupportedFormatException>(() =>
            {
                for (int i = 0; i < 20_000; i++)
                {
                    v.WriteFile($"/Windows/INF/last{i:D5}.inf", NtfsWriteTests.RandomBytes(i, 100));
                }
            });
            Assert.Contains("defragment the volume in Windows first", refused.Message, StringComparison.Ordinal);
        }
        Assert.Equal(hash, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(image))));
        AssertAgree(image, files);
    }

    [Fact]
    public void File_data_stays_out_of_the_mft_zone_and_mft_grows_into_it()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "zone.img", 256L << 20);
        long[] mftBefore = DataClusters(Oracle.RunChecked("istat", image, "0"));
        long zoneStart = mftBefore.Max() + 1;
        long zoneEnd = zoneStart + ((256L << 20) / 4096 / 8) - 1; // an eighth of the volume (mkntfs keeps a sector back)
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            files["/driver.sys"] = NtfsWriteTests.RandomBytes(1, 1 << 20);
            v.WriteFile("/driver.sys", files["/driver.sys"]);
            v.CreateDirectory("/INF");
            for (int i = 0; i < 600; i++)
            {
                files[$"/INF/oem{i}.inf"] = NtfsWriteTests.RandomBytes(i, 300);
                v.WriteFile($"/INF/oem{i}.inf", files[$"/INF/oem{i}.inf"]);
            }
            v.Flush();
        }
        NtfsAttributeListWriteTests.AssertAgree(image, files);
        FlsEntry driver = SleuthKit.Fls(image, 0).Single(e => e.Path == "driver.sys" && e.Stream is null);
        long[] data = DataClusters(Oracle.RunChecked("istat", image, driver.Inode.Split('-')[0]));
        Assert.Equal(256, data.Length);
        Assert.All(data, c => Assert.False(c >= zoneStart && c < zoneEnd, $"cluster {c} of the file is in the MFT zone {zoneStart}-{zoneEnd}"));
        long[] grown = DataClusters(Oracle.RunChecked("istat", image, "0")).Except(mftBefore).ToArray();
        Assert.NotEmpty(grown);
        Assert.All(grown, c => Assert.True(c >= zoneStart && c < zoneEnd, $"cluster {c} of $MFT's growth is outside the MFT zone {zoneStart}-{zoneEnd}"));
    }

    // The 120 KiB files of the checkerboard (a thousand of them) are read by our reader and fls, and sampled by icat and
    // ntfscat; the driver and everything smaller are sampled or read whole as AssertAgree does.
    private static void AssertAgree(string image, Dictionary<string, byte[]> files) =>
        NtfsAttributeListWriteTests.AssertAgree(image, files, toolSampling: 40, alwaysAbove: 200_000);

    private static List<string> AddFiles(string image, Dictionary<string, byte[]> files, string directory, int count, int size)
    {
        using NtfsVolume v = NtfsWriteTests.OpenWritable(image);
        v.CreateDirectory(directory);
        var added = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string path = $"{directory}/f{files.Count:D5}.bin";
            byte[] data = NtfsWriteTests.RandomBytes(files.Count, size);
            v.WriteFile(path, data);
            files[path] = data;
            added.Add(path);
        }
        v.Flush();
        return added;
    }

    // icat (by the inode fls gives) and ntfscat (by path) read exactly what was written.
    private static void AssertReadByTools(string image, IEnumerable<string> paths)
    {
        var inodes = SleuthKit.Fls(image, 0).Where(e => e.Stream is null).ToDictionary(e => "/" + e.Path, e => e.Inode, StringComparer.OrdinalIgnoreCase);
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        foreach (string path in paths)
        {
            using Stream s = v.OpenFile(path);
            string expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(s));
            Assert.Equal(expected, BinaryOracle.Sha256Of("icat", image, inodes[path]).Sha256);
            Assert.Equal(expected, BinaryOracle.Sha256Of("ntfscat", image, path).Sha256);
        }
    }

    // Whether $MFT's $ATTRIBUTE_LIST lives in clusters, as sleuthkit and ntfs-3g both report it.
    private static bool MftListIsNonResident(string image)
    {
        string istat = Oracle.RunChecked("istat", image, "0");
        string? line = istat.Split('\n').FirstOrDefault(l => l.StartsWith("Type: $ATTRIBUTE_LIST", StringComparison.Ordinal));
        bool nonResident = line is not null && line.Contains("Non-Resident", StringComparison.Ordinal);
        string info = Oracle.RunChecked("ntfsinfo", "-i", "0", image);
        int at = info.IndexOf("Dumping attribute $ATTRIBUTE_LIST", StringComparison.Ordinal);
        Assert.Equal(line is not null, at >= 0);
        if (at >= 0)
        {
            string section = info.Substring(at, Math.Min(400, info.Length - at));
            Assert.Equal(nonResident, section.Contains("Resident: \t\t No", StringComparison.Ordinal));
        }
        return nonResident;
    }

    // The records that hold $MFT's $DATA extents after the first, from the attribute list istat prints.
    private static long[] MftExtensionRecords(string image) =>
        System.Text.RegularExpressions.Regex.Matches(Oracle.RunChecked("istat", image, "0"), @"Type: 128-\d+\s+MFT Entry: (\d+)")
            .Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Where(r => r != 0).DefaultIfEmpty(0).ToArray();

    // The clusters istat lists for $MFT's $ATTRIBUTE_LIST.
    private static long[] AttributeListClusters(string istat) => SectionClusters(istat, "Type: $ATTRIBUTE_LIST");

    // $MFT as ntfs-3g and sleuthkit read it: ntfsinfo counts all its clusters, istat lists them.
    private static void AssertMftReadByEveryone(string image)
    {
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        long size = v.GetEntry("/$MFT").Size;
        string istat = Oracle.RunChecked("istat", image, "0");
        Assert.Contains("$ATTRIBUTE_LIST", istat, StringComparison.Ordinal);
        Assert.Equal((size + 4095) / 4096, DataClusters(istat).Length);
        string info = Oracle.RunChecked("ntfsinfo", "-m", image);
        Assert.Contains($"Allocated clusters {(size + 4095) / 4096} ", info, StringComparison.Ordinal);
    }

    // The number of fragments of $MFT's $DATA, from the clusters istat lists.
    private static int MftExtents(string image)
    {
        long[] clusters = DataClusters(Oracle.RunChecked("istat", image, "0"));
        return 1 + clusters.Zip(clusters.Skip(1)).Count(p => p.Second != p.First + 1);
    }

    private static long[] DataClusters(string istat) => SectionClusters(istat, "Type: $DATA");

    private static long[] SectionClusters(string istat, string heading)
    {
        int at = istat.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(at >= 0, istat);
        string section = istat.Substring(at);
        int next = section.IndexOf("Type: ", 5, StringComparison.Ordinal);
        return section.Substring(0, next < 0 ? section.Length : next).Split('\n').Skip(1)
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(w => long.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out long c) ? c : -1).Where(c => c >= 0).ToArray();
    }
}
