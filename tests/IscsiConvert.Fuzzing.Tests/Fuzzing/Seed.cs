using System;
using System.Collections.Generic;

namespace IscsiConvert.Fuzzing;

/// <summary>One file of a seed input (an image, a hive and its logs, an INF).</summary>
public sealed record SeedFile(string Name, byte[] Bytes);

/// <summary>
/// A structure of a seed file that mutations aim at (a header, a table, a record, a cell), located by the test's own
/// scan of the format (never by the reader under test).
/// </summary>
public sealed record Region(int File, string Name, long Offset, long Length);

/// <summary>
/// A valid input the mutations start from, with its structures and the checksums to recompute after a mutation
/// (so that the damage reaches the checks behind the checksum, not only the checksum test).
/// </summary>
public sealed class Seed
{
    /// <summary>A fact naming the exception a seed is refused with even unmutated (a differencing disk whose parent is absent).</summary>
    public const string RefusedUnmutated = "refusedUnmutated";

    public Seed(string name, params SeedFile[] files)
    {
        Name = name;
        Files = files;
    }

    public string Name { get; }

    public IReadOnlyList<SeedFile> Files { get; }

    public List<Region> Regions { get; } = new();

    /// <summary>Recompute checksums over the mutated bytes; each adds patches to the mutation.</summary>
    public List<Action<Mutation>> ChecksumRepairs { get; } = new();

    /// <summary>Tokens worth splicing in (signatures, keywords), beside the generic interesting values.</summary>
    public List<byte[]> Dictionary { get; } = new();

    /// <summary>Target-specific facts (a sector size, a snapshot name).</summary>
    public Dictionary<string, string> Facts { get; } = new(StringComparer.Ordinal);

    public long TotalBytes
    {
        get
        {
            long n = 0;
            foreach (SeedFile f in Files)
            {
                n += f.Bytes.Length;
            }
            return n;
        }
    }

    public Seed Region(string name, long offset, long length, int file = 0)
    {
        if (length > 0 && offset >= 0 && offset < Files[file].Bytes.Length)
        {
            Regions.Add(new Region(file, name, offset, Math.Min(length, Files[file].Bytes.Length - offset)));
        }
        return this;
    }

    public override string ToString() => Name;
}
