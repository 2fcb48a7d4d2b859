using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
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
/// A mutation that shortens a file to a small part of it would have to write its whole tail back; instead that file is
/// written, cut and patched, into a second folder of the seed whose other files are hard links to the first (a differencing child still
/// finds its parent beside it), and removed afterwards. Every so often the files are hashed against the seeds: a
/// read-only open that changed a byte is caught (the shortened copies are compared after every execution).
/// </summary>
public sealed class ScratchFiles : IDisposable
{
    private readonly string _folder;
    private readonly Dictionary<(Seed, int), string> _paths = new();
    private readonly Dictionary<(Seed, int), string> _cutPaths = new();
    private readonly Dictionary<(Seed, int), byte[]> _hashes = new();
    private bool _links;
    private readonly Dictionary<int, byte[]> _cutBytes = new();
    private Seed? _cutSeed;
    private string? _changed;

    public ScratchFiles(IReadOnlyList<Seed> seeds)
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _folder = Path.Combine(root, "iscsiconvert-fuzz-" + Path.GetRandomFileName());
        Directory.CreateDirectory(_folder);
        _links = !OperatingSystem.IsWindows();
        for (int s = 0; s < seeds.Count; s++)
        {
            string dir = Path.Combine(_folder, s.ToString(System.Globalization.CultureInfo.InvariantCulture));
            string cutDir = dir + "-cut";
            Directory.CreateDirectory(dir);
            Directory.CreateDirectory(cutDir);
            for (int f = 0; f < seeds[s].Files.Count; f++)
            {
                string path = Path.Combine(dir, seeds[s].Files[f].Name);
                File.WriteAllBytes(path, seeds[s].Files[f].Bytes);
                _paths[(seeds[s], f)] = path;
                _hashes[(seeds[s], f)] = SHA256.HashData(seeds[s].Files[f].Bytes);
                string cutPath = Path.Combine(cutDir, seeds[s].Files[f].Name);
                _cutPaths[(seeds[s], f)] = cutPath;
                _links = _links && HardLink.TryCreate(path, cutPath);
            }
        }
    }

    /// <summary>The path the current execution opens: the second folder while one of the seed's files is shortened.</summary>
    public string PathOf(Seed seed, int file) => ReferenceEquals(seed, _cutSeed) ? _cutPaths[(seed, file)] : _paths[(seed, file)];

    public void Apply(Mutation m)
    {
        _cutSeed = null;
        _cutBytes.Clear();
        for (int f = 0; f < m.Seed.Files.Count; f++)
        {
            if (_links && m.ChangesLength(f) && m.LengthOf(f) < m.Seed.Files[f].Bytes.Length / 5)
            {
                // Cut and patched, written whole, when that costs less than writing the tail back (the copy is also
                // read back and compared: about four times its length). A cut near the end (a VHD footer) stays in place.
                byte[] bytes = m.Materialize(f);
                string path = _cutPaths[(m.Seed, f)];
                File.Delete(path);
                File.WriteAllBytes(path, bytes);
                _cutBytes[f] = bytes;
                _cutSeed = m.Seed;
                continue;
            }
            if (!m.ChangesLength(f) && !m.PatchesOf(f).Any())
            {
                continue;
            }
            using var s = new FileStream(_paths[(m.Seed, f)], FileMode.Open, FileAccess.ReadWrite);
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
            if (_cutBytes.TryGetValue(f, out byte[]? written))
            {
                string path = _cutPaths[(m.Seed, f)];
                if (!File.ReadAllBytes(path).AsSpan().SequenceEqual(written))
                {
                    _changed ??= path;
                }
                File.Delete(path);
                _links = HardLink.TryCreate(_paths[(m.Seed, f)], path);
                continue;
            }
            if (!m.ChangesLength(f) && !m.PatchesOf(f).Any())
            {
                continue;
            }
            byte[] original = m.Seed.Files[f].Bytes;
            using var s = new FileStream(_paths[(m.Seed, f)], FileMode.Open, FileAccess.ReadWrite);
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
        _cutSeed = null;
        _cutBytes.Clear();
    }

    /// <summary>The first scratch file that is no longer byte for byte its seed (or its cut copy), or null.</summary>
    public string? FindChangedFile(IReadOnlyList<Seed> seeds)
    {
        if (_changed is not null)
        {
            return _changed;
        }
        foreach (Seed seed in seeds)
        {
            for (int f = 0; f < seed.Files.Count; f++)
            {
                string path = _paths[(seed, f)];
                using FileStream s = File.OpenRead(path);
                if (!SHA256.HashData(s).AsSpan().SequenceEqual(_hashes[(seed, f)]))
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

/// <summary>link(2): a second name for a scratch file, so its patches are seen under both.</summary>
internal static class HardLink
{
    public static bool TryCreate(string existing, string link)
    {
        try
        {
            return NativeMethods.link(existing, link) == 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int link(string existing, string link);
    }
}
