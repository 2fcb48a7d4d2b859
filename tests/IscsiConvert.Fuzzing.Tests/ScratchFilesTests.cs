using System;
using System.IO;
using System.Linq;
using IscsiConvert.Fuzzing;
using Xunit;

namespace IscsiConvert.Fuzzing.Tests;

/// <summary>
/// The scratch files the disk targets open: what a parser opens is the mutated input, and afterwards the seed again;
/// a byte written by a read-only open is caught, also in a file cut and written apart.
/// </summary>
public sealed class ScratchFilesTests
{
    private static Seed Pair()
    {
        byte[] child = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        byte[] parent = Enumerable.Range(0, 5_000).Select(i => (byte)(i * 7)).ToArray();
        return new Seed("pair", new SeedFile("child.img", child), new SeedFile("parent.img", parent));
    }

    [Fact]
    public void A_file_cut_short_is_opened_cut_and_patched_beside_its_patched_sibling_then_both_are_the_seed_again()
    {
        Seed seed = Pair();
        using var files = new ScratchFiles(new[] { seed });
        var m = new Mutation(seed);
        m.SetLength(0, 1_000, "cut");
        m.Write(0, 10, new byte[] { 0xEE, 0xEE }, "patch");
        m.Write(1, 20, new byte[] { 0xDD }, "patch parent");

        files.Apply(m);
        string child = files.PathOf(seed, 0);
        Assert.Equal(m.Materialize(0), File.ReadAllBytes(child));
        Assert.Equal(m.Materialize(1), File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(child)!, "parent.img")));
        files.Restore(m);

        Assert.Equal(seed.Files[0].Bytes, File.ReadAllBytes(files.PathOf(seed, 0)));
        Assert.Equal(seed.Files[1].Bytes, File.ReadAllBytes(files.PathOf(seed, 1)));
        Assert.Null(files.FindChangedFile(new[] { seed }));
    }

    [Fact]
    public void A_byte_written_into_a_cut_copy_is_caught()
    {
        Seed seed = Pair();
        using var files = new ScratchFiles(new[] { seed });
        var m = new Mutation(seed);
        m.SetLength(0, 100, "cut");

        files.Apply(m);
        string cut = files.PathOf(seed, 0);
        using (var s = new FileStream(cut, FileMode.Open, FileAccess.Write))
        {
            s.Position = 50;
            s.WriteByte(0x42); // what a read-only open must never do
        }
        files.Restore(m);

        Assert.Equal(cut, files.FindChangedFile(new[] { seed }));
    }

    [Fact]
    public void A_byte_written_into_a_file_patched_in_place_is_caught()
    {
        Seed seed = Pair();
        using var files = new ScratchFiles(new[] { seed });
        var m = new Mutation(seed);
        m.SetLength(0, 9_000, "cut near the end: patched in place");

        files.Apply(m);
        string path = files.PathOf(seed, 0);
        Assert.Equal(9_000, new FileInfo(path).Length);
        using (var s = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            s.Position = 5;
            s.WriteByte(0x42);
        }
        files.Restore(m);

        Assert.Equal(path, files.FindChangedFile(new[] { seed }));
    }
}
