using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using IscsiConvert.Fuzzing;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Tests;

namespace IscsiConvert.Fuzzing.Targets;

/// <summary>MBR (with its EBR chain) and GPT, at 512- and 4096-byte sectors, read from an in-memory disk.</summary>
internal sealed class PartitionTarget : FuzzTarget
{
    private const string SectorSize = "sectorSize";

    public override string Name => "MBR/EBR/GPT";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        var seeds = new List<Seed>();

        // The Windows MBR of the corpus's VMware disk (the whole 10 MiB virtual disk, read by our VMDK reader).
        using (VirtualDisk vmdk = DiskImage.Open(TestData.Require("disks/vmdk/monolithicSparse.vmdk")))
        {
            byte[] disk = new byte[vmdk.Capacity];
            vmdk.Content.ReadAt(0, disk);
            seeds.Add(Mbr(new Seed("monolithicSparse.vmdk's disk (Windows MBR)", new SeedFile("disk", disk)), 512));
        }

        // An extended partition with a chain of logical ones (EBRs), made by sfdisk.
        string ebr = Path.Combine(scratch, "ebr.raw");
        File.WriteAllBytes(ebr, new byte[16 << 20]);
        Oracle.RunWithInput("sfdisk", "label: dos\n,2M,83\n,,5\n,2M,83\n,2M,7\n,,83\n", "-q", ebr);
        seeds.Add(Mbr(new Seed("sfdisk extended + 3 logical (EBR chain)", new SeedFile("disk", File.ReadAllBytes(ebr))), 512));

        // GPT made by sgdisk (512-byte sectors) and by our writer with 4096-byte sectors (no tool here makes those).
        string gpt = Path.Combine(scratch, "gpt.raw");
        File.WriteAllBytes(gpt, new byte[8 << 20]);
        Oracle.RunChecked("sgdisk", "-n", "1:2048:+1M", "-t", "1:ef00", "-n", "2:0:+2M", "-t", "2:0700", "-n", "3:0:0", "-t", "3:8300", gpt);
        seeds.Add(Gpt(new Seed("sgdisk GPT (512-byte sectors)", new SeedFile("disk", File.ReadAllBytes(gpt))), 512));

        foreach (bool isGpt in new[] { true, false })
        {
            string path = Path.Combine(scratch, isGpt ? "gpt4k.raw" : "mbr4k.raw");
            using (VirtualDisk raw = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 16 << 20 }))
            {
                PartitionTable table = isGpt
                    ? PartitionTable.CreateGpt(raw.Content, 4096, IdentifierSource.Sequential(7))
                    : PartitionTable.CreateMbr(raw.Content, 4096, 0x12345678);
                table.AddPartition(NewPartition.Of(PartitionKind.BasicData, 4 << 20, "one"));
                table.AddPartition(NewPartition.Of(PartitionKind.BasicData, 4 << 20, "two"));
            }
            var seed = new Seed(isGpt ? "our GPT (4096-byte sectors)" : "our MBR (4096-byte sectors)", new SeedFile("disk", File.ReadAllBytes(path)));
            seeds.Add(isGpt ? Gpt(seed, 4096) : Mbr(seed, 4096));
        }
        return seeds;
    }

    public override void Execute(FuzzInput input)
    {
        int sectorSize = int.Parse(input.Seed.Facts[SectorSize], CultureInfo.InvariantCulture);
        using MutatedDisk disk = input.Disk();
        PartitionTable? table = PartitionTable.TryRead(disk, sectorSize);
        if (table is null)
        {
            return;
        }
        _ = table.FirstUsableSector;
        _ = table.LastUsableSector;
        _ = table.Warnings;
        foreach (PartitionInfo p in table.Partitions)
        {
            if (p.ToString() is null)
            {
                throw new FuzzGuardException("no description");
            }
        }
        DiskTarget.ReadPartitions(table);
    }

    private static Seed Mbr(Seed seed, int sectorSize)
    {
        seed.Facts[SectorSize] = sectorSize.ToString(CultureInfo.InvariantCulture);
        byte[] b = seed.Files[0].Bytes;
        seed.Region("MBR partition entries", 446, 66).Region("MBR", 0, 512);
        // Every other sector that ends in 55 AA is an EBR of the chain (found by scanning, not by the reader).
        for (int at = sectorSize; at + 512 <= b.Length; at += sectorSize)
        {
            if (b[at + 510] == 0x55 && b[at + 511] == 0xAA && b.AsSpan(at, 446).IndexOfAnyExcept((byte)0) < 0)
            {
                seed.Region($"EBR at sector {at / sectorSize}", at + 446, 66);
            }
        }
        seed.Dictionary.Add(new byte[] { 0x05 });
        seed.Dictionary.Add(new byte[] { 0x0F });
        seed.Dictionary.Add(new byte[] { 0xEE });
        seed.Dictionary.Add(new byte[] { 0x55, 0xAA });
        return seed;
    }

    private static Seed Gpt(Seed seed, int sectorSize)
    {
        Mbr(seed, sectorSize);
        long last = seed.Files[0].Bytes.Length - sectorSize;
        seed.Region("GPT header", sectorSize, 92).Region("GPT entries", 2L * sectorSize, 512)
            .Region("backup GPT header", last, 92).Region("backup GPT entries", last - 16384, 512); // 128 entries of 128 bytes before the backup header
        seed.ChecksumRepairs.Add(m => Checksums.GptHeader(m, 0, sectorSize, sectorSize));
        seed.ChecksumRepairs.Add(m => Checksums.GptHeader(m, 0, m.LengthOf(0) - sectorSize, sectorSize));
        seed.Dictionary.Add("EFI PART"u8.ToArray());
        return seed;
    }
}
