using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Verify: clean on every corpus volume (each passes ntfsfix -n / fsstat per the manifest), and on damaged copies it
/// finds what sleuthkit and ntfs-3g see: a $MFTMirr mismatch (ntfsfix -n names the record), a run into a cluster that
/// blkstat calls "Not Allocated", and a run into a cluster istat lists for $MFT (cross-link).
/// </summary>
[Collection(NtfsCorpusCollection.Name)]
public class NtfsVerifyTests
{
    private readonly NtfsCorpusFixture _images;

    public NtfsVerifyTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    [Theory]
    [InlineData("ntfs/testfs1")]
    [InlineData("ntfs/ntfs-lastaccess.raw.gz")]
    [InlineData("ntfs/ntfs-ptrn.raw.gz")]
    [InlineData("ntfs/ntfs-2m.raw.gz")]
    [InlineData("disks/qcow2/windows_volume.qcow2")]
    [InlineData("disks/vmdk/monolithicSparse.vmdk")]
    public void CorpusVolumes_VerifyClean(string image)
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
        IReadOnlyList<NtfsProblem> problems = opened.Volume.Verify();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void MirrorMismatch_IsFound_AsNtfsfixFindsIt()
    {
        using var tmp = new TempDir();
        string copy = tmp.File("mirror.raw");
        File.Copy(TestData.Require("ntfs/testfs1"), copy);
        NtfsPatch.SetBits(copy, NtfsPatch.VolumeFlagsOffsets(copy)[0], 0x01); // $MFT's record 3 only
        ToolResult fix = Oracle.Run("ntfsfix", "-n", copy);
        Assert.Contains("$MFTMirr does not match $MFT (record 3)", fix.StdOut + fix.StdErr, StringComparison.Ordinal);

        using OpenedVolume opened = OpenedVolume.Open(copy);
        NtfsProblem problem = Assert.Single(opened.Volume.Verify());
        Assert.Equal(3, problem.RecordNumber);
        Assert.Contains("$MFTMirr", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunIntoAFreeCluster_AndIntoAnotherFile_AreFound()
    {
        string original = TestData.Require("ntfs/testfs1");
        long free = Enumerable.Range(3000, 1000).First(c => Oracle.RunChecked("blkstat", original, c.ToString(CultureInfo.InvariantCulture)).Contains("Not Allocated", StringComparison.Ordinal));
        string mftIstat = Oracle.RunChecked("istat", original, "0");
        long mftCluster = long.Parse(mftIstat.Substring(mftIstat.IndexOf("$DATA (128-1)", StringComparison.Ordinal)).Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);

        foreach ((long target, string expected) in new[] { (free, "free in $Bitmap"), (mftCluster, "cross-linked") })
        {
            byte[] image = File.ReadAllBytes(original);
            int runs = RunListOf1000BytesFile(image);
            int lengthSize = image[runs] & 0xF;
            int offsetSize = image[runs] >> 4;
            Assert.Equal(2, offsetSize);
            Assert.True((runs % 512) + 1 + lengthSize + offsetSize <= 510);
            BinaryPrimitives.WriteInt16LittleEndian(image.AsSpan(runs + 1 + lengthSize), checked((short)target));
            using var volume = NtfsVolume.Open(new MemoryStream(image, writable: false));
            IReadOnlyList<NtfsProblem> problems = volume.Verify();
            Assert.Contains(problems, p => p.RecordNumber == 66 && p.Message.Contains($"cluster {target} ", StringComparison.Ordinal) && p.Message.Contains(expected, StringComparison.Ordinal));
        }
    }

    private static int RunListOf1000BytesFile(byte[] image)
    {
        for (int at = 0; at + 1024 <= image.Length; at += 512)
        {
            if (image.AsSpan(at, 4).SequenceEqual("FILE"u8) && BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(at + 0x2C)) == 66)
            {
                int p = at + BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(at + 0x14));
                while (BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(p)) != 0x80)
                {
                    p += (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(p + 4));
                }
                return p + BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(p + 0x20));
            }
        }
        throw new InvalidOperationException("record 66 not found");
    }
}
