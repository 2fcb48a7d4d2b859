using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Files and directories written by our NTFS writer into volumes made by mkntfs, checked by the oracles: ntfsfix -n
/// finds nothing to fix, sleuthkit (fls/icat) and ntfs-3g (ntfsls/ntfscat) list and read exactly what was written.
/// </summary>
public sealed class NtfsWriteTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    internal static string MakeVolume(TempDir tmp, string name, long size = 64L << 20, int clusterSize = 4096, params string[] extra)
    {
        string image = tmp.File(name);
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.SetLength(size);
        }
        var args = new List<string> { "-q", "-F", "-f", "-c", clusterSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "-L", "w" };
        args.AddRange(extra);
        args.Add(image);
        Oracle.RunChecked("mkntfs", args.ToArray());
        return image;
    }

    internal static NtfsVolume OpenWritable(string image) =>
        NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true, FilePath = image });

    internal static void AssertOraclesHappy(string image, bool sleuthKitReads = true)
    {
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, "ntfsfix -n: " + fix.StdOut + fix.StdErr);
        Assert.DoesNotContain("rror", fix.StdOut + fix.StdErr, StringComparison.Ordinal);
        if (sleuthKitReads)
        {
            Oracle.RunChecked("fsstat", image);
        }

        // ntfsresize accounts every cluster of every attribute against $Bitmap before it would resize anything.
        ToolResult resize = Oracle.Run("ntfsresize", "--info", "--force", "--no-progress-bar", image);
        Assert.True(resize.ExitCode == 0 && !resize.StdOut.Contains("ERROR", StringComparison.OrdinalIgnoreCase), "ntfsresize --info: " + resize.StdOut + resize.StdErr);
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        Assert.Empty(v.Verify());
    }

    private static string Sha(byte[] data) => Convert.ToHexString(SHA256.HashData(data));

    [Fact]
    public void Files_and_directories_written_here_are_read_back_by_sleuthkit_and_ntfs_3g()
    {
        string image = MakeVolume(_tmp, "w.img");
        var files = new Dictionary<string, byte[]>
        {
            ["/small.txt"] = "hello, NTFS"u8.ToArray(),
            ["/empty.bin"] = Array.Empty<byte>(),
            ["/Windows/System32/drivers/netkvm.sys"] = RandomBytes(1, 300_000),
            ["/Windows/INF/oem0.inf"] = RandomBytes(2, 5000),
            ["/Windows/big.bin"] = RandomBytes(3, 3 << 20),
        };
        using (NtfsVolume v = OpenWritable(image))
        {
            v.CreateDirectory(@"\Windows\System32\drivers");
            v.CreateDirectory(@"\Windows\INF");
            foreach ((string path, byte[] data) in files)
            {
                v.WriteFile(path, data);
            }
            v.Flush();
        }
        AssertOraclesHappy(image);
        foreach ((string path, byte[] data) in files)
        {
            (int exit, string sha, long length) = BinaryOracle.Sha256Of("ntfscat", image, path);
            Assert.Equal(0, exit);
            Assert.Equal(data.Length, length);
            Assert.Equal(Sha(data), sha);
        }
        List<FlsEntry> fls = SleuthKit.Fls(image, 0);
        foreach ((string path, byte[] data) in files)
        {
            FlsEntry e = Assert.Single(fls, f => f.Path == path.TrimStart('/') && f.Stream is null);
            Assert.Equal(data.Length, e.Size);
            (int exit, string sha, _) = BinaryOracle.Sha256Of("icat", image, e.Inode);
            Assert.Equal(0, exit);
            Assert.Equal(Sha(data), sha);
        }
        string ls = Oracle.RunChecked("ntfsls", "-a", "-p", "/Windows/System32/drivers", image);
        Assert.Contains("netkvm.sys", ls, StringComparison.Ordinal);

        // wimlib captures the volume (reading NTFS through libntfs-3g, security descriptors included) and gives the
        // files back out of the WIM unchanged.
        string wim = _tmp.File("w.wim");
        Oracle.RunChecked("wimlib-imagex", "capture", image, wim, "written");
        string extracted = _tmp.File("x");
        Directory.CreateDirectory(extracted);
        Oracle.RunChecked("wimlib-imagex", "extract", wim, "1", "/Windows/System32/drivers/netkvm.sys", "/Windows/big.bin", "--dest-dir=" + extracted, "--no-acls");
        Assert.Equal(Sha(files["/Windows/System32/drivers/netkvm.sys"]), Sha(File.ReadAllBytes(Path.Combine(extracted, "netkvm.sys"))));
        Assert.Equal(Sha(files["/Windows/big.bin"]), Sha(File.ReadAllBytes(Path.Combine(extracted, "big.bin"))));
    }

    [Fact]
    public void A_file_larger_than_any_gap_is_written_in_fragments_and_a_full_volume_changes_nothing()
    {
        string image = MakeVolume(_tmp, "frag.img", 16L << 20);
        using (NtfsVolume v = OpenWritable(image))
        {
            // Fill most of the volume with 64 KiB files, then free every other one: the free space becomes gaps.
            int n = 0;
            while (v.FreeBytes > (256L << 10))
            {
                v.WriteFile($"/f{n++:D4}.bin", RandomBytes(n, 65_536));
            }
            for (int i = 0; i < n; i += 2)
            {
                v.Delete($"/f{i:D4}.bin");
            }
            v.Flush();
        }
        byte[] big = RandomBytes(99, 1_500_000);
        using (NtfsVolume v = OpenWritable(image))
        {
            v.WriteFile("/big.bin", big);
            v.Flush();
        }
        AssertOraclesHappy(image);
        FlsEntry entry = Assert.Single(SleuthKit.Fls(image, 0), e => e.Path == "big.bin" && e.Stream is null);
        Assert.Equal(Sha(big), BinaryOracle.Sha256Of("icat", image, entry.Inode).Sha256);
        Assert.Equal(Sha(big), BinaryOracle.Sha256Of("ntfscat", image, "/big.bin").Sha256);
        // istat lists the file's clusters: they are not one contiguous extent.
        string istat = Oracle.RunChecked("istat", image, entry.Inode.Split('-')[0]);
        long[] clusters = istat.Substring(istat.LastIndexOf("$DATA", StringComparison.Ordinal)).Split('\n').Skip(1)
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(w => long.TryParse(w, out long c) ? c : -1).Where(c => c >= 0).ToArray();
        Assert.Equal((big.Length + 4095) / 4096, clusters.Length);
        Assert.Contains(clusters.Zip(clusters.Skip(1)), p => p.Second != p.First + 1);

        // A file larger than the free space: refused, and the flush after it writes nothing at all.
        string before = Sha(File.ReadAllBytes(image));
        using (NtfsVolume v = OpenWritable(image))
        {
            long free = v.FreeBytes;
            Assert.Throws<IOException>(() => v.WriteFile("/huge.bin", new byte[free + (1 << 20)]));
            Assert.Null(v.TryGetEntry("/huge.bin"));
            Assert.False(v.HasPendingChanges);
            v.Flush();
        }
        Assert.Equal(before, Sha(File.ReadAllBytes(image)));
    }

    [Theory]
    [InlineData(4096, 512)]
    [InlineData(512, 512)]
    [InlineData(65536, 512)]
    [InlineData(4096, 4096)]
    public void Volumes_formatted_here_take_writes_that_the_oracles_accept(int clusterSize, int sectorSize)
    {
        string image = _tmp.File($"fmt{clusterSize}-{sectorSize}.img");
        using (var f = new FileStream(image, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            f.SetLength(64L << 20);
            NtfsFormatter.Format(f, new NtfsFormatOptions { Label = "fmt", ClusterSize = clusterSize, BytesPerSector = sectorSize });
        }
        byte[] driver = RandomBytes(5, 200_000);
        using (NtfsVolume v = OpenWritable(image))
        {
            v.CreateDirectory(@"\Windows\System32\drivers");
            v.WriteFile(@"\Windows\System32\drivers\vioscsi.sys", driver);
            for (int i = 0; i < 300; i++)
            {
                v.WriteFile($@"\Windows\oem{i}.inf", RandomBytes(i, i * 10));
            }
            v.Flush();
        }
        AssertOraclesHappy(image);
        Assert.Equal(Sha(driver), BinaryOracle.Sha256Of("ntfscat", image, "/Windows/System32/drivers/vioscsi.sys").Sha256);
        // ntfsls prints ".", System32 and the 300 files.
        Assert.Equal(302, Oracle.RunChecked("ntfsls", "-a", "-p", "/Windows", image).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void A_directory_of_thousands_of_entries_splits_and_merges_and_stays_sound()
    {
        string image = MakeVolume(_tmp, "many.img", 128L << 20);
        var names = Enumerable.Range(0, 3000).Select(i => $"{(i * 7919) % 3000:D4}-{new string('x', i % 60)}.inf").ToList();
        using (NtfsVolume v = OpenWritable(image))
        {
            v.CreateDirectory("/INF");
            foreach (string n in names)
            {
                v.WriteFile("/INF/" + n, new byte[] { 1 });
            }
            v.Flush();
        }
        AssertOraclesHappy(image);
        Assert.Equal(names.Order(StringComparer.OrdinalIgnoreCase), SleuthKit.Fls(image, 0).Where(e => e.Path.StartsWith("INF/", StringComparison.Ordinal))
            .Select(e => e.Path.Substring(4)).Order(StringComparer.OrdinalIgnoreCase));
        var kept = names.Where((_, i) => i % 6 == 0).ToList();
        using (NtfsVolume v = OpenWritable(image))
        {
            foreach (string n in names.Except(kept))
            {
                v.Delete("/INF/" + n);
            }
            v.Flush();
        }
        AssertOraclesHappy(image);
        string[] listed = Oracle.RunChecked("ntfsls", "-a", "-p", "/INF", image).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l != ".").ToArray();
        Assert.Equal(kept.Order(StringComparer.OrdinalIgnoreCase), listed.Order(StringComparer.OrdinalIgnoreCase));
        Assert.Equal(kept.Order(StringComparer.OrdinalIgnoreCase), SleuthKit.Fls(image, 0).Where(e => e.Path.StartsWith("INF/", StringComparison.Ordinal))
            .Select(e => e.Path.Substring(4)).Order(StringComparer.OrdinalIgnoreCase));
    }

    internal static byte[] RandomBytes(int seed, int length)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}

/// <summary>8.3 names: where a directory keeps short names (as Windows system volumes do), new files get them too.</summary>
public sealed class NtfsShortNameTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Files_created_where_short_names_are_kept_get_Windows_style_short_names()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "dos.img");
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "drivers"));
            File.WriteAllText(Path.Combine(mount, "drivers", "LongFileName.sys"), "seed");
            Ntfs3gMount.SetXattr(Path.Combine(mount, "drivers", "LongFileName.sys"), "system.ntfs_dos_name", System.Text.Encoding.ASCII.GetBytes("LONGFI~1.SYS"));
        });

        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.WriteFile("/drivers/LongFileNameTwo.sys", new byte[] { 1 });
            v.WriteFile("/drivers/AnotherLongName.sys", new byte[] { 2 });
            v.WriteFile("/drivers/readme.txt", new byte[] { 3 });
            v.WriteFile("/drivers/OEM1.INF", new byte[] { 4 });
            v.Flush();
            Assert.Equal("LONGFI~2.SYS", v.GetEntry("/drivers/LongFileNameTwo.sys").ShortName);
        }
        NtfsWriteTests.AssertOraclesHappy(image);

        // ntfs-3g lists the short names (-x) and opens files by them.
        string dos = Oracle.RunChecked("ntfsls", "-x", "-p", "/drivers", image);
        foreach (string shortName in new[] { "LONGFI~1.SYS", "LONGFI~2.SYS", "ANOTHE~1.SYS", "README.TXT", "OEM1.INF" })
        {
            Assert.Contains(shortName, dos, StringComparison.Ordinal);
        }
        Assert.Equal(Convert.ToHexString(SHA256.HashData(new byte[] { 2 })), BinaryOracle.Sha256Of("ntfscat", image, "/drivers/ANOTHE~1.SYS").Sha256);
        string longNames = Oracle.RunChecked("ntfsls", "-p", "/drivers", image);
        Assert.Contains("AnotherLongName.sys", longNames, StringComparison.Ordinal);
        Assert.Contains("readme.txt", longNames, StringComparison.Ordinal);

        // And the files with both names can be deleted again, by us and the index stays sound.
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.Delete("/drivers/AnotherLongName.sys");
            v.Flush();
        }
        NtfsWriteTests.AssertOraclesHappy(image);
        Assert.DoesNotContain("ANOTHE~1.SYS", Oracle.RunChecked("ntfsls", "-x", "-p", "/drivers", image), StringComparison.Ordinal);
    }
}
