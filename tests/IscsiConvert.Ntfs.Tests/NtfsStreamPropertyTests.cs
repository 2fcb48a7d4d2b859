using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using CsCheck;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// The model-based property test of NtfsWritePropertyTests, for the streams that one cannot make: sparse and
/// LZNT1-compressed files made by ntfs-3g (FUSE), then random writes (anywhere, past the end, compressible text,
/// random bytes or zeros), extensions, truncations and whole rewrites through our writer, against byte arrays the test
/// changes itself. Afterwards every oracle (ntfsfix -n, ntfsresize, fsstat, fls, icat, ntfscat, ntfsls) and our reader
/// and Verify must read exactly the model. (A sibling of NtfsWritePropertyTests rather than more operations there, so
/// that test's regression seeds replay what they always did.)
/// </summary>
public sealed class NtfsStreamPropertyTests : IDisposable
{
    private static readonly string[] Paths = { "/c/text.txt", "/c/random.bin", "/c/holey.bin", "/s/sparse.bin", "/plain.bin" };

    private readonly TempDir _tmp = new();
    private readonly Lazy<(string Image, Dictionary<string, byte[]> Files)> _base;

    public NtfsStreamPropertyTests()
    {
        _base = new Lazy<(string, Dictionary<string, byte[]>)>(BuildBase);
    }

    public void Dispose() => _tmp.Dispose();

    private sealed record Op(int Kind, int File, int Where, int Length, int Seed);

    private static readonly Gen<Op> OpGen = Gen.Select(Gen.Int[0, 4], Gen.Int[0, Paths.Length - 1], Gen.Int[0, 1000], Gen.Int[0, 200_000], Gen.Int)
        .Select((k, f, w, l, s) => new Op(k, f, w, l, s));

    // Seeds that once failed, each a bug fixed: replayed on every run before the random search.
    private static readonly string[] RegressionSeeds = Array.Empty<string>();

    [Fact]
    public void Random_edits_of_sparse_and_compressed_files_agree_with_a_model_and_with_the_oracles()
    {
        PropertyRuns.Check(OpGen.Array[1, 12], ops =>
        {
            (string baseImage, Dictionary<string, byte[]> baseFiles) = _base.Value;
            using var tmp = new TempDir();
            string image = tmp.File("p.img");
            NtfsPatch.SparseCopy(baseImage, image);
            var files = baseFiles.ToDictionary(f => f.Key, f => (byte[])f.Value.Clone(), StringComparer.OrdinalIgnoreCase);
            using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
            {
                foreach (Op op in ops)
                {
                    Apply(v, files, op);
                }
                v.Flush();
            }
            NtfsSparseCompressedWriteTests.Check(image, files);
        }, RegressionSeeds, ciSeconds: 30);
    }

    private static void Apply(NtfsVolume v, Dictionary<string, byte[]> files, Op op)
    {
        string path = Paths[op.File];
        byte[] current = files[path];
        switch (op.Kind)
        {
            case 0 or 1: // write somewhere: inside, across the end, or past it (a gap)
            {
                long at = (long)(current.Length + 300_000) * op.Where / 1000;
                byte[] bytes = Content(op.Seed, op.Length);
                using (Stream s = v.OpenWrite(path, FileMode.Open))
                {
                    s.Position = at;
                    s.Write(bytes);
                }
                byte[] grown = new byte[Math.Max(current.Length, at + bytes.Length)];
                current.CopyTo(grown, 0);
                bytes.CopyTo(grown, at);
                files[path] = grown;
                break;
            }
            case 2: // extend or truncate
            {
                long length = (long)(current.Length + 500_000) * op.Where / 1000;
                using (Stream s = v.OpenWrite(path, FileMode.Open))
                {
                    s.SetLength(length);
                }
                byte[] resized = new byte[length];
                Array.Copy(current, resized, Math.Min(current.Length, length));
                files[path] = resized;
                break;
            }
            case 3: // zeros over a range (compressed units become holes)
            {
                if (current.Length == 0)
                {
                    return;
                }
                long at = (long)current.Length * op.Where / 1000;
                int n = (int)Math.Min(op.Length, current.Length - at);
                using (Stream s = v.OpenWrite(path, FileMode.Open))
                {
                    s.Position = at;
                    s.Write(new byte[n]);
                }
                Array.Clear(current, (int)at, n);
                break;
            }
            case 4: // rewritten whole
            {
                byte[] data = Content(op.Seed, op.Length);
                v.WriteFile(path, data);
                files[path] = data;
                break;
            }
        }
    }

    // Compressible text, random bytes, or zeros with a little text: the three kinds of unit a compressed file stores.
    private static byte[] Content(int seed, int length)
    {
        switch (Math.Abs(seed % 3))
        {
            case 0:
                return NtfsWriteTests.RandomBytes(seed, length);
            case 1:
            {
                var s = new StringBuilder();
                for (int i = 0; s.Length < length; i++)
                {
                    s.Append(System.Globalization.CultureInfo.InvariantCulture, $"{seed} {i} some text\n");
                }
                return Encoding.ASCII.GetBytes(s.ToString(0, length));
            }
            default:
            {
                byte[] data = new byte[length];
                Encoding.ASCII.GetBytes("island").CopyTo(data.AsSpan(Math.Max(0, length - 6)));
                return length >= 6 ? data : new byte[length];
            }
        }
    }

    // Made once per test run by ntfs-3g: a compressed directory with a text file, a random file and a file with holes,
    // a sparse file, a plain file.
    private (string, Dictionary<string, byte[]>) BuildBase()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "base.img", 64L << 20);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase)
        {
            ["/c/text.txt"] = Content(1, 250_000),
            ["/c/random.bin"] = Content(3, 100_000),
            ["/c/holey.bin"] = new byte[700_000],
            ["/s/sparse.bin"] = new byte[2_000_000],
            ["/plain.bin"] = Content(6, 50_000),
        };
        Content(4, 30_000).CopyTo(files["/c/holey.bin"], 300_000);
        Content(7, 9_000).CopyTo(files["/s/sparse.bin"], 1_000_000);
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "c"));
            Directory.CreateDirectory(Path.Combine(mount, "s"));
            Ntfs3gMount.SetXattr(Path.Combine(mount, "c"), "system.ntfs_attrib_be", new byte[] { 0, 0, 0x08, 0 }); // FILE_ATTRIBUTE_COMPRESSED
            File.WriteAllBytes(mount + "/c/text.txt", files["/c/text.txt"]);
            File.WriteAllBytes(mount + "/c/random.bin", files["/c/random.bin"]);
            File.WriteAllBytes(mount + "/plain.bin", files["/plain.bin"]);
            foreach ((string path, int at, int length) in new[] { ("/c/holey.bin", 300_000, 30_000), ("/s/sparse.bin", 1_000_000, 9_000) })
            {
                using var f = new FileStream(mount + path, FileMode.CreateNew);
                f.SetLength(files[path].Length);
                f.Position = at;
                f.Write(files[path].AsSpan(at, length));
            }
        }, "compression");
        return (image, files);
    }
}
