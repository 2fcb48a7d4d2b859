using System;
using System.Buffers.Binary;
using System.IO;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// CheckWritable on copies of corpus volumes made dirty, unclean or hibernated by patching bytes. ntfs-3g is the
/// oracle: its read-write open (ntfscp) refuses the same copies for the same reason, and accepts the clean originals.
/// </summary>
[Collection(NtfsCorpusCollection.Name)]
public class NtfsWriteSafetyTests
{
    private readonly NtfsCorpusFixture _images;

    public NtfsWriteSafetyTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    [Theory]
    [InlineData("ntfs/testfs1", 0L)]
    [InlineData("ntfs/ntfs-lastaccess.raw.gz", 128L * 512)]
    [InlineData("disks/qcow2/windows_volume.qcow2", 0L)]
    [InlineData("ntfs/ntfs-2m.raw.gz", 128L * 512)]
    public void CleanVolumes_AreWritable_AsNtfs3gAgrees(string image, long offset)
    {
        using var tmp = new TempDir();
        string copy = tmp.File("v.raw");
        NtfsPatch.SparseCopy(offset > 0 ? _images.Extract(image, offset) : _images.Raw(image), copy);
        Open(copy, v => v.CheckWritable());
        File.WriteAllBytes(tmp.File("probe"), new byte[] { 1, 2, 3 });
        Oracle.RunChecked("ntfscp", copy, tmp.File("probe"), "/probe.bin");
    }

    [Fact]
    public void DirtyVolume_IsRefused_AndLeftUnchanged()
    {
        using var tmp = new TempDir();
        string copy = tmp.File("dirty.raw");
        File.Copy(TestData.Require("ntfs/testfs1"), copy);
        foreach (long at in NtfsPatch.VolumeFlagsOffsets(copy))
        {
            NtfsPatch.SetBits(copy, at, 0x01);
        }
        string before = NtfsPatch.Sha256(copy);
        var ex = Open(copy, v =>
        {
            Assert.True(v.IsDirty);
            return Assert.Throws<UnsafeToWriteException>(() => v.CheckWritable());
        });
        Assert.Contains("dirty", ex.Message, StringComparison.Ordinal);
        Assert.Contains("chkdsk", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, NtfsPatch.Sha256(copy));
        AssertWritableOpenRefused(copy, "dirty");

        // ntfs-3g refuses it for the same reason.
        File.WriteAllBytes(tmp.File("probe"), new byte[] { 1 });
        ToolResult r = Oracle.Run("ntfscp", copy, tmp.File("probe"), "/probe.bin");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("scheduled for check", r.StdErr + r.StdOut, StringComparison.Ordinal);
        ToolResult fix = Oracle.Run("ntfsfix", "-n", copy);
        Assert.Contains("NTFS partition", fix.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void UncleanLogFile_IsRefused_AndLeftUnchanged()
    {
        using var tmp = new TempDir();
        string copy = tmp.File("unclean.raw");
        NtfsPatch.SparseCopy(_images.Extract("ntfs/ntfs-lastaccess.raw.gz", 128 * 512), copy);
        long log = NtfsPatch.LogFileOffset(copy);

        // Both restart pages: client in-use list 0 (a client is active) and the clean flag cleared.
        foreach (long page in new[] { log, log + 4096 })
        {
            byte[] header;
            using (var f = File.OpenRead(copy))
            {
                header = NtfsPatch.Read(f, page, 0x20);
            }
            Assert.Equal("RSTR"u8.ToArray(), header.AsSpan(0, 4).ToArray());
            int area = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x18));
            NtfsPatch.Write(copy, page + area + 0x0C, new byte[] { 0, 0, 0, 0 });
        }
        string before = NtfsPatch.Sha256(copy);
        var ex = Open(copy, v =>
        {
            Assert.False(v.IsDirty);
            return Assert.Throws<UnsafeToWriteException>(() => v.CheckWritable());
        });
        Assert.Contains("$LogFile", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Fast Startup", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, NtfsPatch.Sha256(copy));
        AssertWritableOpenRefused(copy, "$LogFile");

        File.WriteAllBytes(tmp.File("probe"), new byte[] { 1 });
        ToolResult r = Oracle.Run("ntfscp", copy, tmp.File("probe"), "/probe.bin");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("unclean", r.StdErr + r.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HIBR", true)]
    [InlineData("hibr", true)]
    [InlineData("WAKE", true)]
    [InlineData("wake", true)]
    [InlineData("\0\0\0\0", false)]
    public void Hiberfil_WithActiveSignature_IsRefused(string signature, bool refused)
    {
        using var tmp = new TempDir();
        string copy = tmp.File("hiber.raw");
        File.Copy(TestData.Require("ntfs/testfs1"), copy);
        byte[] hiberfil = new byte[8192];
        System.Text.Encoding.ASCII.GetBytes(signature).CopyTo(hiberfil, 0);
        File.WriteAllBytes(tmp.File("hiberfil.sys"), hiberfil);

        // ntfs-3g writes the file; reading it back through ntfscat shows it landed.
        Oracle.RunChecked("ntfscp", copy, tmp.File("hiberfil.sys"), "/hiberfil.sys");
        (int code, string sha, long length) = BinaryOracle.Sha256Of("ntfscat", copy, "/hiberfil.sys");
        Assert.Equal(0, code);
        Assert.Equal(hiberfil.Length, length);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(hiberfil)), sha);

        string before = NtfsPatch.Sha256(copy);
        Open(copy, v =>
        {
            if (refused)
            {
                var ex = Assert.Throws<UnsafeToWriteException>(() => v.CheckWritable());
                Assert.Contains("hibernat", ex.Message, StringComparison.Ordinal);
                Assert.Contains("Fast Startup", ex.Message, StringComparison.Ordinal);
            }
            else
            {
                v.CheckWritable();
            }
        });
        Assert.Equal(before, NtfsPatch.Sha256(copy));
        if (refused)
        {
            AssertWritableOpenRefused(copy, "hibernat");
        }

        // ntfs-3g refuses a read-write open of a hibernated volume as well.
        if (refused && signature.Equals("hibr", StringComparison.OrdinalIgnoreCase))
        {
            ToolResult r = Oracle.Run("ntfscp", copy, tmp.File("hiberfil.sys"), "/other.bin");
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("hibernat", r.StdErr + r.StdOut, StringComparison.OrdinalIgnoreCase);
        }
    }

    // Opening for writing checks first and refuses; the image is byte-for-byte what it was.
    private static void AssertWritableOpenRefused(string path, string reason)
    {
        string before = NtfsPatch.Sha256(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            var ex = Assert.Throws<UnsafeToWriteException>(() => NtfsVolume.Open(stream, new NtfsOpenOptions { Writable = true, LeaveOpen = true, FilePath = path }));
            Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, NtfsPatch.Sha256(path));
    }

    private static void Open(string path, Action<NtfsVolume> action) => Open<int>(path, v =>
    {
        action(v);
        return 0;
    });

    private static T Open<T>(string path, Func<NtfsVolume, T> action)
    {
        using OpenedVolume opened = OpenedVolume.Open(path);
        return action(opened.Volume);
    }
}
