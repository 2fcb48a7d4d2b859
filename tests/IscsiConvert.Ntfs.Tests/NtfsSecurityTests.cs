using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>Security ids and descriptors against istat, which prints each file's security id and the owner SID of the
/// descriptor it names in $Secure.</summary>
[Collection(NtfsCorpusCollection.Name)]
public class NtfsSecurityTests
{
    private readonly NtfsCorpusFixture _images;

    public NtfsSecurityTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    [Theory]
    [InlineData("ntfs/ntfs-lastaccess.raw.gz", 128L)]
    [InlineData("disks/vmdk/monolithicSparse.vmdk", 128L)]
    [InlineData("disks/qcow2/windows_volume.qcow2", 0L)]
    [InlineData("ntfs/testfs1", 0L)]
    public void SecurityIdsAndOwners_EqualIstat(string image, long sectorOffset)
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
        NtfsVolume volume = opened.Volume;
        string raw = _images.Raw(image);
        var sample = NtfsCorpusTests.Walk(volume).Values.Where(e => !e.Name.StartsWith('$')).Take(20).ToList();
        sample.Add(volume.GetEntry(@"\$Volume"));
        int owners = 0;
        foreach (NtfsEntry e in sample)
        {
            string[] args = sectorOffset > 0
                ? new[] { "-o", sectorOffset.ToString(CultureInfo.InvariantCulture), raw, e.MftRecordNumber.ToString(CultureInfo.InvariantCulture) }
                : new[] { raw, e.MftRecordNumber.ToString(CultureInfo.InvariantCulture) };
            string istat = Oracle.RunChecked("istat", args);
            Match m = Regex.Match(istat, @"Security ID: (\d+)\s+\((.*)\)");
            Assert.True(m.Success, istat);
            Assert.True(uint.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == e.SecurityId, $"{e.Path}: istat {m.Groups[1].Value}, ours {e.SecurityId}");
            byte[]? descriptor = volume.GetSecurityDescriptor(e.Path);
            Assert.True(descriptor is not null, e.Path);
            Assert.Equal(1, descriptor![0]); // revision
            Assert.True((BinaryPrimitives.ReadUInt16LittleEndian(descriptor.AsSpan(2)) & 0x8000) != 0, "self-relative");
            if (m.Groups[2].Value.Length > 0)
            {
                Assert.Equal(m.Groups[2].Value, OwnerSid(descriptor));
                owners++;
            }
        }
        // istat resolves the owner SID on the Windows 10 sample only (it prints "()" for the others); there it must match.
        if (image == "ntfs/ntfs-lastaccess.raw.gz")
        {
            Assert.True(owners > 2, $"only {owners} owners compared");
        }
    }

    // Test-side decoding: owner offset at 4; SID = revision, sub-authority count, 48-bit big-endian authority, sub-authorities.
    private static string OwnerSid(byte[] sd)
    {
        int at = (int)BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(4));
        int count = sd[at + 1];
        long authority = 0;
        for (int i = 0; i < 6; i++)
        {
            authority = (authority << 8) | sd[at + 2 + i];
        }
        var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"S-{sd[at]}-{authority}"));
        for (int i = 0; i < count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"-{BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(at + 8 + (4 * i)))}");
        }
        return sb.ToString();
    }
}
