using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;

namespace IscsiConvert.Fuzzing;

/// <summary>One parser under fuzzing: its seeds and what one execution does with a mutated input.</summary>
public abstract class FuzzTarget
{
    /// <summary>The name printed with the figures ("VHD", "NTFS", …).</summary>
    public abstract string Name { get; }

    /// <summary>True when the parser opens a file by path (the disk formats): inputs are then written to scratch files.</summary>
    public virtual bool NeedsFiles => false;

    /// <summary>The allocation cap of one execution: this many bytes per input byte, plus <see cref="AllocationAllowance"/>.</summary>
    public virtual long AllocationPerInputByte => 8;

    public virtual long AllocationAllowance => 64L << 20;

    /// <summary>The read cap of one execution (stream targets): this many times the input's size, plus 16 MiB.</summary>
    public virtual long ReadsPerInputByte => 64;

    /// <summary>File targets: every this many executions the scratch files are hashed against the seeds (a read-only
    /// open that wrote a byte is caught). Targets whose executions are slow check more often.</summary>
    public virtual int ChangeCheckInterval => 500;

    /// <summary>Loads (or makes) the seeds; <paramref name="scratch"/> is a folder the target may use.</summary>
    public abstract IReadOnlyList<Seed> LoadSeeds(string scratch);

    /// <summary>Parses the input the way the product does: open, list, read, verify.</summary>
    public abstract void Execute(FuzzInput input);
}

/// <summary>What one execution gets: the mutation, as streams or as files.</summary>
public sealed class FuzzInput
{
    private readonly ScratchFiles? _files;

    public FuzzInput(Mutation mutation, ReadMeter meter, ScratchFiles? files)
    {
        Mutation = mutation;
        Meter = meter;
        _files = files;
    }

    public Mutation Mutation { get; }

    public ReadMeter Meter { get; }

    public Seed Seed => Mutation.Seed;

    public Stream Stream(int file = 0) => new MutatedStream(Mutation, file, Meter);

    public MutatedDisk Disk(int file = 0) => new MutatedDisk(Mutation, file, Meter);

    /// <summary>The path of the mutated file (file targets only).</summary>
    public string PathOf(int file = 0) => (_files ?? throw new InvalidOperationException("not a file target")).PathOf(Mutation.Seed, file);
}

/// <summary>
/// The seeds of a file target written once to scratch files (on /dev/shm when there is one); each execution writes its
/// patches over them and puts the original bytes back afterwards, so a 36 MiB image is not rewritten per execution.
/// Every so often the files are hashed against the seeds: a read-only open that changed a byte is caught.
/// </summary>
public sealed class ScratchFiles : IDisposable
{
    private readonly string _folder;
    private readonly Dictionary<(Seed, int), string> _paths = new();

    public ScratchFiles(IReadOnlyList<Seed> seeds)
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _folder = Path.Combine(root, "iscsiconvert-fuzz-" + Path.GetRandomFileName());
        Directory.CreateDirectory(_folder);
        for (int s = 0; s < seeds.Count; s++)
        {
            string dir = Path.Combine(_folder, s.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            for (int f = 0; f < seeds[s].Files.Count; f++)
            {
                string path = Path.Combine(dir, seeds[s].Files[f].Name);
                File.WriteAllBytes(path, seeds[s].Files[f].Bytes);
                _paths[(seeds[s], f)] = path;
            }
        }
    }

    public string PathOf(Seed seed, int file) => _paths[(seed, file)];

    public void Apply(Mutation m)
    {
        for (int f = 0; f < m.Seed.Files.Count; f++)
        {
            using var s = new FileStream(PathOf(m.Seed, f), FileMode.Open, FileAccess.ReadWrite);
            if (m.ChangesLength(f))
            {
                s.SetLength(m.LengthOf(f));
            }
            foreach (Patch p in m.PatchesOf(f))
            {
                if (p.Offset >= m.LengthOf(f))
                {
                    continue;
                }
                s.Position = p.Offset;
                s.Write(p.Bytes, 0, (int)Math.Min(p.Bytes.Length, m.LengthOf(f) - p.Offset));
            }
        }
    }

    public void Restore(Mutation m)
    {
        for (int f = 0; f < m.Seed.Files.Count; f++)
        {
            byte[] original = m.Seed.Files[f].Bytes;
            using var s = new FileStream(PathOf(m.Seed, f), FileMode.Open, FileAccess.ReadWrite);
            if (m.ChangesLength(f))
            {
                long cut = Math.Min(m.LengthOf(f), original.Length);
                s.SetLength(original.Length);
                s.Position = cut;
                s.Write(original, (int)cut, (int)(original.Length - cut));
            }
            foreach (Patch p in m.PatchesOf(f))
            {
                if (p.Offset >= original.Length)
                {
                    continue;
                }
                s.Position = p.Offset;
                s.Write(original, (int)p.Offset, (int)Math.Min(p.Bytes.Length, original.Length - p.Offset));
            }
        }
    }

    /// <summary>True when every scratch file is byte for byte its seed again.</summary>
    public string? FindChangedFile(IReadOnlyList<Seed> seeds)
    {
        foreach (Seed seed in seeds)
        {
            for (int f = 0; f < seed.Files.Count; f++)
            {
                string path = PathOf(seed, f);
                if (!SHA256.HashData(File.ReadAllBytes(path)).AsSpan().SequenceEqual(SHA256.HashData(seed.Files[f].Bytes)))
                {
                    return path;
                }
            }
        }
        return null;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
