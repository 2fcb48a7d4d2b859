using System;
using System.Buffers.Binary;
using System.Linq;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Ntfs.Internal;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// The encoders the writer will use, checked against what Windows and mkntfs wrote: re-protecting every MFT record
/// with its own update sequence number gives back the bytes on disk, and re-encoding every runlist gives back the
/// mapping pairs on disk, byte for byte.
/// </summary>
[Collection(NtfsCorpusCollection.Name)]
public class NtfsEncodingRoundTripTests
{
    private readonly NtfsCorpusFixture _images;

    public NtfsEncodingRoundTripTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    [Theory]
    [InlineData("ntfs/testfs1")]
    [InlineData("ntfs/ntfs-lastaccess.raw.gz")]
    [InlineData("ntfs/ntfs-2m.raw.gz")]
    [InlineData("disks/qcow2/windows_volume.qcow2")]
    [InlineData("disks/vmdk/monolithicSparse.vmdk")]
    public void FixupsAndRunlists_ReencodeToTheBytesOnDisk(string image)
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
        MasterFileTable mft = opened.Volume.Mft;
        int size = opened.Volume.MftRecordSize;
        int records = 0;
        int runlists = 0;
        for (long r = 0; r < mft.RecordCount; r++)
        {
            byte[] raw = new byte[size];
            mft.ReadRawRecord(r, raw);
            if (!FileRecord.HasSignature(raw))
            {
                continue;
            }
            byte[] work = (byte[])raw.Clone();
            FileRecord parsed = FileRecord.ReadFrom(work, r, -1, opened.Volume.TotalClusters, null);
            byte[] fixedUp = (byte[])work.Clone();

            ushort usn = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(4))));
            UpdateSequence.Protect(work, usn);
            Assert.True(raw.AsSpan().SequenceEqual(work), $"record {r}: fixups do not round-trip");
            records++;

            // Walk the fixed-up record's attribute headers independently and compare each runlist.
            int p = BinaryPrimitives.ReadUInt16LittleEndian(fixedUp.AsSpan(0x14));
            foreach (AttributeRecord attribute in parsed.Attributes)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(fixedUp.AsSpan(p + 4));
                if (!attribute.IsResident)
                {
                    int runs = p + BinaryPrimitives.ReadUInt16LittleEndian(fixedUp.AsSpan(p + 0x20));
                    byte[] encoded = RunList.Encode(attribute.Runs.ToList());
                    // The whole runlist on disk, up to and including its 0 terminator, found from the run headers
                    // (low nibble: bytes of length, high nibble: bytes of offset), not only as many bytes as we encode.
                    int end = runs;
                    while (end < p + length && fixedUp[end] != 0)
                    {
                        end += 1 + (fixedUp[end] & 0xF) + (fixedUp[end] >> 4);
                    }
                    Assert.True(end < p + length, $"record {r} attribute 0x{attribute.Type:X}: the runlist has no terminator inside the attribute");
                    byte[] onDisk = fixedUp.AsSpan(runs, end + 1 - runs).ToArray();
                    Assert.True(onDisk.AsSpan().SequenceEqual(encoded),
                        $"record {r} attribute 0x{attribute.Type:X}: on disk {Convert.ToHexString(onDisk)}, encoded {Convert.ToHexString(encoded)}");
                    runlists++;
                }
                p += length;
            }
        }
        Assert.True(records > 20 && runlists > 10, $"{records} records, {runlists} runlists");
    }
}
