using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Files and directories whose attributes no longer fit one MFT record: on a volume whose free space is a checkerboard
/// of single clusters, a file's runlist and a directory's $INDEX_ALLOCATION grow into hundreds of runs, so the writer has
/// to create an $ATTRIBUTE_LIST and extension records — and give them up again when the file shrinks. ntfs-3g
/// (ntfsinfo, ntfscat, ntfsls, ntfsfix -n, ntfsresize) and sleuthkit (istat, icat, fls) must read what we wrote.
/// </summary>
public sealed class NtfsAttributeListWriteTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Runlists_and_indexes_too_long_for_one_record_spread_over_extension_records_and_come_back()
    {
        // 512-byte clusters: every 4 KiB INDX record is eight runs in the checkerboard.
        string image = NtfsWriteTests.MakeVolume(_tmp, "al.img", 32L << 20, clusterSize: 512);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            Checkerboard(v, files);

            // One file over 600 single-cluster holes: its runlist takes several records.
            byte[] big = NtfsWriteTests.RandomBytes(7, (600 * 512) + 123);
            v.WriteFile("/big.bin", big);
            files["/big.bin"] = big;

            // A directory grown in the same holes: its $INDEX_ALLOCATION gets a run per cluster.
            v.CreateDirectory("/Repo");
            for (int i = 0; i < 1000; i++)
            {
                string name = $"/Repo/netkvm.inf_amd64_{i:x16}.inf";
                byte[] small = NtfsWriteTests.RandomBytes(1000 + i, 20 + (i % 100));
                v.WriteFile(name, small);
                files[name] = small;
            }
            v.Flush();
        }
        AssertHasAttributeList(image, "/big.bin");
        AssertHasAttributeList(image, "/Repo");
        AssertAgree(image, files);

        // Edit again with the lists in place: grow and shrink the big file, add and delete names.
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            using (Stream s = v.OpenWrite("/big.bin", FileMode.Open))
            {
                s.Position = s.Length;
                byte[] tail = NtfsWriteTests.RandomBytes(8, 50 * 512);
                s.Write(tail);
                files["/big.bin"] = files["/big.bin"].Concat(tail).ToArray();
            }
            foreach (string name in files.Keys.Where(f => f.StartsWith("/Repo/", StringComparison.Ordinal)).Where((_, i) => i % 3 == 0).ToList())
            {
                v.Delete(name);
                files.Remove(name);
            }
            v.CreateDirectory("/Repo/new-package");
            v.WriteFile("/Repo/new-package/new.sys", NtfsWriteTests.RandomBytes(9, 70_000));
            files["/Repo/new-package/new.sys"] = NtfsWriteTests.RandomBytes(9, 70_000);
            v.Flush();
        }
        AssertAgree(image, files);

        // Shrunk to a few runs, the file needs no list any more.
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            using (Stream s = v.OpenWrite("/big.bin", FileMode.Open))
            {
                s.SetLength(3 * 512);
            }
            files["/big.bin"] = files["/big.bin"].Take(3 * 512).ToArray();
            v.Flush();
        }
        AssertHasAttributeList(image, "/big.bin", expected: false);
        AssertAgree(image, files);
    }

    // Fills the volume with files of 32 clusters, then cuts two off each: the free space left is in pieces of two clusters
    // (or files of `fileClusters` cut to `keptClusters`). $MFT is grown first (records made and deleted), while it can
    // still grow in one piece.
    internal static void Checkerboard(NtfsVolume v, Dictionary<string, byte[]> files, int mftRecords = 4000, int clusterSize = 512, int fileClusters = 32, int keptClusters = 30)
    {
        v.CreateDirectory("/pre");
        for (int i = 0; i < mftRecords; i++)
        {
            v.WriteFile($"/pre/{i}", Array.Empty<byte>());
        }
        v.Delete("/pre", recursive: true);
        v.CreateDirectory("/fill");
        var written = new List<string>();
        for (int i = 0; ; i++)
        {
            string name = $"/fill/f{i:D5}";
            try
            {
                v.WriteFile(name, NtfsWriteTests.RandomBytes(i, fileClusters * clusterSize));
            }
            catch (IOException)
            {
                break;
            }
            written.Add(name);
        }
        foreach (string name in written)
        {
            using (Stream s = v.OpenWrite(name, FileMode.Open))
            {
                s.SetLength(keptClusters * clusterSize);
            }
            files[name] = NtfsWriteTests.RandomBytes(int.Parse(name.AsSpan(7), System.Globalization.CultureInfo.InvariantCulture), keptClusters * clusterSize);
        }
    }

    internal static void AssertHasAttributeList(string image, string path, bool expected = true)
    {
        string info = Oracle.RunChecked("ntfsinfo", "-F", path, image);
        Assert.Equal(expected, info.Contains("$ATTRIBUTE_LIST", StringComparison.Ordinal));
    }

    /// <summary>Every oracle reads exactly <paramref name="files"/> (and nothing else outside the system files).</summary>
    internal static void AssertAgree(string image, Dictionary<string, byte[]> files, int toolSampling = 50, int alwaysAbove = 100_000)
    {
        NtfsWriteTests.AssertOraclesHappy(image);
        List<FlsEntry> fls = SleuthKit.Fls(image, 0).Where(e => e.Stream is null && !e.Path.StartsWith('$') && !e.IsDirectory).ToList();
        var byPath = fls.ToDictionary(e => "/" + e.Path, StringComparer.OrdinalIgnoreCase);
        Assert.Equal(files.Keys.Order(StringComparer.OrdinalIgnoreCase), byPath.Keys.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        int n = 0;
        foreach ((string path, byte[] data) in files)
        {
            string expected = Convert.ToHexString(SHA256.HashData(data));
            using (Stream s = v.OpenFile(path))
            {
                Assert.Equal(expected, Convert.ToHexString(SHA256.HashData(s)));
            }
            Assert.Equal(data.Length, byPath[path].Size);

            // Two tools per file are slow on thousands of files: every big file, and a sample of the others.
            if (data.Length > alwaysAbove || n++ % toolSampling == 0)
            {
                Assert.Equal(expected, BinaryOracle.Sha256Of("icat", image, byPath[path].Inode).Sha256);
                Assert.Equal(expected, BinaryOracle.Sha256Of("ntfscat", image, path).Sha256);
            }
        }
    }
}
