using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Fuzzing;
using IscsiConvert.Registry;

namespace IscsiConvert.Fuzzing.Targets;

/// <summary>
/// regf: base block, hive bins, every cell (keys, values, lists, security, big data), and the transaction logs (old
/// DIRT format and new HvLE format); each execution opens with log recovery, walks every key and value, exports and verifies.
/// </summary>
internal sealed class RegistryTarget : FuzzTarget
{
    private const int MaxKeys = 200_000;

    public override string Name => "regf";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        const string ntuser = "registry/win10-dirty-ntuser/";
        return new List<Seed>
        {
            Describe(new Seed("hivex minimal", Corpus.File("registry/hivex-minimal/minimal"))),
            Describe(new Seed("BCD (Windows 10)", Corpus.File("registry/misc/BCD"))),
            Describe(new Seed("SAM (Windows)", Corpus.File("registry/misc/SAM"))),
            Describe(new Seed("SECURITY (Windows, dirty, no logs)", Corpus.File("registry/misc/SECURITY"))),
            Describe(new Seed("OldDirtyHive + .LOG1 (Windows 7, old log format)",
                Corpus.File("registry/win7-dirty-oldlog/OldDirtyHive"), Corpus.File("registry/win7-dirty-oldlog/OldDirtyHive.LOG1"))),
            Describe(new Seed("transactions_NTUSER.DAT + .LOG1 + .LOG2 (Windows 10, HvLE logs)",
                Corpus.File(ntuser + "transactions_NTUSER.DAT"), Corpus.File(ntuser + "transactions_ntuser.dat.log1"),
                Corpus.File(ntuser + "transactions_ntuser.dat.log2"))),
        };
    }

    public override void Execute(FuzzInput input)
    {
        var options = new RegistryOpenOptions { RecoverFromLogs = true };
        for (int f = 1; f < input.Seed.Files.Count; f++)
        {
            options.LogStreams.Add(input.Stream(f));
        }
        using RegistryHive hive = RegistryHive.Open(input.Stream(0), options);
        int keys = 0;
        foreach (RegistryKey key in RegistryExport.Walk(hive.Root))
        {
            if (++keys > MaxKeys)
            {
                break;
            }
            _ = key.ClassName;
            _ = key.LastWriteTime;
            _ = key.GetSubkeyNames();
            foreach (RegistryValue value in key.GetValues())
            {
                _ = value.Name;
                _ = value.Data.Length;
                _ = RegistryExport.TypeName(value.Type);
            }
        }
        if ((input.Mutation.Patches.Count & 1) == 0)
        {
            RegistryExport.WriteReg(hive.Root, TextWriter.Null, @"HKEY_LOCAL_MACHINE\FUZZ");
        }
        _ = hive.Verify();
    }

    /// <summary>Base block, bins, cells (walked by size, as the format lays them out), log headers and entries.</summary>
    private static Seed Describe(Seed seed)
    {
        for (int f = 0; f < seed.Files.Count; f++)
        {
            int file = f;
            byte[] b = seed.Files[f].Bytes;
            seed.Region("base block", 0, 512, file);
            seed.ChecksumRepairs.Add(m => Checksums.RegfBaseBlock(m, file));
            if (f == 0)
            {
                Bins(seed, b);
                continue;
            }
            // Logs: the old format's dirty vector follows the base block; new-format entries (HvLE) sit on 512-byte boundaries.
            seed.Region("log dirty vector", 512, 512, file);
            for (int at = 512; at + 40 <= b.Length; at += 512)
            {
                if (b.AsSpan(at, 4).SequenceEqual("HvLE"u8))
                {
                    int size = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(at + 4));
                    seed.Region("HvLE header", at, 40, file).Region("HvLE dirty page references", at + 40, 64, file);
                    at += Math.Max(0, size - 512) / 512 * 512;
                }
            }
        }
        foreach (string token in new[] { "regf", "hbin", "nk", "vk", "lf", "lh", "li", "ri", "sk", "db", "HvLE", "DIRT" })
        {
            seed.Dictionary.Add(System.Text.Encoding.ASCII.GetBytes(token));
        }
        return seed;
    }

    private static void Bins(Seed seed, byte[] b)
    {
        int cells = 0;
        for (int bin = 4096; bin + 32 <= b.Length;)
        {
            if (!b.AsSpan(bin, 4).SequenceEqual("hbin"u8))
            {
                break;
            }
            int size = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(bin + 8));
            if (size < 4096 || bin + size > b.Length)
            {
                break;
            }
            seed.Region("hbin header", bin, 32);
            for (int cell = bin + 32; cell + 4 <= bin + size && cells < 20_000;)
            {
                int cellSize = Math.Abs(BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(cell)));
                if (cellSize < 8 || cell + cellSize > bin + size)
                {
                    break;
                }
                if (BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(cell)) < 0)
                {
                    string kind = System.Text.Encoding.ASCII.GetString(b, cell + 4, 2);
                    seed.Region("cell " + kind, cell, Math.Min(cellSize, 128));
                    cells++;
                }
                cell += cellSize;
            }
            bin += size;
        }
    }
}
