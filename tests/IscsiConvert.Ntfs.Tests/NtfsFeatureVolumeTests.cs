using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// A volume made by mkntfs and filled through ntfs-3g (FUSE) with what the corpus lacks: an LZNT1-compressed file,
/// a file with 41 hard links (its $FILE_NAMEs overflow into extension records through a non-resident
/// $ATTRIBUTE_LIST), a named stream, a junction and a symbolic link, and a directory of 3000 entries (a deeper
/// $I30 B-tree). Checked against sleuthkit (fls, icat, istat) and against the content written.
/// </summary>
public sealed class NtfsFeatureVolumeTests : IDisposable
{
    private const int BigDirectoryEntries = 3000;
    private static readonly Lazy<string> Text = new(() => string.Concat(Enumerable.Range(0, 20000).Select(i => $"line {i} of compressible text\n")));

    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Ntfs3gVolume_CompressedLinkedReparseAndLargeDirectory_MatchSleuthKit()
    {
        string image = Build();
        using OpenedVolume opened = OpenedVolume.Open(image);
        NtfsVolume volume = opened.Volume;

        NtfsCorpusTests.AssertTreeEqualsFls(volume, image, 0);
        Assert.Empty(volume.Verify());
        // icat runs once per stream: every stream outside \many, and every 100th file in it.
        Assert.True(NtfsCorpusTests.AssertStreamsEqualIcat(volume, image, 0, e => !e.Path.StartsWith("many/", StringComparison.Ordinal) || e.Path.EndsWith("00.txt", StringComparison.Ordinal)) > 40);

        NtfsEntry big = volume.GetEntry(@"\c\big.txt");
        Assert.True(big.IsCompressed);
        using (Stream s = volume.OpenFile(@"\c\big.txt"))
        using (var reader = new StreamReader(s, Encoding.ASCII))
        {
            Assert.Equal(Text.Value, reader.ReadToEnd());
        }

        NtfsEntry plain = volume.GetEntry(@"\PLAIN");
        Assert.Equal(41, plain.HardLinkCount);
        Assert.Equal(plain.MftRecordNumber, volume.GetEntry(@"\link39").MftRecordNumber);
        Assert.Contains("$ATTRIBUTE_LIST", Oracle.RunChecked("istat", image, plain.MftRecordNumber.ToString(System.Globalization.CultureInfo.InvariantCulture)), StringComparison.Ordinal);
        Assert.Equal("myads", Assert.Single(plain.AlternateStreams).Name);
        using (Stream ads = volume.OpenFile(@"\plain", "myads"))
        using (var reader = new StreamReader(ads, Encoding.ASCII))
        {
            Assert.Equal("hello ads", reader.ReadToEnd());
        }

        NtfsEntry junction = volume.GetEntry(@"\junction");
        Assert.Equal(0xA0000003u, junction.ReparseTag);
        Assert.Equal(@"C:\Target", junction.ReparseTarget);
        Assert.True(junction.Attributes.HasFlag(FileAttributes.ReparsePoint));

        foreach (NtfsEntry e in new[] { big, plain, junction, volume.GetEntry(@"\many\f01234.txt") })
        {
            DateTime[] expected = SleuthKit.StandardInformationTimes(image, 0, e.MftRecordNumber);
            Assert.Equal(expected, new[] { e.CreationTimeUtc, e.LastWriteTimeUtc, e.MftChangeTimeUtc, e.LastAccessTimeUtc });
        }

        // Junctions are reported, and followed only when asked.
        Assert.Null(volume.TryGetEntry(@"\tomany\f00001.txt"));
        using (OpenedVolume following = OpenedVolume.Open(image, new NtfsOpenOptions { FollowJunctions = true }))
        {
            NtfsEntry through = following.Volume.GetEntry(@"\TOMANY\f00001.txt");
            Assert.Equal(volume.GetEntry(@"\many\f00001.txt").MftRecordNumber, through.MftRecordNumber);
            Assert.Equal(@"\many\f00001.txt", through.Path);
            Assert.Equal(BigDirectoryEntries, following.Volume.ListDirectory(@"\tomany").Count);
            // A loop of junctions is one of our exceptions, naming the link's MFT record and its offset.
            var loop = Assert.Throws<CorruptDataException>(() => following.Volume.GetEntry(@"\loop\x"));
            Assert.StartsWith("MFT record ", loop.Structure, StringComparison.Ordinal);
            Assert.True(loop.Offset > 0);
            Assert.Contains("loop", loop.Problem, StringComparison.Ordinal);
        }

        List<string> names = volume.ListDirectory(@"\many").Select(e => e.Name).ToList();
        Assert.Equal(BigDirectoryEntries, names.Count);
        Assert.Equal(volume.GetEntry(@"\many\F02999.TXT").MftRecordNumber, volume.GetEntry(@"\many\f02999.txt").MftRecordNumber);
        Assert.Null(volume.TryGetEntry(@"\many\f03000.txt"));
    }

    /// <summary>
    /// Hostile input (issue 16): a junction on the way of a write (a System32\drivers that is a junction out of the
    /// Windows tree) is refused with <see cref="UnsafeToWriteException"/> naming the link and its target,
    /// nothing staged and no byte written; writes elsewhere still work, and ntfs-3g reads the result.
    /// </summary>
    [Fact]
    public void Writes_through_a_junction_are_refused_and_nothing_is_written()
    {
        string image = Build();
        string before = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(image)));
        using (NtfsVolume v = NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true }))
        {
            var intoJunction = Assert.Throws<UnsafeToWriteException>(() => v.WriteFile(@"\junction\evil.sys", new byte[] { 1, 2, 3 }));
            Assert.Contains(@"'\junction'", intoJunction.Message, StringComparison.Ordinal);
            Assert.Contains(@"C:\Target", intoJunction.Message, StringComparison.Ordinal);
            Assert.Throws<UnsafeToWriteException>(() => v.CreateDirectory(@"\tomany\sub"));
            Assert.Throws<UnsafeToWriteException>(() => v.OpenWrite(@"\junction\x", FileMode.CreateNew).Dispose());
            Assert.False(v.HasPendingChanges);
            Assert.Empty(v.ListDirectory(@"\junction"));
        }
        Assert.Equal(before, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(image))));
        using (NtfsVolume v = NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true }))
        {
            v.WriteFile(@"\c\fine.txt", "fine"u8.ToArray());
            v.Flush();
        }
        NtfsWriteTests.AssertOraclesHappy(image);
        Assert.Equal(4, BinaryOracle.Sha256Of("ntfscat", image, "/c/fine.txt").Length);
    }

    [Fact]
    public void A_file_with_an_attribute_list_is_rewritten_grown_and_shrunk_and_ntfs_3g_agrees()
    {
        // "plain" has 41 names (hard links written by ntfs-3g), so its attributes are spread over several MFT records
        // with an $ATTRIBUTE_LIST — like a heavily linked or fragmented file on a real Windows volume.
        string image = Build();
        byte[] grown = new byte[300_000];
        new Random(9).NextBytes(grown);
        using (NtfsVolume v = NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true }))
        {
            v.WriteFile(@"\plain", grown);
            v.Flush();
        }
        NtfsWriteTests.AssertOraclesHappy(image);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(grown)), BinaryOracle.Sha256Of("ntfscat", image, "/link17").Sha256);
        using (NtfsVolume v = NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true }))
        {
            using (Stream s = v.OpenWrite(@"\link03", FileMode.Open))
            {
                s.SetLength(1000);
            }
            v.Flush();
            Assert.Equal(41, v.GetEntry(@"\plain").HardLinkCount);
        }
        NtfsWriteTests.AssertOraclesHappy(image);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(grown.AsSpan(0, 1000))), BinaryOracle.Sha256Of("ntfscat", image, "/plain").Sha256);
        Assert.Equal("hello ads"u8.Length, BinaryOracle.Sha256Of("ntfscat", "-a", "0x80", "-n", "myads", image, "/plain").Length);
    }

    // mkntfs, then ntfs-3g mounted over FUSE; everything is written by ntfs-3g, never by our code.
    private string Build()
    {
        string image = Mkntfs.Volume(_tmp.File("features.img"), 32, "features");
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "c"));
            Ntfs3gMount.SetXattr(Path.Combine(mount, "c"), "system.ntfs_attrib_be", new byte[] { 0, 0, 0x08, 0 }); // FILE_ATTRIBUTE_COMPRESSED
            File.WriteAllText(Path.Combine(mount, "c", "big.txt"), Text.Value, Encoding.ASCII);
            File.WriteAllText(Path.Combine(mount, "plain"), new string('x', 5000));
            for (int i = 0; i < 40; i++)
            {
                Oracle.RunChecked("ln", Path.Combine(mount, "plain"), Path.Combine(mount, $"link{i:D2}"));
            }
            Ntfs3gMount.SetXattr(Path.Combine(mount, "plain"), "user.myads", Encoding.ASCII.GetBytes("hello ads"));
            Directory.CreateDirectory(Path.Combine(mount, "junction"));
            Ntfs3gMount.SetJunction(Path.Combine(mount, "junction"), @"C:\Target");
            File.CreateSymbolicLink(Path.Combine(mount, "sym"), "plain");
            Directory.CreateDirectory(Path.Combine(mount, "tomany"));
            Ntfs3gMount.SetJunction(Path.Combine(mount, "tomany"), @"C:\many");
            Directory.CreateDirectory(Path.Combine(mount, "loop"));
            Ntfs3gMount.SetJunction(Path.Combine(mount, "loop"), @"C:\loop");
            string many = Path.Combine(mount, "many");
            Directory.CreateDirectory(many);
            for (int i = 0; i < BigDirectoryEntries; i++)
            {
                File.WriteAllText(Path.Combine(many, $"f{i:D5}.txt"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }, "compression");
        return image;
    }
}
