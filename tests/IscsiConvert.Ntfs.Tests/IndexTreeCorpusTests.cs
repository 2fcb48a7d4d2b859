using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Ntfs.Internal;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// The index editor over directory indexes written by Windows and by ntfs-3g: it lists the names sleuthkit's fls
/// lists, the trees as found satisfy the rules the editor keeps, and removing and re-inserting half of the entries
/// (all in memory; the image is never written) keeps every rule and the listing.
/// </summary>
[Collection(NtfsCorpusCollection.Name)]
public class IndexTreeCorpusTests
{
    private readonly NtfsCorpusFixture _images;

    public IndexTreeCorpusTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    [Theory]
    [InlineData("ntfs/testfs1", 0, "many_subdirs")]
    [InlineData("ntfs/testfs1", 0, "")]
    [InlineData("ntfs/ntfs-lastaccess.raw.gz", 128, "")]
    [InlineData("disks/qcow2/windows_volume.qcow2", 0, "")]
    public void RealDirectoryIndex_ListsAsFls_AndSurvivesEdits(string image, long sectorOffset, string directory)
    {
        using OpenedVolume opened = OpenedVolume.Open(_images.ImagePath(image));
        MasterFileTable mft = opened.Volume.Mft;
        long clusterSize = opened.Volume.ClusterSize;
        long record = directory.Length == 0 ? 5 : opened.Volume.GetEntry("\\" + directory).MftRecordNumber;
        NtfsFile dir = mft.GetFile(record);
        NtfsFile upcaseFile = mft.GetFile(10);
        var upcase = new UpCaseTable(mft.ReadAll(upcaseFile.Find(AttributeType.Data)!));

        byte[] rootValue = dir.Find(AttributeType.IndexRoot, "$I30")!.Value;
        IndexRoot header = IndexRoot.ReadFrom(rootValue, "root", 0, null);
        int recordSize = header.IndexRecordSize;
        long vcnUnit = recordSize >= clusterSize ? clusterSize : 512;
        int vcnsPerRecord = (int)(recordSize / vcnUnit);
        AttributeRecord? allocation = dir.Find(AttributeType.IndexAllocation, "$I30");
        AttributeRecord? bitmapAttribute = dir.Find(AttributeType.Bitmap, "$I30");
        Assert.True(allocation is not null && bitmapAttribute is not null, "the directory should have INDX records");
        byte[] bitmapBytes = mft.ReadAll(bitmapAttribute!);
        int records = (int)(allocation!.DataSize / recordSize);
        bool[] bitmap = Enumerable.Range(0, records).Select(i => (bitmapBytes[i / 8] & (1 << (i % 8))) != 0).ToArray();
        var indx = new Dictionary<long, byte[]>();
        using (AttributeStream stream = mft.OpenAttribute(allocation))
        {
            for (int i = 0; i < records; i++)
            {
                if (bitmap[i])
                {
                    byte[] data = new byte[recordSize];
                    stream.ReadAt((long)i * recordSize, data);
                    indx[(long)i * vcnsPerRecord] = data;

                    // The node layout the encoder uses is the one found on disk: the allocated size always; the entries
                    // offset is the encoder's 0x28 on the mkntfs and Vista-era volumes, while Windows 10 (18348) leaves
                    // 24 more bytes and starts the entries at 0x40. Readers follow the stored offset either way.
                    int entriesOffset = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(0x18));
                    Assert.True(entriesOffset == IndexRecord.EntriesOffset(recordSize) || entriesOffset == 0x40, $"entries offset 0x{entriesOffset:X}");
                    Assert.Equal(IndexRecord.Capacity(recordSize), BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(0x20)));
                }
            }
        }

        List<IndexEntry> rootEntries = IndexNode.ReadEntries(rootValue, IndexRoot.NodeHeaderOffset, "root", 0, null);
        int maxRoot = Math.Max(IndexNode.NodeSize(rootEntries), 300);
        var h = new IndexTreeTests.Harness(recordSize, vcnsPerRecord, maxRoot, rootValue, indx, bitmap, upcase);

        // As found: the names fls lists (a file with only named streams, like $Secure, shows as path:stream; DOS aliases
        // are separate index entries that fls folds away).
        List<IndexEntry> entries = h.Tree.Enumerate().ToList();
        var ours = entries.Where(e => e.Key!.Namespace != FileNameAttribute.NamespaceDos && e.Key.Name != ".").Select(e => e.Key!.Name).ToList();
        string prefix = directory.Length == 0 ? string.Empty : directory + "/";
        var fls = SleuthKit.Fls(_images.Raw(image), sectorOffset)
            .Where(e => e.Path.StartsWith(prefix, StringComparison.Ordinal) && e.Path.IndexOf('/', prefix.Length) < 0)
            .Select(e => e.Path.Substring(prefix.Length)).Distinct().ToList();
        Assert.Equal(fls.OrderBy(n => n, StringComparer.Ordinal), ours.OrderBy(n => n, StringComparer.Ordinal));
        List<string> all = h.CheckAndList(out int depth);
        Assert.Equal(entries.Select(e => e.Key!.Name), all);

        // Remove every other entry, then put them back; the rules hold after every step.
        var removed = entries.Where((_, i) => i % 2 == 0).ToList();
        foreach (IndexEntry e in removed)
        {
            Assert.True(h.Tree.Remove(e));
            h.Persist();
            h.CheckAndList(out _);
        }
        Assert.Equal(entries.Where((_, i) => i % 2 == 1).Select(e => e.Key!.Name), h.CheckAndList(out _));
        foreach (IndexEntry e in removed.AsEnumerable().Reverse())
        {
            h.Tree.Insert(e);
            h.Persist();
            h.CheckAndList(out _);
        }
        Assert.Equal(all, h.CheckAndList(out _));
        h.Reopen();
        Assert.True(h.Tree.Enumerate().Select(e => e.Reference).SequenceEqual(entries.Select(e => e.Reference)));
        Assert.True(depth >= 1);
    }
}
