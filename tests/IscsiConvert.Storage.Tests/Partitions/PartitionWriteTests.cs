using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using CsCheck;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using Xunit;

namespace IscsiConvert.Tests.Partitions;

public class PartitionWriteTests
{
    private const long MiB = 1L << 20;

    [Fact]
    public void WindowsLikeGpt_IsReadBackBySgdiskSfdiskAndMmls()
    {
        using var tmp = new TempDir();
        string path = tmp.File("win.img");
        Func<Guid> ids = IdentifierSource.Sequential(7);
        using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 64 * MiB }))
        {
            PartitionTable table = PartitionTable.CreateGpt(disk.Content, 512, ids);
            table.AddPartition(NewPartition.Of(PartitionKind.EfiSystem, 16 * MiB, "EFI system partition"));
            table.AddPartition(NewPartition.Of(PartitionKind.MicrosoftReserved, 16 * MiB, "Microsoft reserved partition"));
            table.AddPartition(NewPartition.Of(PartitionKind.BasicData, 0, "Basic data partition"));
            disk.Flush();
        }

        Assert.Contains("No problems found", PartitionOracles.SgdiskVerify(path), StringComparison.Ordinal);
        SfdiskTable t = PartitionOracles.SfdiskJson(path);
        Assert.Equal("gpt", t.Label);
        Assert.Equal(34, t.FirstLba);
        Assert.Equal((64 * MiB / 512) - 34, t.LastLba);
        Assert.Equal(new[] { 1, 2, 3 }, t.Partitions.Select(p => p.Index));
        Assert.Equal(new[] { "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" },
            t.Partitions.Select(p => p.Type));
        Assert.Equal(new[] { "EFI system partition", "Microsoft reserved partition", "Basic data partition" }, t.Partitions.Select(p => p.Name));
        Assert.Equal(new long[] { 2048, 2048 + 32768, 2048 + 65536 }, t.Partitions.Select(p => p.Start));
        Assert.Equal(new long[] { 32768, 32768 }, t.Partitions.Take(2).Select(p => p.Size));
        Assert.True(t.Partitions.All(p => p.Start % 2048 == 0));

        // The GUIDs come from the injected source, in order: disk first, then each partition.
        Func<Guid> again = IdentifierSource.Sequential(7);
        Assert.Equal(again().ToString("D").ToUpperInvariant(), t.Id);
        Assert.Equal(Enumerable.Range(0, 3).Select(_ => again().ToString("D").ToUpperInvariant()), t.Partitions.Select(p => p.Uuid));

        var mmls = PartitionOracles.Mmls(path);
        Assert.Equal(t.Partitions.Select(p => (p.Start, p.Size, p.Name)), mmls.Select(r => (r.Start, r.Length, (string?)r.Description)));
        Assert.Equal("gpt", PartitionOracles.Blkid(path).GetValueOrDefault("PTTYPE"));
    }

    [Fact]
    public void Mbr_IsReadBackBySfdiskAndMmls()
    {
        using var tmp = new TempDir();
        string path = tmp.File("mbr.img");
        using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 64 * MiB }))
        {
            PartitionTable table = PartitionTable.CreateMbr(disk.Content, 512, 0xCAFEBABE);
            table.AddPartition(new NewPartition { Kind = PartitionKind.Ntfs, Length = 20 * MiB, Bootable = true });
            table.AddPartition(new NewPartition { MbrType = 0x83, Length = 10 * MiB, Start = 30 * MiB });
            table.AddPartition(new NewPartition { Kind = PartitionKind.LinuxSwap, Length = 5 * MiB });
            table.AddPartition(NewPartition.Of(PartitionKind.WindowsRecovery, 0));
            Assert.Throws<InvalidOperationException>(() => table.AddPartition(NewPartition.Of(PartitionKind.Fat, MiB)));
        }

        SfdiskTable t = PartitionOracles.SfdiskJson(path);
        Assert.Equal("dos", t.Label);
        Assert.Equal("0xcafebabe", t.Id);
        Assert.Equal(new[] { (1, 2048L, 40960L, "7", true), (2, 61440L, 20480L, "83", false), (3, 43008L, 10240L, "82", false), (4, 53248L, 8192L, "27", false) },
            t.Partitions.Select(p => (p.Index, p.Start, p.Size, p.Type, p.Bootable)));
        var mmls = PartitionOracles.Mmls(path);
        Assert.Equal(t.Partitions.OrderBy(p => p.Start).Select(p => (p.Start, p.Size)), mmls.Select(r => (r.Start, r.Length)));
    }

    [Fact]
    public void Gpt4Kn_IsReadBackByMmlsWith4096ByteSectors()
    {
        using var tmp = new TempDir();
        string path = tmp.File("4kn.img");
        using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 64 * MiB }))
        {
            PartitionTable table = PartitionTable.CreateGpt(disk.Content, 4096, IdentifierSource.Sequential(3));
            Assert.Equal(6, table.FirstUsableSector); // header + 4 sectors of entries after the protective MBR
            table.AddPartition(NewPartition.Of(PartitionKind.EfiSystem, 8 * MiB, "EFI"));
            table.AddPartition(NewPartition.Of(PartitionKind.BasicData, 0, "Windows"));
        }
        var mmls = PartitionOracles.Mmls(path, 4096);
        Assert.Equal(new[] { (256L, 2048L, "EFI"), (256L + 2048, (64 * MiB / 4096) - 256 - 2048 - 256, "Windows") },
            mmls.Select(r => (r.Start, r.Length, r.Description)));

        using VirtualDisk reopened = DiskImage.Open(path);
        // Read with the wrong sector size, the protective MBR promises a GPT that is not at byte 512.
        var ex = Assert.Throws<CorruptDataException>(() => PartitionTable.TryRead(reopened.Content, 512));
        Assert.Contains("4096-byte logical sectors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomGptLayouts_ReadBackEqual_AndSgdiskAcceptsThem()
    {
        Oracle.Require("sgdisk");
        Guid[] types = { GptPartitionTypes.BasicData, GptPartitionTypes.EfiSystem, GptPartitionTypes.LinuxFilesystem, GptPartitionTypes.LinuxSwap, GptPartitionTypes.WindowsRecovery };
        var genPartition = Gen.Select(Gen.Int[1, 6], Gen.Int[0, types.Length - 1], Gen.String[Gen.Char.AlphaNumeric, 0, 36], Gen.Bool);
        var genLayout = Gen.Select(genPartition.List[1, 8], Gen.Int[1, 1000], Gen.Bool);
        genLayout.Sample(layout =>
        {
            var (parts, seed, fourK) = layout;
            int sectorSize = fourK ? 4096 : 512;
            using var tmp = new TempDir();
            string path = tmp.File("p.img");
            var expected = new List<(int Index, Guid Type, string Name, long Length, bool Bootable)>();
            List<(long Start, long Length, string Name)> layoutOnDisk;
            using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 64 * MiB }))
            {
                PartitionTable table = PartitionTable.CreateGpt(disk.Content, sectorSize, IdentifierSource.Sequential(seed));
                foreach (var (mib, type, name, bootable) in parts)
                {
                    PartitionInfo p = table.AddPartition(new NewPartition { TypeGuid = types[type], Length = (mib * MiB) - 512, Name = name, Bootable = bootable });
                    expected.Add((p.Index, types[type], name, RoundUp((mib * MiB) - 512, sectorSize), bootable));
                }
            }
            using (VirtualDisk disk = DiskImage.Open(path))
            {
                PartitionTable read = PartitionTable.TryRead(disk.Content, sectorSize)!;
                Assert.Empty(read.Warnings);
                Assert.Equal(expected, read.Partitions.Select(p => (p.Index, p.TypeGuid!.Value, p.Name ?? string.Empty, p.Length, p.Bootable)));
                Assert.True(read.Partitions.All(p => p.Start % MiB == 0));
                layoutOnDisk = read.Partitions.OrderBy(p => p.FirstSector).Select(p => (p.FirstSector, p.SectorCount, p.Name ?? string.Empty)).ToList();
            }
            // sleuthkit reads both sector sizes (-b); sgdisk and sfdisk read an image file with 512-byte sectors only.
            // Every partition where our reader found it (which equals what was written, above), in sectors of that size.
            var mmls = PartitionOracles.Mmls(path, sectorSize);
            Assert.Equal(layoutOnDisk, mmls.Select(r => (r.Start, r.Length, r.Description)));
            if (!fourK)
            {
                Assert.Contains("No problems found", PartitionOracles.SgdiskVerify(path), StringComparison.Ordinal);
                SfdiskTable t = PartitionOracles.SfdiskJson(path);
                Assert.Equal(expected.Select(e => (e.Index, e.Type.ToString("D").ToUpperInvariant(), e.Length / 512)),
                    t.Partitions.Select(p => (p.Index, p.Type, p.Size)));
            }
        }, iter: 12, threads: 1);
    }

    private static long RoundUp(long value, int unit) => (value + unit - 1) / unit * unit;
}
