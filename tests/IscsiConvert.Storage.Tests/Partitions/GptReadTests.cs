using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Linq;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using Xunit;

namespace IscsiConvert.Tests.Partitions;

public class GptReadTests
{
    /// <summary>A 64 MiB GPT made by sgdisk: 128 entries, names (one non-ASCII), a gap in the slots, attributes.</summary>
    internal static string MakeSgdiskDisk(TempDir tmp, string name = "gpt.img")
    {
        string path = PartitionOracles.BlankDisk(tmp, name, 64L << 20);
        PartitionOracles.SgdiskChecked(path,
            "-n", "1:2048:+8M", "-t", "1:ef00", "-c", "1:EFI system partition",
            "-n", "2:0:+16M", "-t", "2:0c01", "-c", "2:Microsoft reserved partition",
            "-n", "5:0:+8M", "-t", "5:8300", "-c", "5:Linux données ✓", "-A", "5:set:2",
            "-n", "7:0:+4M", "-t", "7:2700", "-c", "7:Recovery", "-A", "7:set:0", "-A", "7:set:63",
            "-n", "128:0:0", "-t", "128:0700", "-c", "128:Basic data partition");
        return path;
    }

    [Fact]
    public void SgdiskLayout_MatchesSfdiskSgdiskAndMmls()
    {
        using var tmp = new TempDir();
        string path = MakeSgdiskDisk(tmp);
        using VirtualDisk disk = DiskImage.Open(path);
        PartitionTable table = PartitionTable.Read(disk)!;
        Assert.Equal(PartitionScheme.Gpt, table.Scheme);
        Assert.Empty(table.Warnings);

        SfdiskTable expected = PartitionOracles.SfdiskJson(path);
        Assert.Equal("gpt", expected.Label);
        Assert.Equal(Guid.Parse(expected.Id), table.DiskGuid);
        Assert.Equal(expected.FirstLba, table.FirstUsableSector);
        Assert.Equal(expected.LastLba, table.LastUsableSector);
        Assert.Equal(new[] { 1, 2, 5, 7, 128 }, expected.Partitions.Select(p => p.Index));
        Assert.Equal(expected.Partitions.Select(p => p.Index), table.Partitions.Select(p => p.Index));
        foreach (SfdiskPartition e in expected.Partitions)
        {
            PartitionInfo p = table.Partitions.Single(q => q.Index == e.Index);
            Assert.Equal(e.Start, p.FirstSector);
            Assert.Equal(e.Size, p.SectorCount);
            Assert.Equal(Guid.Parse(e.Type), p.TypeGuid);
            Assert.Equal(e.Type, p.TypeCode);
            Assert.Equal(Guid.Parse(e.Uuid!), p.UniqueGuid);
            Assert.Equal(e.Name, p.Name);
            Assert.Null(p.MbrType);

            // sgdisk -i prints every field of the entry.
            var info = PartitionOracles.SgdiskInfo(path, e.Index);
            Assert.StartsWith(p.TypeCode, info["Partition GUID code"], StringComparison.Ordinal);
            Assert.Equal(p.UniqueGuid!.Value.ToString("D").ToUpperInvariant(), info["Partition unique GUID"]);
            Assert.StartsWith(p.FirstSector.ToString(CultureInfo.InvariantCulture) + " ", info["First sector"], StringComparison.Ordinal);
            Assert.StartsWith((p.FirstSector + p.SectorCount - 1).ToString(CultureInfo.InvariantCulture) + " ", info["Last sector"], StringComparison.Ordinal);
            Assert.Equal(p.Attributes.ToString("X16", CultureInfo.InvariantCulture), info["Attribute flags"]);
            Assert.Equal("'" + p.Name + "'", info["Partition name"]);
        }
        Assert.True(table.Partitions.Single(p => p.Index == 5).Bootable); // attribute bit 2: legacy BIOS bootable
        Assert.Equal(PartitionKind.EfiSystem, table.Partitions.Single(p => p.Index == 1).Kind);
        Assert.Equal(PartitionKind.MicrosoftReserved, table.Partitions.Single(p => p.Index == 2).Kind);
        Assert.Equal(PartitionKind.LinuxFilesystem, table.Partitions.Single(p => p.Index == 5).Kind);
        Assert.Equal(PartitionKind.WindowsRecovery, table.Partitions.Single(p => p.Index == 7).Kind);
        Assert.Equal(PartitionKind.BasicData, table.Partitions.Single(p => p.Index == 128).Kind);

        // mmls: slot numbers are the 0-based entry index; the description is the partition name.
        var mmls = PartitionOracles.Mmls(path);
        Assert.Equal(table.Partitions.Count, mmls.Count);
        foreach (MmlsRow row in mmls)
        {
            PartitionInfo p = table.Partitions.Single(q => q.FirstSector == row.Start);
            Assert.Equal(row.Length, p.SectorCount);
            Assert.Equal(int.Parse(row.Slot, CultureInfo.InvariantCulture) + 1, p.Index);
        }
    }

    [Fact]
    public void PartitionStream_IsTheRightWindowOfTheDisk()
    {
        using var tmp = new TempDir();
        string path = MakeSgdiskDisk(tmp);
        byte[] marker = "partition five"u8.ToArray();
        long fiveStart = PartitionOracles.SfdiskJson(path).Partitions.Single(p => p.Index == 5).Start * 512;
        PartitionOracles.Patch(path, fiveStart + 4096, marker);

        using VirtualDisk disk = DiskImage.Open(path);
        PartitionInfo five = PartitionTable.Read(disk)!.Partitions.Single(p => p.Index == 5);
        using SparseStream s = five.Open();
        byte[] read = new byte[marker.Length];
        Assert.Equal(read.Length, s.ReadAt(4096, read));
        Assert.Equal(marker, read);
        Assert.False(s.CanWrite);
    }

    [Fact]
    public void CorruptPrimaryHeader_UsesBackupWithWarning_AsSgdiskDoes()
    {
        using var tmp = new TempDir();
        string path = MakeSgdiskDisk(tmp);
        SfdiskTable before = PartitionOracles.SfdiskJson(path);
        PartitionOracles.Patch(path, 512 + 40, new byte[] { 0x99 }); // first usable LBA: the header CRC no longer matches

        string verify = PartitionOracles.SgdiskVerify(path);
        Assert.Contains("Main header: ERROR", verify, StringComparison.Ordinal);
        Assert.Contains("Backup header: OK", verify, StringComparison.Ordinal);
        Assert.Contains("Backup partition table: OK", verify, StringComparison.Ordinal);

        using VirtualDisk disk = DiskImage.Open(path);
        PartitionTable table = PartitionTable.Read(disk)!;
        string warning = Assert.Single(table.Warnings);
        Assert.Contains("primary", warning, StringComparison.Ordinal);
        Assert.Contains("backup", warning, StringComparison.Ordinal);
        Assert.Equal(before.Partitions.Select(p => (p.Index, p.Start, p.Size)), table.Partitions.Select(p => (p.Index, p.FirstSector, p.SectorCount)));
        Assert.Equal(Guid.Parse(before.Id), table.DiskGuid);
    }

    [Fact]
    public void CorruptPrimaryEntryArray_UsesBackupWithWarning_AsSgdiskDoes()
    {
        using var tmp = new TempDir();
        string path = MakeSgdiskDisk(tmp);
        SfdiskTable before = PartitionOracles.SfdiskJson(path);
        PartitionOracles.Patch(path, (2 * 512) + 56, new byte[] { 0x41, 0x00 }); // a character of entry 1's name

        string verify = PartitionOracles.SgdiskVerify(path);
        Assert.Contains("Main partition table: ERROR", verify, StringComparison.Ordinal);
        Assert.Contains("Backup partition table: OK", verify, StringComparison.Ordinal);

        using VirtualDisk disk = DiskImage.Open(path);
        PartitionTable table = PartitionTable.Read(disk)!;
        Assert.Contains("partition entry array", Assert.Single(table.Warnings), StringComparison.Ordinal);
        Assert.Equal(before.Partitions.Select(p => p.Name), table.Partitions.Select(p => p.Name));
    }

    [Fact]
    public void BothHeadersCorrupt_IsCorruptDataNamingStructureAndOffset()
    {
        using var tmp = new TempDir();
        string path = MakeSgdiskDisk(tmp);
        long lastLba = (64L << 20) / 512 - 1;
        PartitionOracles.Patch(path, 512 + 16, new byte[] { 0x00, 0x00, 0x00, 0x00 });
        PartitionOracles.Patch(path, (lastLba * 512) + 16, new byte[] { 0x00, 0x00, 0x00, 0x00 });
        // Neither oracle finds a GPT any more: sgdisk starts a blank one in memory, sfdisk sees only the protective MBR.
        Assert.Contains("Creating new GPT entries", PartitionOracles.SgdiskVerify(path), StringComparison.Ordinal);
        Assert.Equal("ee", Assert.Single(PartitionOracles.SfdiskJson(path).Partitions).Type);

        using VirtualDisk disk = DiskImage.Open(path);
        var ex = Assert.Throws<CorruptDataException>(() => PartitionTable.Read(disk));
        Assert.Equal("GPT", ex.Format);
        Assert.Equal("primary header", ex.Structure);
        Assert.Equal(512, ex.Offset);
        Assert.Contains("CRC", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("backup header", ex.Problem, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HugeEntryCount_IsBoundedWithClearError()
    {
        using var tmp = new TempDir();
        string path = MakeSgdiskDisk(tmp);
        long lastLba = (64L << 20) / 512 - 1;

        // Primary only: the backup takes over.
        SetEntryCountWithValidCrc(path, 512, 0x8000_0000u);
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            PartitionTable table = PartitionTable.Read(disk)!;
            Assert.Contains("entry count 2147483648", Assert.Single(table.Warnings), StringComparison.Ordinal);
            Assert.Equal(5, table.Partitions.Count);
        }

        // Both copies: a clear error, without trying to allocate 256 GiB.
        SetEntryCountWithValidCrc(path, lastLba * 512, 0xFFFF_FFFFu);
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            var ex = Assert.Throws<CorruptDataException>(() => PartitionTable.Read(disk));
            Assert.Contains("entry count 2147483648 exceeds the limit", ex.Problem, StringComparison.Ordinal);
            Assert.Contains("entry count 4294967295", ex.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void OverlappingEntries_AreCorruptData()
    {
        using var tmp = new TempDir();
        string path = MakeSgdiskDisk(tmp);
        long lastLba = (64L << 20) / 512 - 1;
        // Move partition 2's first LBA into partition 1 in both arrays, with the CRCs fixed up as a buggy tool would.
        foreach (long header in new[] { 512L, lastLba * 512 })
        {
            byte[] h = PartitionOracles.ReadBytes(path, header, 92);
            long arrayOffset = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(72)) * 512;
            byte[] array = PartitionOracles.ReadBytes(path, arrayOffset, 128 * 128);
            BinaryPrimitives.WriteInt64LittleEndian(array.AsSpan(128 + 32), 4096);
            PartitionOracles.Patch(path, arrayOffset, array);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(88), PartitionOracles.Crc32(array));
            FixHeaderCrc(h);
            PartitionOracles.Patch(path, header, h);
        }
        Assert.DoesNotContain("No problems found", PartitionOracles.SgdiskVerify(path), StringComparison.Ordinal);

        using VirtualDisk disk = DiskImage.Open(path);
        var ex = Assert.Throws<CorruptDataException>(() => PartitionTable.Read(disk));
        Assert.Contains("overlaps", ex.Problem, StringComparison.Ordinal);
        Assert.Equal("primary partition entry 2", ex.Structure);
        Assert.Equal((2 * 512) + 128, ex.Offset);
    }

    private static void SetEntryCountWithValidCrc(string path, long headerOffset, uint count)
    {
        byte[] h = PartitionOracles.ReadBytes(path, headerOffset, 92);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(80), count);
        FixHeaderCrc(h);
        PartitionOracles.Patch(path, headerOffset, h);
    }

    private static void FixHeaderCrc(byte[] header)
    {
        header.AsSpan(16, 4).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), PartitionOracles.Crc32(header.AsSpan(0, 92)));
    }
}
