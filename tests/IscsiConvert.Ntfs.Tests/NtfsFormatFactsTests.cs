using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using IscsiConvert.Ntfs.Format;
using CsCheck;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// The fixed tables a new volume gets, checked against a volume formatted by Windows (testdata
/// disks/qcow2/windows_volume.qcow2, read through sleuthkit's icat and fsstat): the $UpCase table byte for byte,
/// the $AttrDef table as fsstat lists it, and the descriptor hash of $SDS against the hashes Windows stored.
/// </summary>
public sealed class NtfsFormatFactsTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private string WindowsVolume()
    {
        string raw = _tmp.File("windows.raw");
        QemuImg.ConvertToRaw(TestData.Require("disks/qcow2/windows_volume.qcow2"), "qcow2", raw);
        return raw;
    }

    [Fact]
    public void UpCase_IsTheTableWindowsWrites()
    {
        byte[] windows = IcatBytes(WindowsVolume(), "10");
        Assert.Equal(131072, windows.Length);
        Assert.Equal(windows, UpCaseGenerator.Build());
    }

    [Theory]
    [InlineData("disks/qcow2/windows_volume.qcow2", "qcow2", 0L)]
    [InlineData("disks/vmdk/monolithicSparse.vmdk", "vmdk", 128L * 512)]
    public void BootSector_ParameterBlock_IsLaidOutAsWindowsLaysItOut(string relative, string format, long partitionOffset)
    {
        string raw = _tmp.File("disk.raw");
        QemuImg.ConvertToRaw(TestData.Require(relative), format, raw);
        byte[] windows = new byte[512];
        using (var f = File.OpenRead(raw))
        {
            f.Position = partitionOffset;
            f.ReadExactly(windows);
        }
        NtfsBootSector parsed = NtfsBootSector.ReadFrom(windows, new FileInfo(raw).Length - partitionOffset, raw);
        byte[] ours = NtfsBootSector.Encode(parsed.BytesPerSector, parsed.ClusterSize, parsed.TotalSectors, parsed.MftLcn, parsed.MftMirrLcn,
            parsed.MftRecordSize, parsed.IndexRecordSize, parsed.SerialNumber, BinaryPrimitives.ReadUInt32LittleEndian(windows.AsSpan(0x1C)));

        // Jump, OEM id and the whole BIOS parameter block up to the boot code; and the end signature.
        Assert.Equal(Convert.ToHexString(windows, 0, 0x54), Convert.ToHexString(ours, 0, 0x54));
        Assert.Equal(Convert.ToHexString(windows, 0x1FE, 2), Convert.ToHexString(ours, 0x1FE, 2));
    }

    [Fact]
    public void AttrDef_ListsAsOnAWindowsVolume()
    {
        string ours = NtfsFormatTests.FormatImage(_tmp, "v.img", 16L << 20);
        Assert.Equal(AttrDefSection(WindowsVolume()), AttrDefSection(ours));
        Assert.Equal(IcatBytes(WindowsVolume(), "4"), IcatBytes(ours, "4"));
    }

    [Fact]
    public void ExtendIndexes_AreTheOnesWindowsCreates()
    {
        string windows = WindowsVolume();
        string ours = NtfsFormatTests.FormatImage(_tmp, "v.img", 16L << 20);

        // $Quota:$O (Administrators' SID → owner id 0x100), $ObjId:$O and $Reparse:$R byte for byte.
        foreach (string attribute in new[] { "24-144-3", "25-144-2", "26-144-2" })
        {
            Assert.Equal(IcatBytes(windows, attribute), IcatBytes(ours, attribute));
        }

        // $Quota:$Q (the defaults entry and Administrators' entry), apart from the two entries' change times.
        byte[] expected = IcatBytes(windows, "24-144-2");
        byte[] actual = IcatBytes(ours, "24-144-2");
        Assert.Equal(208, expected.Length);
        foreach (int changeTime in new[] { 0x44, 0x8C })
        {
            expected.AsSpan(changeTime, 8).Clear();
            actual.AsSpan(changeTime, 8).Clear();
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void DescriptorHash_MatchesTheHashesWindowsStoredInSds()
    {
        byte[] sds = IcatBytes(WindowsVolume(), "9-128-2");
        int checkedEntries = 0;
        for (int pos = 0; pos + 20 <= 256 * 1024 && pos + 20 <= sds.Length;)
        {
            uint hash = BinaryPrimitives.ReadUInt32LittleEndian(sds.AsSpan(pos));
            long self = BinaryPrimitives.ReadInt64LittleEndian(sds.AsSpan(pos + 8));
            int length = BinaryPrimitives.ReadInt32LittleEndian(sds.AsSpan(pos + 16));
            if (self != pos || length < 20)
            {
                break;
            }
            Assert.Equal(hash, SecurityDescriptorHeader.ComputeHash(sds.AsSpan(pos + 20, length - 20)));
            checkedEntries++;
            pos += (length + 15) & ~15;
        }
        Assert.True(checkedEntries >= 2, $"only {checkedEntries} $SDS entries found");
    }

    [Fact]
    public void RootDescriptor_IsReadBackThroughSecureAndNtfs3g()
    {
        string image = NtfsFormatTests.FormatImage(_tmp, "v.img", 16L << 20);
        using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
        using var volume = NtfsVolume.Open(stream);
        Assert.Equal(SecurityDescriptors.RootDirectory(), volume.GetSecurityDescriptor("\\"));
        Assert.Equal(0x102u, volume.GetEntry("\\").SecurityId);

        // ntfssecaudit (ntfs-3g) checks every $SDS entry against $SII and $SDH, hashes included.
        string audit = Oracle.RunChecked("ntfssecaudit", "-a", image);
        Assert.Contains("3 valid entries in $SDH", audit, StringComparison.Ordinal);
        Assert.Contains("All keys are present in all lists", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("error", audit.Replace("No errors were found", string.Empty, StringComparison.Ordinal).Replace("0 errors in", string.Empty, StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
        string root = Oracle.RunChecked("ntfssecaudit", "-v", image, "/");
        Assert.Contains("Security key : 0x102", root, StringComparison.Ordinal);
    }

    private static string AttrDefSection(string image)
    {
        string fsstat = Oracle.RunChecked("fsstat", image);
        return fsstat.Substring(fsstat.IndexOf("$AttrDef Attribute Values:", StringComparison.Ordinal));
    }

    private static byte[] IcatBytes(string image, string inode)
    {
        var psi = new ProcessStartInfo(Oracle.Require("icat"))
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(image);
        psi.ArgumentList.Add(inode);
        using var process = Process.Start(psi)!;
        using var buffer = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(buffer);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return buffer.ToArray();
    }
}

/// <summary>Random volume sizes, cluster sizes and sector sizes, each formatted and checked by ntfsfix -n, ntfsresize's
/// cluster accounting and fsstat.</summary>
public sealed class NtfsFormatPropertyTests
{
    [Fact]
    public void AnySizeAndClusterSize_FormatsAVolumeThatNtfsfixAndFsstatAccept()
    {
        var gen = Gen.Select(
            Gen.Long[3L << 20, 200L << 20],
            Gen.Int[9, 16],
            Gen.Bool);
        gen.Sample((size, clusterLog, fourKn) =>
        {
            int sector = fourKn ? 4096 : 512;
            int cluster = Math.Max(1 << clusterLog, sector);
            var options = new NtfsFormatOptions { Label = "prop", ClusterSize = cluster, BytesPerSector = sector, SerialNumber = (ulong)size };
            using var tmp = new TempDir();
            try
            {
                NtfsFormatter.Plan(size, options);
            }
            catch (ArgumentException)
            {
                return; // too small for these clusters: refused before anything is written
            }
            string image = NtfsFormatTests.FormatImage(tmp, "p.img", size, options);
            NtfsFormatTests.AssertNtfsfixClean(image);
            NtfsFormatTests.AssertClusterAccounting(image);
            NtfsFormatTests.AssertFsstat(image, cluster, "prop", sector);
            using var stream = new FileStream(image, FileMode.Open, FileAccess.Read);
            using var volume = NtfsVolume.Open(stream);
            Assert.Empty(volume.Verify());
        }, iter: 6, threads: 1);
    }
}
