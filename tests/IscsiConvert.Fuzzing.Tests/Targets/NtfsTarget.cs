using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Fuzzing;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Tests;

namespace IscsiConvert.Fuzzing.Targets;

/// <summary>
/// NTFS: boot sector, MFT records, attributes, runlists, attribute lists and index records of an mkntfs volume and two
/// Windows-formatted ones; each execution opens the volume, verifies it, lists every directory and reads every stream.
/// </summary>
internal sealed class NtfsTarget : FuzzTarget
{
    private const int MaxEntries = 20_000;
    private const long MaxBytesPerStream = 1 << 20;

    public override string Name => "NTFS";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        var seeds = new List<Seed> { Describe(new Seed("testfs1 (mkntfs)", Corpus.File("ntfs/testfs1"))) };
        using (VirtualDisk qcow = DiskImage.Open(TestData.Require("disks/qcow2/windows_volume.qcow2")))
        {
            byte[] volume = new byte[qcow.Capacity];
            qcow.Content.ReadAt(0, volume);
            seeds.Add(Describe(new Seed("windows_volume.qcow2's volume (Windows)", new SeedFile("volume", volume))));
        }
        using (VirtualDisk vmdk = DiskImage.Open(TestData.Require("disks/vmdk/monolithicSparse.vmdk")))
        {
            PartitionTable table = PartitionTable.Read(vmdk) ?? throw new InvalidOperationException("no partition table");
            using SparseStream partition = table.Open(table.Partitions[0]);
            byte[] volume = new byte[partition.Length];
            partition.ReadAt(0, volume);
            seeds.Add(Describe(new Seed("monolithicSparse.vmdk's volume (Windows)", new SeedFile("volume", volume))));
        }
        if (CompactOsVolume(scratch) is { } compact)
        {
            seeds.Add(Describe(new Seed("CompactOS-style volume (mkntfs, ntfs-3g, wimlib XPRESS)", new SeedFile("volume", compact))));
        }
        return seeds;
    }

    /// <summary>
    /// A small volume whose files have reparse points — WOF-compressed files (XPRESS 4K and 16K, compressed by wimlib)
    /// and a junction — so that mutations reach the WOF chunk table and the XPRESS decoder, which the other seeds
    /// never lead to. Built with mkntfs, ntfs-3g over FUSE and wimcapture; without them (a developer's machine) the
    /// seed is left out, and under CI their absence fails the run.
    /// </summary>
    private static byte[]? CompactOsVolume(string scratch)
    {
        bool toolsPresent = Oracle.Find("mkntfs") is not null && Oracle.Find("ntfs-3g") is not null && Oracle.Find("wimcapture") is not null && File.Exists("/dev/fuse");
        if (!toolsPresent && !Oracle.InCi)
        {
            return null;
        }
        string image = Mkntfs.Volume(Path.Combine(scratch, "compact.img"), 4, "compact");
        var random = new Random(20261204);
        var text = new MemoryStream();
        for (int i = 0; text.Length < 20_000; i++)
        {
            text.Write(System.Text.Encoding.ASCII.GetBytes($"HKR,,{i},0x{random.Next():X8},\"line {i % 13}\"\r\n"));
        }
        var noise = new byte[5000];
        random.NextBytes(noise);
        text.Write(noise);
        byte[] content = text.ToArray();
        var compressed = new Dictionary<int, byte[]>
        {
            [4096] = WimXpress.Compress(scratch, content, 4096),
            [16384] = WimXpress.Compress(scratch, content, 16384),
        };
        Ntfs3gMount.With(image, mount =>
        {
            foreach ((int chunk, uint algorithm, string name) in new[] { (4096, 0u, "x4k.sys"), (16384, 3u, "x16k.inf") })
            {
                Ntfs3gMount.SetWofCompressed(Path.Combine(mount, name), content.Length, compressed[chunk], algorithm);
            }
            Directory.CreateDirectory(Path.Combine(mount, "target"));
            File.WriteAllText(Path.Combine(mount, "target", "plain.txt"), "plain");
            Directory.CreateDirectory(Path.Combine(mount, "junction"));
            Ntfs3gMount.SetJunction(Path.Combine(mount, "junction"), @"C:\target");
        });
        return File.ReadAllBytes(image);
    }

    public override void Execute(FuzzInput input)
    {
        bool followJunctions = (input.Mutation.Patches.Count & 1) == 1;
        using NtfsVolume volume = NtfsVolume.Open(input.Stream(), new NtfsOpenOptions { FilePath = input.Seed.Name, FollowJunctions = followJunctions });
        _ = volume.Verify();
        ReadEverything(volume);
    }

    /// <summary>Lists every directory (at most <see cref="MaxEntries"/> entries: a directory cycle is the reader's to refuse
    /// or to survive, not the harness's to follow forever) and reads every stream.</summary>
    internal static int ReadEverything(NtfsVolume volume)
    {
        var pending = new Stack<(string Path, int Depth)>();
        pending.Push((@"\", 0));
        int seen = 0;
        byte[] buffer = new byte[1 << 16];
        while (pending.Count > 0 && seen < MaxEntries)
        {
            (string dir, int depth) = pending.Pop();
            foreach (NtfsEntry e in volume.ListDirectory(dir))
            {
                seen++;
                _ = volume.GetEntry(e.Path);
                if (e.IsDirectory)
                {
                    if (depth < 64)
                    {
                        pending.Push((e.Path, depth + 1));
                    }
                    continue;
                }
                ReadStream(volume, e.Path, null, buffer);
                foreach (NtfsStreamInfo named in e.AlternateStreams)
                {
                    ReadStream(volume, e.Path, named.Name, buffer);
                }
            }
        }
        return seen;
    }

    private static void ReadStream(NtfsVolume volume, string path, string? name, byte[] buffer)
    {
        Stream s;
        try
        {
            s = volume.OpenFile(path, name);
        }
        catch (FileNotFoundException)
        {
            return; // a file without an unnamed data stream ($Secure, the $Extend files): the documented answer
        }
        using (s)
        {
            long total = 0;
            int n;
            while (total < MaxBytesPerStream && (n = s.Read(buffer, 0, buffer.Length)) > 0)
            {
                total += n;
            }
        }
    }

    /// <summary>The boot sector, every MFT record (its header, attributes, runlists, attribute lists), every INDX record.</summary>
    private static Seed Describe(Seed seed)
    {
        byte[] b = seed.Files[0].Bytes;
        int bytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(11));
        int cluster = bytesPerSector * b[13];
        int recordSize = Size((sbyte)b[0x40], cluster);
        int indexSize = Size((sbyte)b[0x44], cluster);
        seed.Region("boot sector", 0, 512).Region("backup boot sector", b.Length - 512, 512);
        var records = new List<(long Start, int Size)>();
        for (int at = 0; at + 512 <= b.Length; at += 512)
        {
            bool file = b.AsSpan(at, 4).SequenceEqual("FILE"u8);
            bool indx = b.AsSpan(at, 4).SequenceEqual("INDX"u8);
            if (!file && !indx)
            {
                continue;
            }
            int size = file ? recordSize : indexSize;
            if (at + size > b.Length)
            {
                continue;
            }
            records.Add((at, size));
            seed.Region(file ? "MFT record header" : "INDX header", at, 0x40);
            if (indx)
            {
                seed.Region("INDX entries", at + 0x18, Math.Min(size, 1024) - 0x18);
                continue;
            }
            int attribute = at + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at + 0x14));
            for (int guard = 0; guard < 32 && attribute + 16 <= at + size; guard++)
            {
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(attribute));
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(attribute + 4));
                if (type == 0xFFFFFFFF || length < 16 || attribute + length > at + size)
                {
                    break;
                }
                seed.Region($"attribute 0x{type:X} header", attribute, Math.Min(length, 0x48));
                if (b[attribute + 8] != 0)
                {
                    int runs = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(attribute + 0x20));
                    seed.Region($"attribute 0x{type:X} runlist", attribute + runs, length - runs);
                }
                else
                {
                    int value = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(attribute + 0x14));
                    seed.Region(type == 0x20 ? "attribute list" : $"attribute 0x{type:X} value", attribute + value, length - value);
                }
                attribute += length;
            }
        }
        records.Sort();
        long[] starts = records.Select(r => r.Start).ToArray();
        seed.ChecksumRepairs.Add(m =>
        {
            foreach (long touched in m.PatchesOf(0).Select(p => p.Offset).Distinct().ToArray())
            {
                int i = Array.BinarySearch(starts, touched);
                i = i >= 0 ? i : ~i - 1;
                if (i >= 0 && touched < records[i].Start + records[i].Size)
                {
                    Checksums.NtfsFixups(m, 0, records[i].Start, records[i].Size);
                }
            }
        });
        foreach (string token in new[] { "FILE", "INDX", "BAAD", "$I30", "NTFS    " })
        {
            seed.Dictionary.Add(System.Text.Encoding.ASCII.GetBytes(token));
        }
        seed.Dictionary.Add(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF });
        seed.Dictionary.Add(new byte[] { 0x11, 0x01, 0x01, 0x00 }); // a one-cluster run at +1
        seed.Dictionary.Add(new byte[] { 0x48, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x01 });
        return seed;
    }

    private static int Size(sbyte field, int cluster) => field < 0 ? 1 << -field : field * cluster;
}
