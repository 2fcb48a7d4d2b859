using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Sparse and LZNT1-compressed files made by ntfs-3g (FUSE), then written into, extended, truncated and rewritten in
/// the middle through our writer. The expected bytes of every file are kept by the test itself (plain arrays changed
/// the way each edit says), and after every step ntfsfix -n, ntfsresize --info, sleuthkit (fls -r, icat) and ntfs-3g
/// (ntfscat, ntfsinfo) must agree with them, as must our own reader and Verify — untouched files included.
/// </summary>
public sealed partial class NtfsSparseCompressedWriteTests : IDisposable
{
    private const int MiB = 1 << 20;

    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Sparse_files_take_writes_into_holes_extension_and_truncation()
    {
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        string image = NtfsWriteTests.MakeVolume(_tmp, "sparse.img", 64L << 20);
        byte[] island = NtfsWriteTests.RandomBytes(1, 20_000);
        files["/s/sparse.bin"] = Place(new byte[4 * MiB], MiB + 123, island);
        files["/s/empty.bin"] = new byte[10 * MiB];
        files["/s/other.bin"] = NtfsWriteTests.RandomBytes(2, 300_000);
        files["/plain.txt"] = Encoding.ASCII.GetBytes("untouched\n");
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "s"));
            using (var f = new FileStream(Path.Combine(mount, "s", "sparse.bin"), FileMode.CreateNew))
            {
                f.SetLength(4 * MiB);
                f.Position = MiB + 123;
                f.Write(island);
            }
            using (var f = new FileStream(Path.Combine(mount, "s", "empty.bin"), FileMode.CreateNew))
            {
                f.SetLength(10 * MiB);
            }
            File.WriteAllBytes(Path.Combine(mount, "s", "other.bin"), files["/s/other.bin"]);
            File.WriteAllBytes(Path.Combine(mount, "plain.txt"), files["/plain.txt"]);
        });
        Assert.True(Sizes(image, "/s/sparse.bin").Flags == 0x8000, "ntfs-3g made a sparse file");
        Assert.Equal(0, Sizes(image, "/s/empty.bin").Compressed);
        Check(image, files);

        // Into holes: clusters for just the clusters written.
        byte[] a = NtfsWriteTests.RandomBytes(3, 10_000);
        byte[] b = NtfsWriteTests.RandomBytes(4, 5000);
        long storedBefore = Sizes(image, "/s/sparse.bin").Compressed;
        Edit(image, v =>
        {
            Write(v, "/s/sparse.bin", (2 * MiB) + 5, a);
            Write(v, "/s/empty.bin", 7 * MiB, b);
        });
        Place(files["/s/sparse.bin"], (2 * MiB) + 5, a);
        Place(files["/s/empty.bin"], 7 * MiB, b);
        Check(image, files);
        Assert.Equal(storedBefore + (3 * 4096), Sizes(image, "/s/sparse.bin").Compressed); // bytes 2 MiB + 5 .. 2 MiB + 10004: clusters 512..514
        Assert.Equal(2 * 4096, Sizes(image, "/s/empty.bin").Compressed);

        // Extended: the new length is a hole; then a write far past the initialized size.
        long free = FreeBytes(image);
        Edit(image, v => SetLength(v, "/s/sparse.bin", 8 * MiB));
        files["/s/sparse.bin"] = Resized(files["/s/sparse.bin"], 8 * MiB);
        Check(image, files);
        Assert.Equal(free, FreeBytes(image));
        Assert.Equal(8L * MiB, Sizes(image, "/s/sparse.bin").Allocated);
        byte[] c = NtfsWriteTests.RandomBytes(5, 3000);
        Edit(image, v => Write(v, "/s/sparse.bin", (7 * MiB) + 100, c));
        Place(files["/s/sparse.bin"], (7 * MiB) + 100, c);
        Check(image, files);

        // Truncated inside the first island: the clusters past it are freed; rewritten in the middle.
        Edit(image, v => SetLength(v, "/s/sparse.bin", MiB + 5000));
        files["/s/sparse.bin"] = Resized(files["/s/sparse.bin"], MiB + 5000);
        Check(image, files);
        Assert.Equal(2 * 4096, Sizes(image, "/s/sparse.bin").Compressed); // clusters 256 and 257 are left
        byte[] d = NtfsWriteTests.RandomBytes(6, 3000);
        Edit(image, v => Write(v, "/s/sparse.bin", MiB + 1000, d));
        Place(files["/s/sparse.bin"], MiB + 1000, d);
        Check(image, files);
        Assert.Equal(0x8000, Sizes(image, "/s/sparse.bin").Flags);
    }

    [Fact]
    public void Compressed_files_take_rewrites_writes_into_holes_extension_and_truncation()
    {
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        string image = NtfsWriteTests.MakeVolume(_tmp, "compressed.img", 64L << 20);
        files["/c/text.txt"] = Text(0, 300_000);
        files["/c/random.bin"] = NtfsWriteTests.RandomBytes(10, 200_000);
        files["/c/mixed.bin"] = Place(Place(new byte[MiB], 0, Text(1, 100_000)), 700_000, Text(2, 50_000));
        files["/c/untouched.txt"] = Text(3, 150_000);
        files["/plain.bin"] = NtfsWriteTests.RandomBytes(11, 70_000);
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "c"));
            Ntfs3gMount.SetXattr(Path.Combine(mount, "c"), "system.ntfs_attrib_be", new byte[] { 0, 0, 0x08, 0 }); // FILE_ATTRIBUTE_COMPRESSED
            foreach (string name in new[] { "/c/text.txt", "/c/random.bin", "/c/untouched.txt", "/plain.bin" })
            {
                File.WriteAllBytes(mount + name, files[name]);
            }
            using var f = new FileStream(mount + "/c/mixed.bin", FileMode.CreateNew);
            f.Write(files["/c/mixed.bin"].AsSpan(0, 100_000));
            f.Position = 700_000;
            f.Write(files["/c/mixed.bin"].AsSpan(700_000, 50_000));
            f.SetLength(MiB);
        }, "compression");
        Assert.Equal(0x0001, Sizes(image, "/c/text.txt").Flags);
        Check(image, files);

        // Rewritten in the middle, across a unit boundary (64 KiB): both units stored compressed again.
        byte[] a = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 300).Select(i => $"changed {i}\n")));
        Edit(image, v => Write(v, "/c/text.txt", 65_000, a));
        Place(files["/c/text.txt"], 65_000, a);
        Check(image, files);
        (long allocated, long compressed, _) = Sizes(image, "/c/text.txt");
        Assert.True(compressed < allocated / 2, $"text compresses: {compressed} of {allocated}");
        Assert.Equal(compressed, FileNameAllocatedSize(image, "/c/text.txt")); // the name carries the stored clusters, as ntfs-3g writes it

        // Random bytes over a whole unit: it no longer saves a cluster, so it is stored whole.
        byte[] noise = NtfsWriteTests.RandomBytes(12, 65_536);
        Edit(image, v => Write(v, "/c/text.txt", 131_072, noise));
        Place(files["/c/text.txt"], 131_072, noise);
        Check(image, files);
        // The unit's compressed clusters (at least one, at most 15) gave way to 16 stored ones.
        long grown = Sizes(image, "/c/text.txt").Compressed - compressed;
        Assert.InRange(grown, 4096, 65_536 - 4096);

        // Into the hole of a file ntfs-3g made partly sparse.
        byte[] b = Text(4, 30_000);
        Edit(image, v => Write(v, "/c/mixed.bin", 400_000, b));
        Place(files["/c/mixed.bin"], 400_000, b);
        Check(image, files);

        // Extended (a hole), then written far past the old end.
        byte[] c = Text(5, 1000);
        Edit(image, v =>
        {
            SetLength(v, "/c/text.txt", MiB);
            Write(v, "/c/text.txt", 900_000, c);
        });
        files["/c/text.txt"] = Place(Resized(files["/c/text.txt"], MiB), 900_000, c);
        Check(image, files);
        Assert.Equal(16L * 65_536, Sizes(image, "/c/text.txt").Allocated);

        // Truncated mid-unit, then extended again: what was past the cut reads as zeros.
        Edit(image, v =>
        {
            SetLength(v, "/c/text.txt", 100_000);
            SetLength(v, "/c/random.bin", 70_000);
        });
        files["/c/text.txt"] = Resized(files["/c/text.txt"], 100_000);
        files["/c/random.bin"] = Resized(files["/c/random.bin"], 70_000);
        Check(image, files);
        Edit(image, v => SetLength(v, "/c/text.txt", 150_000));
        files["/c/text.txt"] = Resized(files["/c/text.txt"], 150_000);
        Check(image, files);
        Assert.Equal(3L * 65_536, Sizes(image, "/c/text.txt").Allocated);
        Assert.Equal(0x0001, Sizes(image, "/c/random.bin").Flags);
    }

    [Fact]
    public void Files_and_folders_made_in_a_compressed_folder_are_stored_compressed()
    {
        // As Windows and ntfs-3g make them: the compressed attribute in $STANDARD_INFORMATION and the names, a file's
        // $DATA flagged compressed (resident too) and stored LZNT1-compressed once it leaves the record, a folder's
        // $INDEX_ROOT flagged so its own new files are compressed as well.
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        string image = NtfsWriteTests.MakeVolume(_tmp, "compressed-folder.img", 64L << 20);
        files["/c/old.txt"] = Text(20, 120_000);
        files["/plain.bin"] = NtfsWriteTests.RandomBytes(21, 50_000);
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "c"));
            Ntfs3gMount.SetXattr(Path.Combine(mount, "c"), "system.ntfs_attrib_be", new byte[] { 0, 0, 0x08, 0 }); // FILE_ATTRIBUTE_COMPRESSED
            File.WriteAllBytes(mount + "/c/old.txt", files["/c/old.txt"]);
            File.WriteAllBytes(mount + "/plain.bin", files["/plain.bin"]);
        }, "compression");

        files["/c/new.txt"] = Text(22, 300_000);
        files["/c/small.txt"] = Encoding.ASCII.GetBytes("stays in its record\n");
        files["/c/random.bin"] = NtfsWriteTests.RandomBytes(23, 131_072); // two whole units of noise
        files["/c/empty.txt"] = Array.Empty<byte>();
        files["/c/sub/deep.txt"] = Text(24, 200_000);
        files["/c/grown.txt"] = Text(25, 150_000);
        files["/uncompressed.txt"] = Text(26, 100_000);
        Edit(image, v =>
        {
            foreach (string name in new[] { "/c/new.txt", "/c/small.txt", "/c/random.bin", "/c/empty.txt", "/uncompressed.txt" })
            {
                v.WriteFile(name, files[name]);
            }
            v.CreateDirectory("/c/sub");
            v.WriteFile("/c/sub/deep.txt", files["/c/sub/deep.txt"]);

            // Resident first, then grown past the record by appending: the move to clusters compresses too.
            v.WriteFile("/c/grown.txt", files["/c/grown.txt"].AsSpan(0, 100).ToArray());
            using Stream s = v.OpenWrite("/c/grown.txt", FileMode.Append);
            s.Write(files["/c/grown.txt"].AsSpan(100));
        });
        Check(image, files);

        foreach (string name in new[] { "/c/new.txt", "/c/sub/deep.txt", "/c/grown.txt" })
        {
            (long allocated, long compressed, int flags) = Sizes(image, name);
            Assert.Equal(0x0001, flags);
            Assert.True(compressed > 0 && compressed < allocated / 2, $"{name} is stored compressed: {compressed} of {allocated}");
            Assert.Equal(compressed, FileNameAllocatedSize(image, name));
            Assert.Equal(0, allocated % 65_536); // whole 16-cluster compression units
        }
        (long randomAllocated, long randomStored, int randomFlags) = Sizes(image, "/c/random.bin");
        Assert.Equal(0x0001, randomFlags);
        Assert.Equal(randomAllocated, randomStored); // incompressible: every unit stored whole, still a compressed stream
        Assert.Equal(0x0001, Sizes(image, "/c/small.txt").Flags);
        Assert.Equal(0x0001, Sizes(image, "/c/empty.txt").Flags);
        Assert.Equal(0, Sizes(image, "/uncompressed.txt").Flags);

        // sleuthkit and ntfs-3g see compressed files and folders; both folders' $INDEX_ROOT keep (or got) the flag.
        foreach (string name in new[] { "/c/new.txt", "/c/small.txt", "/c/sub", "/c/sub/deep.txt" })
        {
            string inode = SleuthKit.Fls(image, 0).Single(e => "/" + e.Path == name && e.Stream is null).Inode.Split('-')[0];
            string istat = Oracle.RunChecked("istat", image, inode);
            Assert.Matches(@"^Flags: [^\n]*Compressed", istat.Substring(istat.IndexOf("$STANDARD_INFORMATION", StringComparison.Ordinal)).Split('\n')[1]);
        }
        Assert.Contains("Non-Resident, Compressed", Oracle.RunChecked("istat", image, SleuthKit.Fls(image, 0).Single(e => e.Path == "c/new.txt" && e.Stream is null).Inode.Split('-')[0]), StringComparison.Ordinal);
        foreach (string folder in new[] { "/c", "/c/sub" })
        {
            string info = Oracle.RunChecked("ntfsinfo", "-F", folder, image);
            string root = info.Substring(info.IndexOf("Dumping attribute $INDEX_ROOT", StringComparison.Ordinal));
            Assert.Equal("0001", Regex.Match(root, @"Attribute flags:\s+0x([0-9a-fA-F]+)").Groups[1].Value);
            Assert.Contains("COMPRESSED", info.Substring(0, info.IndexOf("Dumping attribute $FILE_NAME", StringComparison.Ordinal)), StringComparison.Ordinal);
        }

        // Edited later through the unit editor like any compressed file: rewritten in the middle and truncated.
        byte[] a = Text(27, 5000);
        Edit(image, v =>
        {
            Write(v, "/c/new.txt", 70_000, a);
            SetLength(v, "/c/sub/deep.txt", 90_000);
        });
        Place(files["/c/new.txt"], 70_000, a);
        files["/c/sub/deep.txt"] = Resized(files["/c/sub/deep.txt"], 90_000);
        Check(image, files);
    }

    [Fact]
    public void A_compressed_stream_with_clusters_over_4_KiB_is_refused_and_nothing_is_written()
    {
        // NTFS compresses only with clusters up to 4 KiB: a stream marked compressed on an 8 KiB-cluster volume (the flag
        // and a compression unit patched in here) is one we do not rewrite.
        string image = NtfsWriteTests.MakeVolume(_tmp, "8k.img", 64L << 20, clusterSize: 8192);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.WriteFile("/big.bin", NtfsWriteTests.RandomBytes(20, 16 * 8192));
            v.Flush();
        }
        string inode = SleuthKit.Fls(image, 0).Single(e => e.Path == "big.bin" && e.Stream is null).Inode.Split('-')[0];
        MarkDataCompressed(image, long.Parse(inode, CultureInfo.InvariantCulture));
        Assert.Equal(0x0001, Sizes(image, "/big.bin").Flags);
        string before = NtfsPatch.Sha256(image);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            var write = Assert.Throws<UnsupportedFormatException>(() => Write(v, "/big.bin", 100, new byte[] { 1, 2, 3 }));
            Assert.Contains("8192-byte clusters", write.Message, StringComparison.Ordinal);
            Assert.Throws<UnsupportedFormatException>(() => SetLength(v, "/big.bin", 1000));
            Assert.False(v.HasPendingChanges);
            v.Flush();
        }
        Assert.Equal(before, NtfsPatch.Sha256(image));
    }

    // Sets the compressed flag and a compression unit of 16 clusters on the $DATA attribute of MFT record `record`, found
    // from the boot sector and the record's attribute chain (not through our reader).
    private static void MarkDataCompressed(string image, long record)
    {
        byte[] boot;
        using (FileStream f = File.OpenRead(image))
        {
            boot = NtfsPatch.Read(f, 0, 512);
        }
        long cluster = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(11)) * (long)boot[13];
        sbyte c = unchecked((sbyte)boot[0x40]);
        int recordSize = c > 0 ? (int)(c * cluster) : 1 << -c;
        long mft = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(boot.AsSpan(0x30)) * cluster;
        long at = mft + (record * recordSize); // the first records of $MFT are in its first extent
        byte[] r;
        using (FileStream f = File.OpenRead(image))
        {
            r = NtfsPatch.Read(f, at, recordSize);
        }
        int p = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(r.AsSpan(0x14));
        while (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(p)) != 0x80)
        {
            p += (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(p + 4));
        }
        Assert.True(r[p + 8] == 1 && (p + 0x0D) % 512 < 510 && (p + 0x23) % 512 < 510, "a non-resident $DATA, its fields clear of the update sequence");
        NtfsPatch.Write(image, at + p + 0x0C, new byte[] { 0x01, 0x00 });
        NtfsPatch.Write(image, at + p + 0x22, new byte[] { 0x04, 0x00 });
    }

    // Every oracle reads every file as expected (AssertAgree: ntfsfix, ntfsresize, fsstat, fls, icat, ntfscat, our reader and
    // Verify), and ntfsls lists each directory's names with the expected sizes.
    internal static void Check(string image, Dictionary<string, byte[]> files)
    {
        NtfsAttributeListWriteTests.AssertAgree(image, files, toolSampling: 1);
        foreach (IGrouping<string, KeyValuePair<string, byte[]>> dir in files.GroupBy(f => f.Key.Substring(0, Math.Max(1, f.Key.LastIndexOf('/')))))
        {
            Dictionary<string, long> listed = NtfslsSizes(image, dir.Key);
            foreach ((string path, byte[] data) in dir)
            {
                Assert.Equal(data.Length, listed[path.Substring(path.LastIndexOf('/') + 1)]);
            }
        }
    }

    // The names `ntfsls -l` lists in a directory (its subdirectories too, with size 0), each with the size it prints.
    internal static Dictionary<string, long> NtfslsSizes(string image, string directory)
    {
        var listed = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in Oracle.RunChecked("ntfsls", "-l", "-p", directory, image).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Match m = NtfslsLine().Match(line);
            Assert.True(m.Success, "ntfsls line: " + line);
            listed[m.Groups["name"].Value] = long.Parse(m.Groups["size"].Value, CultureInfo.InvariantCulture);
        }
        return listed;
    }

    [GeneratedRegex(@"^\s*(?<size>\d+) \w{3} +\d+ \d\d:\d\d \d{4} (?<name>.+)$")]
    private static partial Regex NtfslsLine();

    internal static byte[] Text(int seed, int length)
    {
        var s = new StringBuilder();
        for (int i = 0; s.Length < length; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"file {seed} line {i} of some compressible text\n");
        }
        return Encoding.ASCII.GetBytes(s.ToString(0, length));
    }

    internal static byte[] Place(byte[] target, long at, byte[] bytes)
    {
        bytes.CopyTo(target, at);
        return target;
    }

    internal static byte[] Resized(byte[] data, long length)
    {
        byte[] result = new byte[length];
        Array.Copy(data, result, Math.Min(data.Length, length));
        return result;
    }

    private static void Edit(string image, Action<NtfsVolume> edit)
    {
        using NtfsVolume v = NtfsWriteTests.OpenWritable(image);
        edit(v);
        v.Flush();
    }

    internal static void Write(NtfsVolume v, string path, long at, byte[] bytes)
    {
        using Stream s = v.OpenWrite(path, FileMode.Open);
        s.Position = at;
        s.Write(bytes);
    }

    internal static void SetLength(NtfsVolume v, string path, long length)
    {
        using Stream s = v.OpenWrite(path, FileMode.Open);
        s.SetLength(length);
    }

    // The allocated size istat prints from the file's $FILE_NAME.
    private static long FileNameAllocatedSize(string image, string path)
    {
        string inode = SleuthKit.Fls(image, 0).Single(e => "/" + e.Path == path && e.Stream is null).Inode.Split('-')[0];
        string output = Oracle.RunChecked("istat", image, inode);
        string names = output.Substring(output.IndexOf("$FILE_NAME Attribute Values:", StringComparison.Ordinal));
        return long.Parse(Regex.Match(names, @"Allocated Size: (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static long FreeBytes(string image)
    {
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        return v.FreeBytes;
    }

    /// <summary>The unnamed $DATA attribute's sizes and flags as ntfsinfo prints them.</summary>
    internal static (long Allocated, long Compressed, int Flags) Sizes(string image, string path)
    {
        string info = Oracle.RunChecked("ntfsinfo", "-F", path, image);
        string data = info.Substring(info.IndexOf("Dumping attribute $DATA", StringComparison.Ordinal));
        long Field(string name)
        {
            Match m = Regex.Match(data, name + @":\s+(\d+)");
            return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        }
        Match flags = Regex.Match(data, @"Attribute flags:\s+0x([0-9a-fA-F]+)");
        return (Field("Allocated size"), Field("Compressed size"), int.Parse(flags.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }
}
