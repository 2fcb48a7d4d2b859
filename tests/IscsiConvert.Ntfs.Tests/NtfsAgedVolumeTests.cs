using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// A volume aged by the real driver: ntfs-3g (FUSE) grows Windows-like system directories — a FileRepository of package
/// folders, a WinSxS, INF, System32\drivers — while files around them are written and later deleted, so the
/// directories' index allocations end up in hundreds of runs behind $ATTRIBUTE_LISTs that ntfs-3g made. Then our writer
/// makes the writes the injection engine makes there (hard-link removal, a write into a sparse file, and an overwrite,
/// extension and truncation of an LZNT1-compressed file included), and every oracle must agree with what we meant, with
/// every file we did not touch byte-identical; istat and ntfsls also check each file and directory the scenario touched.
/// </summary>
public sealed class NtfsAgedVolumeTests : IDisposable
{
    private const string Repository = "/Windows/System32/DriverStore/FileRepository";
    private const string WinSxS = "/Windows/WinSxS";
    private const string SharedDriver = "/Windows/System32/drivers/shared.sys";
    private const string SharedLink = WinSxS + "/amd64_shared.inf_31bf3856ad364e35_10.0.0.1_none_0123456789abcdef.sys";
    private const string SparseFile = "/Windows/System32/sparse.dat";
    private const string CompressedFolder = "/Windows/Logs";
    private const string CompressedFile = CompressedFolder + "/CBS.log";

    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void The_engine_writes_into_directories_that_ntfs_3g_spread_over_extension_records()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "aged.img", 256L << 20);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        Ntfs3gMount.With(image, mount => Age(mount, files), "compression");
        NtfsAttributeListWriteTests.AssertHasAttributeList(image, Repository);
        NtfsAttributeListWriteTests.AssertHasAttributeList(image, WinSxS);
        Assert.Equal(0x0001, NtfsSparseCompressedWriteTests.Sizes(image, CompressedFile).Flags);
        AssertAgreeOnTouched(image, files, new[] { SharedDriver, SharedLink, SparseFile, CompressedFile });

        var before = new HashSet<string>(files.Keys, StringComparer.OrdinalIgnoreCase);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            // A new driver package: its folder in FileRepository, its files, the INF and the driver where Windows puts them.
            string package = Repository + "/netkvm.inf_amd64_0123456789abcdef";
            v.CreateDirectory(package);
            foreach ((string name, int size) in new[] { ("netkvm.inf", 7_000), ("netkvm.cat", 12_000), ("netkvm.sys", 300_000) })
            {
                Put(v, files, package + "/" + name, size);
            }
            Put(v, files, "/Windows/INF/oem42.inf", 7_000);
            Put(v, files, "/Windows/INF/oem42.PNF", 20_000);
            Put(v, files, "/Windows/System32/drivers/netkvm.sys", 300_000);
            Put(v, files, WinSxS + "/amd64_netkvm.inf_31bf3856ad364e35_10.0.0.1_none_0123456789abcdef/netkvm.sys", 300_000, createParent: true);

            // One link of the shared driver removed (the other keeps the data), and a write into the sparse file's hole.
            v.Delete(SharedLink);
            files.Remove(SharedLink);
            byte[] island = NtfsWriteTests.RandomBytes(6, 10_000);
            using (Stream s = v.OpenWrite(SparseFile, FileMode.Open))
            {
                s.Position = 6 << 20;
                s.Write(island);
            }
            island.CopyTo(files[SparseFile], 6 << 20);

            // The compressed log: rewritten across a compression unit's edge, extended by a write far past its end,
            // then truncated in the middle of a unit.
            byte[] rewrite = NtfsSparseCompressedWriteTests.Text(7, 5_000);
            NtfsSparseCompressedWriteTests.Write(v, CompressedFile, 63_000, rewrite);
            rewrite.CopyTo(files[CompressedFile], 63_000);
            byte[] tail = NtfsSparseCompressedWriteTests.Text(8, 40_000);
            NtfsSparseCompressedWriteTests.Write(v, CompressedFile, 900_000, tail);
            files[CompressedFile] = NtfsSparseCompressedWriteTests.Place(NtfsSparseCompressedWriteTests.Resized(files[CompressedFile], 940_000), 900_000, tail);
            NtfsSparseCompressedWriteTests.SetLength(v, CompressedFile, 920_000);
            files[CompressedFile] = NtfsSparseCompressedWriteTests.Resized(files[CompressedFile], 920_000);

            // A 30 MiB file into the fragmented free space, and deletes in the aged directories.
            Put(v, files, "/Windows/big.bin", 30 << 20);
            foreach (string path in files.Keys.Where(p => p.StartsWith(WinSxS + "/", StringComparison.Ordinal)).Where((_, i) => i % 7 == 0).Take(200).ToList())
            {
                v.Delete(path);
                files.Remove(path);
            }
            v.Flush();
        }
        AssertAgreeOnTouched(image, files,
            touched: files.Keys.Where(p => !before.Contains(p)).Concat(new[] { SharedDriver, SparseFile, CompressedFile }).ToList(),
            gone: before.Where(p => !files.ContainsKey(p)).ToList());
        (long allocated, long compressed, int flags) = NtfsSparseCompressedWriteTests.Sizes(image, CompressedFile);
        Assert.Equal(0x0001, flags);
        Assert.Equal(15L * 65_536, allocated); // 920,000 bytes: 15 compression units of 64 KiB, the cut one kept whole
        Assert.True(compressed < allocated / 2, $"the log is stored compressed: {compressed} of {allocated}");

        // And the real driver takes it back: ntfs-3g lists the new package and deletes it again.
        Ntfs3gMount.With(image, mount =>
        {
            Assert.True(File.Exists(mount + Repository + "/netkvm.inf_amd64_0123456789abcdef/netkvm.sys"));
            Directory.Delete(mount + Repository + "/netkvm.inf_amd64_0123456789abcdef", recursive: true);
        });
        foreach (string path in files.Keys.Where(p => p.StartsWith(Repository + "/netkvm.inf_amd64_0123456789abcdef/", StringComparison.Ordinal)).ToList())
        {
            files.Remove(path);
        }
        AssertAgreeOnTouched(image, files, touched: Array.Empty<string>(), gone: new[] { Repository + "/netkvm.inf_amd64_0123456789abcdef" });
    }

    [Fact]
    public void A_directory_of_a_hundred_thousand_names_takes_a_thousand_more_and_gives_some_back()
    {
        const string Big = "/Windows/WinSxS/Manifests";
        string image = NtfsWriteTests.MakeVolume(_tmp, "names.img", 512L << 20);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(mount + Big);
            for (int i = 0; i < 100_000; i++)
            {
                string path = $"{Big}/amd64_microsoft-windows-c{i:D6}_31bf3856ad364e35_10.0.19041.1_none_{i * 2654435761L:x16}.manifest";
                File.Create(mount + path).Dispose();
                files[path] = Array.Empty<byte>();
            }
        });
        NtfsAttributeListWriteTests.AssertHasAttributeList(image, Big);

        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            for (int i = 0; i < 1000; i++)
            {
                Put(v, files, $"{Big}/amd64_netkvm.inf_31bf3856ad364e35_10.0.0.{i}_none_{i * 40503L:x16}.manifest", 100 + i);
            }
            v.CreateDirectory(Big + "/new-package");
            Put(v, files, Big + "/new-package/netkvm.sys", 300_000);
            foreach (string path in files.Keys.Where((_, i) => i % 97 == 0).Take(800).ToList())
            {
                v.Delete(path);
                files.Remove(path);
            }
            v.Flush();
        }
        NtfsAttributeListWriteTests.AssertAgree(image, files, toolSampling: 2500);

        // ntfs-3g's own listing of the directory: every name we left, and the new package folder.
        string listing = Oracle.RunChecked("ntfsls", "-p", Big, image);
        int expected = files.Keys.Count(p => p.LastIndexOf('/') == Big.Length) + 1;
        Assert.Equal(expected, listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Trim() is not ("." or "..")));
    }

    // The check after each scenario: every oracle agrees on every file (AssertAgree: ntfsfix -n, ntfsresize --info,
    // fls, icat, ntfscat, our reader and Verify), and on what the scenario touched istat prints each file's name and
    // size, and ntfsls lists each directory it touched with exactly the names fls sees there (none it removed), every
    // file with its size.
    private static void AssertAgreeOnTouched(string image, Dictionary<string, byte[]> files, IReadOnlyCollection<string> touched, IReadOnlyCollection<string>? gone = null)
    {
        NtfsAttributeListWriteTests.AssertAgree(image, files);
        gone ??= Array.Empty<string>();
        List<FlsEntry> fls = SleuthKit.Fls(image, 0).Where(e => e.Stream is null).ToList();
        foreach (string path in touched)
        {
            FlsEntry entry = fls.Single(e => string.Equals("/" + e.Path, path, StringComparison.OrdinalIgnoreCase));
            (List<string> names, long size) = SleuthKit.IstatNamesAndSize(image, 0, long.Parse(entry.Inode.Split('-')[0], CultureInfo.InvariantCulture));
            Assert.Equal(files[path].Length, size);
            Assert.Contains(Name(path), names, StringComparer.OrdinalIgnoreCase);
            Assert.DoesNotContain(names, n => gone.Any(g => string.Equals(Name(g), n, StringComparison.OrdinalIgnoreCase)));
        }
        foreach (string dir in touched.Concat(gone).Select(Parent).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            Dictionary<string, long> listed = NtfsSparseCompressedWriteTests.NtfslsSizes(image, dir);
            listed.Remove(".");
            listed.Remove("..");
            Assert.Equal(
                fls.Where(e => string.Equals(Parent("/" + e.Path), dir, StringComparison.OrdinalIgnoreCase)).Select(e => Name(e.Path)).Order(StringComparer.OrdinalIgnoreCase),
                listed.Keys.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
            foreach ((string path, byte[] data) in files.Where(f => string.Equals(Parent(f.Key), dir, StringComparison.OrdinalIgnoreCase)))
            {
                Assert.Equal(data.Length, listed[Name(path)]);
            }
            Assert.DoesNotContain(listed.Keys, n => gone.Any(g => string.Equals(Parent(g), dir, StringComparison.OrdinalIgnoreCase) && string.Equals(Name(g), n, StringComparison.OrdinalIgnoreCase)));
        }
    }

    private static string Parent(string path) => path.Substring(0, Math.Max(1, path.LastIndexOf('/')));

    private static string Name(string path) => path.Substring(path.LastIndexOf('/') + 1);

    private static void Put(NtfsVolume v, Dictionary<string, byte[]> files, string path, int size, bool createParent = false)
    {
        if (createParent)
        {
            v.CreateDirectory(path.Substring(0, path.LastIndexOf('/')));
        }
        byte[] data = NtfsWriteTests.RandomBytes(path.GetHashCode(StringComparison.Ordinal) & 0x7FFF, size);
        v.WriteFile(path, data);
        files[path] = data;
    }

    // Grows the system directories a few names at a time while a filler file is written between every step; the
    // fillers are deleted at the end, so the directories' index blocks are scattered one or two clusters apart and the
    // free space is in small pieces.
    private static void Age(string mount, Dictionary<string, byte[]> files)
    {
        foreach (string dir in new[] { Repository, WinSxS, "/Windows/INF", "/Windows/System32/drivers", "/filler" })
        {
            Directory.CreateDirectory(mount + dir);
        }
        var fillers = new List<string>();
        for (int i = 0; i < 1200; i++)
        {
            string package = $"{Repository}/oem{i}.inf_amd64_{i * 2654435761L:x16}";
            Directory.CreateDirectory(mount + package);
            Write(mount, files, package + $"/oem{i}.inf", 600 + (i % 3000));
            for (int k = 0; k < 4; k++)
            {
                Directory.CreateDirectory(mount + $"{WinSxS}/amd64_microsoft-windows-component{i}-{k}_31bf3856ad364e35_10.0.19041.{i}_none_{i * 40503L:x16}");
                Write(mount, files, $"/filler/{i}-{k}", 4096);
                fillers.Add($"/filler/{i}-{k}");
            }
            Write(mount, files, $"{WinSxS}/manifest-{i:D5}.manifest", 1500 + (i % 5000));
            if (i % 2 == 0)
            {
                Write(mount, files, $"/Windows/INF/oem{i}.inf", 2000 + i);
                Write(mount, files, $"/Windows/System32/drivers/drv{i}.sys", 9000 + i);
            }
            string filler = $"/filler/{i}";
            Write(mount, files, filler, 8192);
            fillers.Add(filler);
        }
        foreach (string filler in fillers)
        {
            File.Delete(mount + filler);
            files.Remove(filler);
        }

        // Gone with its directory: ntfs-3g leaves the names of an emptied directory in its freed index blocks, which
        // sleuthkit would list as live.
        Directory.Delete(mount + "/filler");

        // A log in a folder given the compressed attribute: ntfs-3g (mounted with -o compression) stores it LZNT1-compressed.
        Directory.CreateDirectory(mount + CompressedFolder);
        Ntfs3gMount.SetXattr(mount + CompressedFolder, "system.ntfs_attrib_be", new byte[] { 0, 0, 0x08, 0 }); // FILE_ATTRIBUTE_COMPRESSED
        byte[] log = NtfsSparseCompressedWriteTests.Text(6, 400_000);
        File.WriteAllBytes(mount + CompressedFile, log);
        files[CompressedFile] = log;

        // A driver that WinSxS and System32 share by hard links, and a sparse file (a hole on either side of its data).
        Write(mount, files, SharedDriver, 120_000);
        Oracle.RunChecked("ln", mount + SharedDriver, mount + SharedLink);
        files[SharedLink] = files[SharedDriver];
        byte[] sparse = new byte[8 << 20];
        NtfsWriteTests.RandomBytes(5, 20_000).CopyTo(sparse, 3 << 20);
        using (var f = new FileStream(mount + SparseFile, FileMode.CreateNew))
        {
            f.SetLength(sparse.Length);
            f.Position = 3 << 20;
            f.Write(sparse, 3 << 20, 20_000);
        }
        files[SparseFile] = sparse;
    }

    private static void Write(string mount, Dictionary<string, byte[]> files, string path, int size)
    {
        byte[] data = NtfsWriteTests.RandomBytes(files.Count, size);
        File.WriteAllBytes(mount + path, data);
        files[path] = data;
    }
}
