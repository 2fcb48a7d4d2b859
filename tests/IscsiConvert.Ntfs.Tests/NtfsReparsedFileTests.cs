using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Files whose content a Windows filter driver supplies from elsewhere — compressed by WOF (CompactOS, as on small
/// Windows 10 installs), backed by a WIM (WIMBoot), deduplicated, cloud placeholders — keep a sparse or stub unnamed
/// stream and a reparse point. Read as plain files they would pass for zeros; written over, Windows would still read
/// the old content through the filter. Reads are refused naming the file and what it is; writes over them, and
/// deletes of any file with a reparse point (IscsiConvert does not edit $Extend\$Reparse), are refused before anything
/// is staged. The volume is made by mkntfs and ntfs-3g (the reparse data set through its xattr interface), never by us.
/// </summary>
public sealed class NtfsReparsedFileTests : IDisposable
{
    private static readonly byte[] Stub = Encoding.ASCII.GetBytes("not the content: Windows reads this file through its filter driver");

    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Theory]
    [InlineData(@"\wof.sys", "WOF")]
    [InlineData(@"\wim.dll", "WIMBoot")]
    [InlineData(@"\dedup.bin", "Deduplication")]
    [InlineData(@"\cloud.txt", "cloud file")]
    public void Reading_a_file_whose_content_a_filter_supplies_is_refused_naming_it(string path, string what)
    {
        string image = Build();
        using var volume = NtfsVolume.Open(File.OpenRead(image), new NtfsOpenOptions { FilePath = image });
        Assert.NotNull(volume.GetEntry(path).ReparseTag);
        var ex = Assert.Throws<UnsupportedFormatException>(() => volume.OpenFile(path).Dispose());
        Assert.Contains($"'{path}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
        Assert.Equal(image, ex.FilePath);
        // The compressed stream itself is plain data, and a file without a reparse point reads as before.
        using (Stream compressed = volume.OpenFile(@"\wof.sys", "WofCompressedData"))
        {
            Assert.Equal(4, compressed.Length);
        }
        using Stream plain = volume.OpenFile(@"\target\keep.txt");
        Assert.Equal(4, plain.Length);
    }

    [Fact]
    public void Writing_over_or_deleting_a_file_with_a_reparse_point_is_refused_and_nothing_is_written()
    {
        string image = Build();
        string before = Sha256(image);
        using (NtfsVolume v = NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true }))
        {
            var write = Assert.Throws<UnsafeToWriteException>(() => v.WriteFile(@"\wof.sys", new byte[] { 1, 2, 3 }));
            Assert.Contains(@"'\wof.sys'", write.Message, StringComparison.Ordinal);
            Assert.Contains("WOF", write.Message, StringComparison.Ordinal);
            Assert.Throws<UnsafeToWriteException>(() => v.WriteFileIfChanged(@"\wof.sys", Stub));
            Assert.Throws<UnsafeToWriteException>(() => v.WriteFileIfChanged(@"\cloud.txt", new byte[] { 1 }));
            Assert.Throws<UnsafeToWriteException>(() => v.OpenWrite(@"\dedup.bin", FileMode.Open).Dispose());
            Assert.Throws<UnsafeToWriteException>(() => v.OpenWrite(@"\wim.dll", FileMode.Truncate).Dispose());
            var delete = Assert.Throws<UnsafeToWriteException>(() => v.Delete(@"\wof.sys"));
            Assert.Contains("reparse point", delete.Message, StringComparison.Ordinal);
            var junction = Assert.Throws<UnsafeToWriteException>(() => v.Delete(@"\jn", recursive: true));
            Assert.Contains(@"C:\target", junction.Message, StringComparison.Ordinal);
            // A tree holding such a file is refused as a whole: what was deleted before it is rolled back.
            Assert.Throws<UnsafeToWriteException>(() => v.Delete(@"\holder", recursive: true));
            Assert.False(v.HasPendingChanges);
            Assert.Equal(2, v.ListDirectory(@"\holder").Count);
        }
        Assert.Equal(before, Sha256(image));
    }

    [Fact]
    public void With_links_followed_deleting_a_junction_never_deletes_its_target()
    {
        string image = Build();
        string before = Sha256(image);
        using (NtfsVolume v = NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true, FollowJunctions = true }))
        {
            // Followed for reading: the junction lists its target.
            Assert.Single(v.ListDirectory(@"\jn"));
            var ex = Assert.Throws<UnsafeToWriteException>(() => v.Delete(@"\jn", recursive: true));
            Assert.Contains(@"'\jn'", ex.Message, StringComparison.Ordinal);
            Assert.False(v.HasPendingChanges);
            Assert.NotNull(v.TryGetEntry(@"\target\keep.txt"));
        }
        Assert.Equal(before, Sha256(image));
    }

    /// <summary>
    /// CompactOS files: XPRESS in 4, 8 and 16 KiB chunks, compressed by wimlib (an independent compressor; a WIM
    /// resource has the layout of a WofCompressedData stream), read back as the content. The content mixes text,
    /// incompressible bytes (chunks stored as they are) and a long run (the escapes of long match lengths).
    /// </summary>
    [Theory]
    [InlineData(4096, 0u)]
    [InlineData(8192, 2u)]
    [InlineData(16384, 3u)]
    public void Wof_xpress_file_reads_as_the_content_wimlib_compressed(int chunkSize, uint algorithm)
    {
        byte[] content = MixedContent();
        byte[] compressed = WimXpress.Compress(_tmp.Path, content, chunkSize);
        // Most chunks compressed (the text and the run), some stored (the noise): both paths are read.
        Assert.InRange(compressed.Length, 9000, content.Length / 2);
        string image = WofVolume(content, compressed, algorithm);
        using var volume = NtfsVolume.Open(File.OpenRead(image), new NtfsOpenOptions { FilePath = image });
        Assert.Equal(content.Length, volume.GetEntry(@"\compact.sys").Size);
        using Stream s = volume.OpenFile(@"\compact.sys");
        var all = new byte[content.Length];
        s.ReadExactly(all);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(content)), Convert.ToHexString(SHA256.HashData(all)));
        // A read that starts inside one chunk and ends inside another.
        s.Position = chunkSize - 100;
        var across = new byte[chunkSize + 200];
        s.ReadExactly(across);
        Assert.True(across.AsSpan().SequenceEqual(content.AsSpan(chunkSize - 100, chunkSize + 200)));
    }

    [Fact]
    public void Wof_chunk_table_pointing_past_the_stream_is_refused_naming_it()
    {
        byte[] content = MixedContent();
        byte[] compressed = WimXpress.Compress(_tmp.Path, content, 4096);
        compressed[3] = 0x7F; // the first entry: where chunk 1 starts, now 2 GiB on
        string image = WofVolume(content, compressed, 0);
        using var volume = NtfsVolume.Open(File.OpenRead(image), new NtfsOpenOptions { FilePath = image });
        var ex = Assert.Throws<CorruptDataException>(() => volume.OpenFile(@"\compact.sys").Dispose());
        Assert.Contains("WofCompressedData", ex.Structure, StringComparison.Ordinal);
        Assert.True(ex.Offset > 0);
        Assert.Equal(image, ex.FilePath);
    }

    private string WofVolume(byte[] content, byte[] compressed, uint algorithm)
    {
        string image = Mkntfs.Volume(_tmp.File("wof.img"), 16, "wof");
        Ntfs3gMount.With(image, mount => Ntfs3gMount.SetWofCompressed(Path.Combine(mount, "compact.sys"), content.Length, compressed, algorithm));
        return image;
    }

    private static byte[] MixedContent()
    {
        var random = new Random(20261204);
        var content = new MemoryStream();
        for (int i = 0; content.Length < 30_000; i++)
        {
            content.Write(Encoding.ASCII.GetBytes($"[Strings] line {i} {random.Next(1000)} of a driver's INF text\r\n"));
        }
        var noise = new byte[9000];
        random.NextBytes(noise);
        content.Write(noise);
        content.Write(new byte[6000].AsSpan());
        for (int i = 0; content.Length < 50_001; i++)
        {
            content.Write(Encoding.ASCII.GetBytes($"tail {i % 7}\n"));
        }
        return content.ToArray();
    }

    /// <summary>
    /// With links followed, a link that cannot be followed — its target missing, or on another volume — stands for
    /// itself: listed, looked up (with its target reported) and listed as an empty folder, never a bare exception
    /// (the fuzzer's NTFS run, seed 4627297119801493265, found FileNotFoundException for a listed junction); a write
    /// through it is refused, as on a volume that does not follow links.
    /// </summary>
    [Theory]
    [InlineData(@"\dangling", @"C:\nothing\here")]
    [InlineData(@"\elsewhere", @"Volume{01234567-89ab-cdef-0123-456789abcdef}\x")]
    public void With_links_followed_a_link_that_cannot_be_followed_stands_for_itself(string link, string target)
    {
        string image = Build();
        string before = Sha256(image);
        using (NtfsVolume v = NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true, FollowJunctions = true }))
        {
            NtfsEntry listed = Assert.Single(v.ListDirectory(@"\"), e => e.Path == link);
            NtfsEntry found = v.GetEntry(listed.Path);
            Assert.Equal(listed.MftRecordNumber, found.MftRecordNumber);
            Assert.Equal(target, found.ReparseTarget);
            Assert.Empty(v.ListDirectory(link));
            Assert.Null(v.TryGetEntry(link + @"\x"));
            var ex = Assert.Throws<UnsafeToWriteException>(() => v.WriteFile(link + @"\evil.sys", new byte[] { 1 }));
            Assert.Contains($"'{link}'", ex.Message, StringComparison.Ordinal);
            Assert.False(v.HasPendingChanges);
        }
        Assert.Equal(before, Sha256(image));
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    // mkntfs, then ntfs-3g over FUSE: each file gets a stub unnamed stream, then its reparse point.
    private string Build()
    {
        string image = Mkntfs.Volume(_tmp.File("reparsed.img"), 16, "reparsed");
        Ntfs3gMount.With(image, mount =>
        {
            // WOF_EXTERNAL_INFO (version 1, provider 2: a file) and FILE_PROVIDER_EXTERNAL_INFO_V1 (version 1, LZX).
            // LZX (algorithm 1), which IscsiConvert does not decompress; the compressed stream is four bytes.
            Ntfs3gMount.SetWofCompressed(Path.Combine(mount, "wof.sys"), Stub.Length, new byte[] { 1, 2, 3, 4 }, algorithm: 1);
            Reparsed(Path.Combine(mount, "wim.dll"), 0x80000008, 1, 0, 0, 0);
            Reparsed(Path.Combine(mount, "dedup.bin"), 0x80000013, 1, 0, 0, 0);
            Reparsed(Path.Combine(mount, "cloud.txt"), 0x9000101A, 1, 0, 0, 0);
            Directory.CreateDirectory(Path.Combine(mount, "target"));
            File.WriteAllText(Path.Combine(mount, "target", "keep.txt"), "keep");
            Directory.CreateDirectory(Path.Combine(mount, "jn"));
            Ntfs3gMount.SetJunction(Path.Combine(mount, "jn"), @"C:\target");
            Directory.CreateDirectory(Path.Combine(mount, "dangling"));
            Ntfs3gMount.SetJunction(Path.Combine(mount, "dangling"), @"C:\nothing\here");
            Directory.CreateDirectory(Path.Combine(mount, "elsewhere"));
            Ntfs3gMount.SetJunction(Path.Combine(mount, "elsewhere"), @"Volume{01234567-89ab-cdef-0123-456789abcdef}\x");
            Directory.CreateDirectory(Path.Combine(mount, "holder"));
            File.WriteAllText(Path.Combine(mount, "holder", "a.txt"), "a");
            Reparsed(Path.Combine(mount, "holder", "z.sys"), 0x80000017, 1, 2, 1, 1);
        });
        return image;
    }

    private static void Reparsed(string path, uint tag, params uint[] data)
    {
        File.WriteAllBytes(path, Stub);
        Ntfs3gMount.SetReparsePoint(path, tag, data);
    }
}
