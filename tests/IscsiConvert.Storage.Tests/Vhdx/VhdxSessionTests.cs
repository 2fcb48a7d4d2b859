using System;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Vhdx;
using IscsiConvert.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>Header updates of write sessions and of log replay, read straight from the bytes of both header slots.</summary>
public sealed class VhdxSessionTests
{
    private const long MiB = 1 << 20;
    private const string ReplayedSha256 = "3ba3b309425b7ff5e8e0199edceed95226250f880c53b24e8eae93865f3fad5e";

    private sealed record RawHeader(ulong Sequence, Guid FileWrite, Guid DataWrite, Guid Log);

    private static RawHeader ReadHeader(string path, long offset)
    {
        byte[] h = VhdxTestSupport.ReadBytes(path, offset, 64);
        Assert.Equal("head"u8.ToArray(), h.AsSpan(0, 4).ToArray());
        return new RawHeader(BitConverter.ToUInt64(h, 8), new Guid(h.AsSpan(16, 16)), new Guid(h.AsSpan(32, 16)), new Guid(h.AsSpan(48, 16)));
    }

    [Fact]
    public void ReadWriteOpenWithoutWriting_ChangesNothing()
    {
        using var tmp = new TempDir();
        string path = tmp.File("s.vhdx");
        using (DiskImage.Create(path, VhdxCreateTests.Options(4 * MiB)))
        {
        }
        string before = VhdxTestSupport.FileSha256(path);
        using (VirtualDisk d = DiskImage.Open(path, DiskAccess.ReadWrite))
        {
            byte[] b = new byte[4096];
            d.Content.ReadAt(0, b);
        }
        Assert.Equal(before, VhdxTestSupport.FileSha256(path));
    }

    [Fact]
    public void FirstWriteOfASession_WritesNewGuidsToBothSlots_WithIncreasingSequenceNumbers()
    {
        using var tmp = new TempDir();
        string path = tmp.File("s.vhdx");
        using (DiskImage.Create(path, VhdxCreateTests.Options(4 * MiB)))
        {
        }
        RawHeader a1 = ReadHeader(path, 0x10000), a2 = ReadHeader(path, 0x20000);
        using (VirtualDisk d = DiskImage.Open(path, DiskAccess.ReadWrite))
        {
            d.Content.WriteAt(0, new byte[] { 9 });
            d.Content.WriteAt(2 * MiB, new byte[] { 9 }); // a second write in the same session changes no header
        }
        RawHeader b1 = ReadHeader(path, 0x10000), b2 = ReadHeader(path, 0x20000);
        ulong oldMax = Math.Max(a1.Sequence, a2.Sequence);
        Assert.Equal(new[] { oldMax + 1, oldMax + 2 }, new[] { Math.Min(b1.Sequence, b2.Sequence), Math.Max(b1.Sequence, b2.Sequence) });
        Assert.Equal(b1 with { Sequence = 0 }, b2 with { Sequence = 0 });
        Assert.NotEqual(a1.FileWrite, b1.FileWrite);
        Assert.NotEqual(a1.DataWrite, b1.DataWrite);
        Assert.Equal(Guid.Empty, b1.Log);
        QemuImg.Check(path, "vhdx");
    }

    [Fact]
    public void Replay_ChangesFileWriteGuidButNotDataWriteGuid_AndClearsLogGuidInBothSlots()
    {
        using var tmp = new TempDir();
        string path = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        RawHeader a = ReadHeader(path, 0x20000); // sequence 9, the current one (MANIFEST image; see the test data)
        Assert.NotEqual(Guid.Empty, a.Log);
        using (DiskImage.Open(path, DiskAccess.ReadWrite))
        {
        }
        RawHeader b1 = ReadHeader(path, 0x10000), b2 = ReadHeader(path, 0x20000);
        foreach (RawHeader b in new[] { b1, b2 })
        {
            Assert.Equal(Guid.Empty, b.Log);
            Assert.Equal(a.DataWrite, b.DataWrite);
            Assert.NotEqual(a.FileWrite, b.FileWrite);
            Assert.True(b.Sequence > a.Sequence);
        }
    }

    /// <summary>A crash anywhere in an on-disk replay leaves the log in force: the image still reads as replayed.</summary>
    [Theory]
    [InlineData(CrashKeeps.All)]
    [InlineData(CrashKeeps.LastOnly)]
    public void CrashDuringReplay_LeavesAnImageThatStillReadsAsReplayed(CrashKeeps keeps)
    {
        using var tmp = new TempDir();
        string path = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        byte[] pristine = File.ReadAllBytes(path);
        // The reference view: the pristine image replayed in memory, checked once against the manifest's hash; each
        // crashed image must then show the same extents with the same bytes (everything else reads as zeros).
        (StreamExtent[] Extents, byte[] Bytes) reference;
        using (VirtualDisk d = DiskImage.Open(path))
        {
            Assert.Equal(ReplayedSha256, VhdxTestSupport.ContentSha256(d.Content));
            reference = Allocated(d.Content);
        }
        for (int n = 0; ; n++)
        {
            Assert.True(n < 50, "the replay never completed");
            File.WriteAllBytes(path, pristine);
            var crashing = new CrashingStream(new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None), n);
            bool completed = false;
            try
            {
                using (VhdxDisk.Open(crashing, path, DiskAccess.ReadWrite, new OpenContext(NullLogger.Instance), IdentifierSource.Sequential(n), createdNow: false))
                {
                }
                completed = true;
            }
            catch (IOException) when (crashing.Crashed)
            {
            }
            if (completed)
            {
                crashing.Finish();
            }
            else
            {
                crashing.Crash(keeps);
            }
            using (VirtualDisk d = DiskImage.Open(path))
            {
                (StreamExtent[] extents, byte[] bytes) = Allocated(d.Content);
                Assert.Equal(reference.Extents, extents);
                Assert.True(reference.Bytes.AsSpan().SequenceEqual(bytes), $"after a crash at write {n} ({keeps}) the replayed content differs");
            }
            if (completed)
            {
                QemuImg.Check(path, "vhdx");
                Assert.True(n >= 3, $"the replay took only {n} writes");
                return;
            }
        }
    }

    private static (StreamExtent[] Extents, byte[] Bytes) Allocated(SparseStream content)
    {
        StreamExtent[] extents = System.Linq.Enumerable.ToArray(content.GetExtents());
        using var all = new MemoryStream();
        foreach (StreamExtent e in extents)
        {
            byte[] b = new byte[e.Length];
            content.ReadAt(e.Start, b);
            all.Write(b);
        }
        return (extents, all.ToArray());
    }
}
