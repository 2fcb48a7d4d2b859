using System;
using System.Collections.Generic;
using System.Globalization;
using CsCheck;

namespace IscsiConvert.Fuzzing;

/// <summary>One mutation step as CsCheck generates it: what to do and three raw numbers it is interpreted with.</summary>
public readonly record struct Step(int Kind, uint A, uint B, ulong C);

/// <summary>A whole mutation as generated: which seed, the steps, and whether checksums are repaired afterwards.</summary>
public readonly record struct Recipe(uint SeedPick, Step[] Steps, bool RepairChecksums);

/// <summary>
/// The mutator: bit flips, bytes and integers set to interesting values (0, 0xFF, 0x7F, 0x80, int.MaxValue, …),
/// small arithmetic on the existing value, random bytes, dictionary tokens, block duplication and zeroing,
/// truncation and extension. Four steps in five aim at a structure of the seed (a header, a table, a record);
/// the rest hit anywhere in the file. The recipe is plain numbers so CsCheck can generate and shrink it; it is
/// interpreted against the seed here.
/// </summary>
public static class Mutator
{
    private const int Kinds = 11;

    private static readonly ulong[] Interesting =
    {
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x1FF, 0x200, 0x7FFF, 0x8000, 0xFFFF, 0x1000, 0x10000,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF,
        0xFFFFFFFE, 0x7FFFFFF8, 0x40000000, 0x1FFFFFFFFFFF,
    };

    public static readonly Gen<Step> StepGen =
        Gen.Select(Gen.Int[0, Kinds - 1], Gen.UInt, Gen.UInt, Gen.ULong, (k, a, b, c) => new Step(k, a, b, c));

    public static readonly Gen<Recipe> RecipeGen =
        Gen.Select(Gen.UInt, StepGen.Array[1, 8], Gen.Int[0, 4], (s, steps, r) => new Recipe(s, steps, r != 0));

    public static Mutation Build(IReadOnlyList<Seed> seeds, Recipe recipe)
    {
        Seed seed = seeds[(int)(recipe.SeedPick % (uint)seeds.Count)];
        var m = new Mutation(seed);
        foreach (Step step in recipe.Steps)
        {
            Apply(m, step);
        }
        if (recipe.RepairChecksums)
        {
            foreach (Action<Mutation> repair in seed.ChecksumRepairs)
            {
                repair(m);
            }
        }
        return m;
    }

    private static void Apply(Mutation m, Step step)
    {
        Seed seed = m.Seed;
        (int file, long start, long length) = Target(seed, step.A);
        long fileLength = m.LengthOf(file);
        if (fileLength == 0 && step.Kind != 8)
        {
            return;
        }
        long span = Math.Max(1, Math.Min(length, fileLength - Math.Min(start, fileLength - 1)));
        long at = Math.Min(start + (step.B % span), fileLength - 1);
        string where = Mutation.At(file, at, seed);
        switch (step.Kind)
        {
            case 0: // bit flip
            {
                byte b = m.ReadBytes(file, at, 1)[0];
                int bit = (int)(step.C % 8);
                m.Write(file, at, new[] { (byte)(b ^ (1 << bit)) }, $"flip bit {bit} {where}");
                break;
            }
            case 1: // byte set to an interesting value
            {
                byte v = (byte)Interesting[(int)(step.C % (ulong)Interesting.Length)];
                m.Write(file, at, new[] { v }, $"byte {where} = {v:X2}");
                break;
            }
            case 2: // integer set to an interesting value, little- or big-endian, 2/4/8 bytes, often aligned
            case 3:
            {
                int width = 2 << (int)(step.C % 3);
                long aligned = (step.C & 8) != 0 ? at - ((at - start) % width) : at;
                ulong v = Interesting[(int)((step.C >> 8) % (ulong)Interesting.Length)];
                if ((step.C & 16) != 0)
                {
                    v = (ulong)-(long)v;
                }
                byte[] bytes = Encode(v, width, bigEndian: step.Kind == 3);
                m.Write(file, aligned, bytes, $"int{width * 8}{(step.Kind == 3 ? "be" : "le")} {Mutation.At(file, aligned, seed)} = {Mutation.Hex(bytes)}");
                break;
            }
            case 4: // arithmetic on the value already there
            {
                int width = 1 << (int)(step.C % 4);
                long aligned = at - ((at - start) % width);
                byte[] old = m.ReadBytes(file, aligned, width);
                if (old.Length < width)
                {
                    return;
                }
                bool bigEndian = (step.C & 4) != 0;
                ulong v = Decode(old, bigEndian);
                long delta = (long)(step.C >> 8) % 33 - 16;
                if ((step.C & 0x80) != 0)
                {
                    v = (step.C & 0x40) != 0 ? v << 1 : v >> 1;
                }
                else
                {
                    v = unchecked(v + (ulong)delta);
                }
                byte[] bytes = Encode(v, width, bigEndian);
                m.Write(file, aligned, bytes, $"arith {Mutation.At(file, aligned, seed)} {Mutation.Hex(old)} -> {Mutation.Hex(bytes)}");
                break;
            }
            case 5: // random bytes
            {
                int n = 1 + (int)(step.C % 16);
                byte[] bytes = new byte[n];
                var rng = new Random((int)(step.C >> 32));
                rng.NextBytes(bytes);
                m.Write(file, at, bytes, $"bytes {where} = {Mutation.Hex(bytes)}");
                break;
            }
            case 6: // dictionary token
            {
                if (seed.Dictionary.Count == 0)
                {
                    goto case 1;
                }
                byte[] token = seed.Dictionary[(int)(step.C % (ulong)seed.Dictionary.Count)];
                m.Write(file, at, token, $"token {where} = {Mutation.Hex(token)}");
                break;
            }
            case 7: // duplicate a block of the file (often a whole structure) over another place
            {
                (int srcFile, long srcStart, long srcLength) = Target(seed, (uint)step.C);
                int n = (int)Math.Min(Math.Min(srcLength, 1 << (int)(((step.C >> 32) % 13) + 1)), 64 * 1024);
                byte[] block = m.ReadBytes(srcFile, srcStart, n);
                if (srcFile != file)
                {
                    return;
                }
                long to = (step.C & (1UL << 40)) != 0 ? start : at;
                m.Write(file, to, block, $"copy {block.Length} bytes {Mutation.At(srcFile, srcStart, seed)} -> {Mutation.At(file, to, seed)}");
                break;
            }
            case 8: // truncate, usually at or inside a structure
            {
                long cut = (step.C & 1) != 0 ? start : at;
                m.SetLength(file, cut, $"truncate {seed.Files[file].Name} to 0x{cut.ToString("X", CultureInfo.InvariantCulture)}");
                break;
            }
            case 9: // extend with zeros, or with a copy of the first bytes
            {
                long extra = 1 + (long)(step.C % (64 * 1024));
                long old = fileLength;
                m.SetLength(file, old + extra, $"extend {seed.Files[file].Name} by 0x{extra.ToString("X", CultureInfo.InvariantCulture)}");
                if ((step.C & (1UL << 33)) != 0)
                {
                    byte[] head = m.ReadBytes(file, 0, (int)Math.Min(extra, 4096));
                    m.Write(file, old, head, $"  … filled with the first {head.Length} bytes");
                }
                break;
            }
            default: // zero a block
            {
                int n = (int)Math.Min(span - (at - start), 1 + (long)(step.C % 4096));
                if (n <= 0)
                {
                    return;
                }
                m.Write(file, at, new byte[n], $"zero {n} bytes {where}");
                break;
            }
        }
    }

    /// <summary>Chooses what a step hits: a structure of the seed four times in five, else the whole of a file.</summary>
    private static (int File, long Start, long Length) Target(Seed seed, uint pick)
    {
        if (seed.Regions.Count > 0 && pick % 5 != 0)
        {
            Region r = seed.Regions[(int)((pick / 5) % (uint)seed.Regions.Count)];
            return (r.File, r.Offset, r.Length);
        }
        int file = (int)((pick / 5) % (uint)seed.Files.Count);
        return (file, 0, Math.Max(1, seed.Files[file].Bytes.Length));
    }

    private static byte[] Encode(ulong v, int width, bool bigEndian)
    {
        byte[] b = new byte[width];
        for (int i = 0; i < width; i++)
        {
            b[bigEndian ? width - 1 - i : i] = (byte)(v >> (8 * i));
        }
        return b;
    }

    private static ulong Decode(byte[] b, bool bigEndian)
    {
        ulong v = 0;
        for (int i = 0; i < b.Length; i++)
        {
            v |= (ulong)b[bigEndian ? b.Length - 1 - i : i] << (8 * i);
        }
        return v;
    }
}
