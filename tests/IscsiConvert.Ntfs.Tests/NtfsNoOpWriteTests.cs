using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// A no-op writes nothing on NTFS: a flush with nothing staged writes no byte (no dirty/clean flag round trip), writing
/// a file's own content again through <see cref="NtfsVolume.WriteFileIfChanged(string, byte[])"/> stages nothing, and a
/// small write through <see cref="NtfsVolume.OpenWrite"/> writes its clusters and the touched metadata, not the file.
/// Bytes are counted by a stream under the volume.
/// </summary>
public sealed class NtfsNoOpWriteTests : IDisposable
{
    private const string FilePath = @"\data\payload.bin";
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)((i * 31) + seed + (i >> 9))).ToArray();

    // A mkntfs volume holding a 2 MiB file, flushed and closed.
    private string VolumeWithFile(byte[] content)
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "v.img");
        using NtfsVolume v = NtfsWriteTests.OpenWritable(image);
        v.CreateDirectory(@"\data");
        v.WriteFile(FilePath, content);
        v.Flush();
        return image;
    }

    private static (string Hash, DateTime Modified) Stamp(string path) =>
        (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))), File.GetLastWriteTimeUtc(path));

    private static NtfsVolume OpenCounted(string image, out CountingStream counting)
    {
        counting = new CountingStream(new FileStream(image, FileMode.Open, FileAccess.ReadWrite));
        return NtfsVolume.Open(counting, new NtfsOpenOptions { Writable = true, FilePath = image });
    }

    [Fact]
    public void FlushWithNothingStagedWritesNoByte()
    {
        string image = VolumeWithFile(Pattern(2 << 20, 1));
        var before = Stamp(image);
        using (NtfsVolume v = OpenCounted(image, out CountingStream counting))
        {
            using (Stream s = v.OpenFile(FilePath))
            {
                s.CopyTo(Stream.Null);
            }
            v.CreateDirectory(@"\data"); // exists: nothing to do
            Assert.False(v.HasPendingChanges);
            v.Flush();
            v.Flush();
            Assert.Equal(0, counting.BytesWritten);
        }
        Assert.Equal(before, Stamp(image));
    }

    [Fact]
    public void WritingAFilesOwnContentAgainStagesNothing()
    {
        byte[] content = Pattern(2 << 20, 2);
        string image = VolumeWithFile(content);
        NtfsEntry entryBefore;
        using (NtfsVolume v = NtfsVolume.Open(File.OpenRead(image)))
        {
            entryBefore = v.GetEntry(FilePath);
        }
        var before = Stamp(image);
        using (NtfsVolume v = OpenCounted(image, out CountingStream counting))
        {
            Assert.False(v.WriteFileIfChanged(FilePath, content));
            Assert.False(v.WriteFileIfChanged(FilePath, new NonSeekable(content)));
            Assert.False(v.HasPendingChanges);
            Assert.Equal(entryBefore.LastWriteTimeUtc, v.GetEntry(FilePath).LastWriteTimeUtc);
            v.Flush();
            Assert.Equal(0, counting.BytesWritten);
        }
        Assert.Equal(before, Stamp(image));
    }

    [Fact]
    public void WritingDifferentContentStillWritesAndTheOraclesReadIt()
    {
        string image = VolumeWithFile(Pattern(2 << 20, 3));
        byte[] changed = Pattern(2 << 20, 3);
        changed[12345] ^= 0xFF;
        byte[] shorter = Pattern(5000, 4);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            Assert.True(v.WriteFileIfChanged(FilePath, changed));
            Assert.True(v.WriteFileIfChanged(@"\data\new.bin", shorter));
            Assert.True(v.WriteFileIfChanged(@"\data\new.bin", changed.AsSpan(0, 5000).ToArray()));
            v.Flush();
        }
        Assert.Equal(changed, BinaryOracle.Bytes("ntfscat", image, "data/payload.bin"));
        Assert.Equal(changed.AsSpan(0, 5000).ToArray(), BinaryOracle.Bytes("ntfscat", image, "data/new.bin"));
        NtfsWriteTests.AssertOraclesHappy(image);
    }

    /// <summary>A write of a few hundred bytes into a 2 MiB file writes that cluster and the touched metadata only.</summary>
    [Fact]
    public void ASmallWriteThroughOpenWriteWritesOnlyItsRanges()
    {
        byte[] content = Pattern(2 << 20, 5);
        string image = VolumeWithFile(content);
        byte[] patch = Pattern(300, 77);
        const int At = (1 << 20) + 100;
        using (NtfsVolume v = OpenCounted(image, out CountingStream counting))
        {
            using (Stream s = v.OpenWrite(FilePath, FileMode.Open))
            {
                s.Position = At;
                s.Write(patch, 0, patch.Length);
            }
            v.Flush();
            // The data cluster, the file's MFT record, its directory's index, $Volume (dirty, clean) and its mirror:
            // a few clusters, never the 2 MiB file.
            Assert.True(counting.BytesWritten > 0);
            Assert.True(counting.BytesWritten <= 16 * 4096, $"{counting.BytesWritten} bytes written for a 300-byte change");
            Assert.DoesNotContain(counting.Writes, w => w.Length > 4096);
        }
        patch.CopyTo(content, At);
        Assert.Equal(content, BinaryOracle.Bytes("ntfscat", image, "data/payload.bin"));
        NtfsWriteTests.AssertOraclesHappy(image);
    }

    /// <summary>A stream user that writes back what a file holds (a hive saved with identical pages) changes nothing.</summary>
    [Fact]
    public void WritingBackTheSameBytesThroughOpenWriteStagesNothing()
    {
        byte[] content = Pattern(2 << 20, 6);
        string image = VolumeWithFile(content);
        var before = Stamp(image);
        using (NtfsVolume v = OpenCounted(image, out CountingStream counting))
        {
            using (Stream s = v.OpenWrite(FilePath, FileMode.Open))
            {
                s.Position = 4096;
                s.Write(content, 4096, 70000);
                s.SetLength(content.Length);
            }
            Assert.False(v.HasPendingChanges);
            v.Flush();
            Assert.Equal(0, counting.BytesWritten);
        }
        Assert.Equal(before, Stamp(image));
    }

    /// <summary>Staged pages that equal the bytes on disk are dropped at commit; with none left, not even the
    /// dirty/clean pair around the commit is written.</summary>
    [Fact]
    public void PendingPagesEqualToTheDiskAreNotWritten()
    {
        byte[] disk = Pattern(64 * 1024, 8);
        using var counting = new CountingStream(new MemoryStream((byte[])disk.Clone()));
        var pending = new IscsiConvert.Ntfs.Internal.PendingWrites(counting, 4096);
        int around = 0;
        pending.Write(8192 + 10, disk.AsSpan(8192 + 10, 5000));
        pending.Write(40000, disk.AsSpan(40000, 10));
        pending.Commit(_ => around++, _ => around++);
        Assert.Equal(0, around);
        Assert.Equal(0, counting.BytesWritten);

        pending.Write(8192 + 10, disk.AsSpan(8192 + 10, 5000));
        pending.Write(40000, new byte[] { (byte)~disk[40000] });
        pending.Commit(_ => around++, _ => around++);
        Assert.Equal(2, around);
        Assert.Equal(new[] { (36864L, 4096) }, counting.Writes.ToArray());
    }

    private sealed class NonSeekable : MemoryStream
    {
        public NonSeekable(byte[] data)
            : base(data, writable: false)
        {
        }

        public override bool CanSeek => false;
    }
}
