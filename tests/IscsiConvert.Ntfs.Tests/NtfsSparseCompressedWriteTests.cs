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
/// Sparse files made by ntfs-3g (FUSE), then written into, extended, truncated and rewritten in
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

    // Every oracle reads every file as expected (AssertAgree: ntfsfix, ntfsresize, fsstat, fls, icat, ntfscat, our reader and
    // Verify), and ntfsls lists each directory's names with the expected sizes.
    private static void Check(string image, Dictionary<string, byte[]> files)
    {
        NtfsAttributeListWriteTests.AssertAgree(image, files, toolSampling: 1);
        foreach (IGrouping<string, KeyValuePair<string, byte[]>> dir in files.GroupBy(f => f.Key.Substring(0, Math.Max(1, f.Key.LastIndexOf('/')))))
        {
            var listed = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
            foreach (string line in Oracle.RunChecked("ntfsls", "-l", "-p", dir.Key, image).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Match m = NtfslsLine().Match(line);
                Assert.True(m.Success, "ntfsls line: " + line);
                listed[m.Groups["name"].Value] = long.Parse(m.Groups["size"].Value, CultureInfo.InvariantCulture);
            }
            foreach ((string path, byte[] data) in dir)
            {
                Assert.Equal(data.Length, listed[path.Substring(path.LastIndexOf('/') + 1)]);
            }
        }
    }

    [GeneratedRegex(@"^\s*(?<size>\d+) \w{3} +\d+ \d\d:\d\d \d{4} (?<name>.+)$")]
    private static partial Regex NtfslsLine();

    private static byte[] Place(byte[] target, long at, byte[] bytes)
    {
        bytes.CopyTo(target, at);
        return target;
    }

    private static byte[] Resized(byte[] data, long length)
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

    private static void Write(NtfsVolume v, string path, long at, byte[] bytes)
    {
        using Stream s = v.OpenWrite(path, FileMode.Open);
        s.Position = at;
        s.Write(bytes);
    }

    private static void SetLength(NtfsVolume v, string path, long length)
    {
        using Stream s = v.OpenWrite(path, FileMode.Open);
        s.SetLength(length);
    }

    private static long FreeBytes(string image)
    {
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        return v.FreeBytes;
    }

    /// <summary>The unnamed $DATA attribute's sizes and flags as ntfsinfo prints them.</summary>
    private static (long Allocated, long Compressed, int Flags) Sizes(string image, string path)
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
