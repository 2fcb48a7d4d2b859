using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;
using Xunit;

namespace IscsiConvert.Tests.Partitions;

public class MbrReadTests
{
    private const string MixedScript = "label: dos\nlabel-id: 0x5eed1234\n,8M,c,*\n,6M,83\n,36M,{0}\n,4M,8e\n,4M,7\n,3M,82\n,5M,83\n,2M,b\n,4M,27\n";

    [Theory]
    [InlineData("5")]
    [InlineData("f")]
    [InlineData("85")]
    public void ExtendedWithLogicalPartitions_MatchesSfdiskAndMmls(string extendedType)
    {
        using var tmp = new TempDir();
        string path = PartitionOracles.BlankDisk(tmp, "mbr.img", 64L << 20);
        PartitionOracles.Sfdisk(path, string.Format(CultureInfo.InvariantCulture, MixedScript, extendedType));

        SfdiskTable expected = PartitionOracles.SfdiskJson(path);
        using VirtualDisk disk = DiskImage.Open(path);
        PartitionTable table = PartitionTable.Read(disk)!;

        Assert.Equal("dos", expected.Label);
        Assert.Equal(PartitionScheme.Mbr, table.Scheme);
        Assert.Equal(Convert.ToUInt32(expected.Id, 16), table.DiskSignature);
        Assert.Empty(table.Warnings);
        Assert.Equal(expected.Partitions.Count, table.Partitions.Count);
        Assert.Equal(9, table.Partitions.Count); // 3 primary + extended + 5 logical, as written
        foreach (SfdiskPartition e in expected.Partitions)
        {
            PartitionInfo p = Assert.Single(table.Partitions, q => q.Index == e.Index);
            Assert.Equal(e.Start, p.FirstSector);
            Assert.Equal(e.Size, p.SectorCount);
            Assert.Equal(e.Start * 512, p.Start);
            Assert.Equal(Convert.ToByte(e.Type, 16), p.MbrType);
            Assert.Equal(e.Bootable, p.Bootable);
            Assert.Equal(e.Index >= 5, p.IsLogical);
            Assert.Null(p.TypeGuid);
        }

        // mmls lists real partitions (not the extended containers) with their type byte in the description.
        var mmls = PartitionOracles.Mmls(path);
        var ours = table.Partitions.Where(p => p.Kind != PartitionKind.Extended).OrderBy(p => p.FirstSector).ToList();
        Assert.Equal(mmls.Count, ours.Count);
        for (int i = 0; i < ours.Count; i++)
        {
            Assert.Equal(mmls[i].Start, ours[i].FirstSector);
            Assert.Equal(mmls[i].Length, ours[i].SectorCount);
            Assert.EndsWith($"(0x{ours[i].MbrType:x2})", mmls[i].Description, StringComparison.Ordinal);
        }

        Assert.Equal(PartitionKind.Fat, table.Partitions.Single(p => p.Index == 1).Kind);
        Assert.Equal(PartitionKind.Extended, table.Partitions.Single(p => p.Index == 3).Kind);
        Assert.Equal(PartitionKind.LinuxLvm, table.Partitions.Single(p => p.Index == 4).Kind);
        Assert.Equal(PartitionKind.Ntfs, table.Partitions.Single(p => p.Index == 5).Kind);
        Assert.Equal(PartitionKind.WindowsRecovery, table.Partitions.Single(p => p.Index == 9).Kind);
    }

    [Fact]
    public void WindowsFormattedNtfsDisk_MatchesManifestMmlsAndSfdisk_AndProbesNtfs()
    {
        using var tmp = new TempDir();
        string path = TestData.Gunzip("ntfs/ntfs-lastaccess.raw.gz", tmp.Path);
        using VirtualDisk disk = DiskImage.Open(path);
        PartitionTable table = PartitionTable.Read(disk)!;

        SfdiskTable expected = PartitionOracles.SfdiskJson(path);
        PartitionInfo p = Assert.Single(table.Partitions);
        SfdiskPartition e = Assert.Single(expected.Partitions);
        Assert.Equal(128, p.FirstSector); // MANIFEST: NTFS at sector 128
        Assert.Equal(e.Start, p.FirstSector);
        Assert.Equal(e.Size, p.SectorCount);
        Assert.Equal((byte)0x07, p.MbrType);
        Assert.Equal(PartitionKind.Ntfs, p.Kind);
        Assert.Equal(Convert.ToUInt32(expected.Id, 16), table.DiskSignature);

        MmlsRow row = Assert.Single(PartitionOracles.Mmls(path));
        Assert.Equal((row.Start, row.Length), (p.FirstSector, p.SectorCount));
        Assert.Equal("NTFS / exFAT (0x07)", row.Description);

        using SparseStream volume = p.Open();
        Assert.Equal(p.Length, volume.Length);
        DetectedFileSystem? fs = FileSystemProbe.Detect(volume);
        Assert.Equal("NTFS", fs?.Name);
        string fsstat = Oracle.RunChecked("fsstat", "-o", "128", path);
        Assert.Contains("File System Type: NTFS", fsstat, StringComparison.Ordinal);
    }

    [Fact]
    public void EbrChainThatLoops_IsCorruptDataNamingTheEbr()
    {
        using var tmp = new TempDir();
        string path = PartitionOracles.BlankDisk(tmp, "loop.img", 64L << 20);
        // sfdisk fills the primary slots first: 3 and 4 are primary, 5..7 logical.
        PartitionOracles.Sfdisk(path, "label: dos\n,4M,83\n,30M,5\n,4M,83\n,4M,83\n,4M,83\n,4M,83\n,4M,83\n");
        Assert.Equal(7, PartitionOracles.SfdiskJson(path).Partitions.Count);

        // Make the last EBR link back to the first one (relative sector 0 of the extended partition).
        long extStart = PartitionOracles.SfdiskJson(path).Partitions.Single(p => p.Index == 2).Start;
        long ebr = extStart;
        for (int hop = 0; hop < 2; hop++)
        {
            byte[] sector = PartitionOracles.ReadBytes(path, ebr * 512, 512);
            ebr = extStart + BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(446 + 16 + 8));
        }
        byte[] link = PartitionOracles.ReadBytes(path, (ebr * 512) + 446 + 16, 16);
        link[4] = 0x05;
        BinaryPrimitives.WriteUInt32LittleEndian(link.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(link.AsSpan(12), 2048);
        PartitionOracles.Patch(path, (ebr * 512) + 446 + 16, link);

        using VirtualDisk disk = DiskImage.Open(path);
        var ex = Assert.Throws<CorruptDataException>(() => PartitionTable.Read(disk));
        Assert.Equal("MBR", ex.Format);
        Assert.StartsWith("EBR", ex.Structure, StringComparison.Ordinal);
        Assert.Equal(extStart * 512, ex.Offset);
        Assert.Contains("loops", ex.Problem, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VeryLongEbrChain_IsBounded()
    {
        // 300 chained EBRs, each with a one-sector logical partition: more than any system allows (Linux stops at 256 partitions).
        using var tmp = new TempDir();
        string path = PartitionOracles.BlankDisk(tmp, "long.img", 8L << 20);
        byte[] mbr = new byte[512];
        WriteEntry(mbr, 0, 0x05, 2048, 4096);
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        PartitionOracles.Patch(path, 0, mbr);
        for (int i = 0; i < 300; i++)
        {
            byte[] ebr = new byte[512];
            WriteEntry(ebr, 0, 0x83, 1, 1);
            WriteEntry(ebr, 1, 0x05, (uint)((i + 1) * 2), 2);
            ebr[510] = 0x55;
            ebr[511] = 0xAA;
            PartitionOracles.Patch(path, (2048 + (i * 2)) * 512L, ebr);
        }
        using VirtualDisk disk = DiskImage.Open(path);
        var ex = Assert.Throws<CorruptDataException>(() => PartitionTable.Read(disk));
        Assert.Contains("more than 256", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void BlankDiskAndBareVolumes_HaveNoTable_AsBlkidAgrees()
    {
        using var tmp = new TempDir();
        string blank = PartitionOracles.BlankDisk(tmp, "blank.img", 8L << 20);
        string ntfs = PartitionOracles.BlankDisk(tmp, "ntfs.img", 8L << 20);
        Oracle.RunChecked("mkntfs", "-F", "-Q", "-L", "bare", ntfs);
        string fat = PartitionOracles.BlankDisk(tmp, "fat.img", 8L << 20);
        Oracle.Require("mkfs.vfat");
        Oracle.RunChecked("mkfs.vfat", "-n", "BARE", fat);
        foreach (string path in new[] { blank, ntfs, fat })
        {
            Assert.False(PartitionOracles.Blkid(path).ContainsKey("PTTYPE"), path);
            using VirtualDisk disk = DiskImage.Open(path);
            Assert.Null(PartitionTable.Read(disk));
        }
    }

    internal static void WriteEntry(byte[] sector, int slot, byte type, uint first, uint count)
    {
        Span<byte> e = sector.AsSpan(446 + (slot * 16), 16);
        e[4] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(8), first);
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(12), count);
    }
}
