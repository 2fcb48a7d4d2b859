using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace IscsiConvert.Fuzzing;

/// <summary>Bytes written over one file of a seed, in the seed's coordinates.</summary>
public sealed record Patch(long Offset, byte[] Bytes);

/// <summary>
/// One mutated input: patches over the seed's files (applied in order) and, per file, an optional new length
/// (truncation, or extension with zeros). Small whatever the seed's size, so a multi-megabyte image is mutated
/// without being copied.
/// </summary>
public sealed class Mutation
{
    private readonly List<(int File, Patch Patch)> _patches = new();
    private readonly Dictionary<int, long> _lengths = new();
    private readonly List<string> _steps = new();

    public Mutation(Seed seed)
    {
        Seed = seed;
    }

    public Seed Seed { get; }

    public IReadOnlyList<(int File, Patch Patch)> Patches => _patches;

    public IReadOnlyList<string> Steps => _steps;

    public long LengthOf(int file) => _lengths.TryGetValue(file, out long l) ? l : Seed.Files[file].Bytes.Length;

    public bool ChangesLength(int file) => _lengths.ContainsKey(file);

    public void Write(int file, long offset, byte[] bytes, string step)
    {
        if (offset < 0 || bytes.Length == 0)
        {
            return;
        }
        _patches.Add((file, new Patch(offset, bytes)));
        _steps.Add(step);
    }

    public void SetLength(int file, long length, string step)
    {
        _lengths[file] = Math.Max(0, length);
        _steps.Add(step);
    }

    /// <summary>Reads the mutated file (patches applied over the original, zeros past its end, cut at the new length).</summary>
    public int Read(int file, long position, Span<byte> buffer)
    {
        long length = LengthOf(file);
        if (position < 0 || position >= length)
        {
            return 0;
        }
        int n = (int)Math.Min(buffer.Length, length - position);
        buffer = buffer.Slice(0, n);
        byte[] original = Seed.Files[file].Bytes;
        if (position < original.Length)
        {
            int fromOriginal = (int)Math.Min(n, original.Length - position);
            original.AsSpan((int)position, fromOriginal).CopyTo(buffer);
            buffer.Slice(fromOriginal).Clear();
        }
        else
        {
            buffer.Clear();
        }
        foreach ((int f, Patch p) in _patches)
        {
            if (f != file || p.Offset >= position + n || p.Offset + p.Bytes.Length <= position)
            {
                continue;
            }
            long from = Math.Max(p.Offset, position);
            long to = Math.Min(p.Offset + p.Bytes.Length, position + n);
            p.Bytes.AsSpan((int)(from - p.Offset), (int)(to - from)).CopyTo(buffer.Slice((int)(from - position)));
        }
        return n;
    }

    public byte[] ReadBytes(int file, long position, int count)
    {
        byte[] b = new byte[count];
        int n = Read(file, position, b);
        return n == count ? b : b.AsSpan(0, n).ToArray();
    }

    /// <summary>The whole mutated file (for small inputs such as INF text).</summary>
    public byte[] Materialize(int file)
    {
        byte[] all = new byte[LengthOf(file)];
        Read(file, 0, all);
        return all;
    }

    /// <summary>What was done, enough to rebuild the input from the seed file (printed with every failure).</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("seed ").Append(Seed.Name).Append(':');
        foreach (string s in _steps)
        {
            sb.Append("\n  ").Append(s);
        }
        return sb.ToString();
    }

    internal static string Hex(byte[] bytes) =>
        bytes.Length <= 16
            ? Convert.ToHexString(bytes)
            : Convert.ToHexString(bytes, 0, 16) + "…(" + bytes.Length.ToString(CultureInfo.InvariantCulture) + " bytes)";

    internal static string At(int file, long offset, Seed seed) =>
        (seed.Files.Count > 1 ? seed.Files[file].Name + "@" : "@") + "0x" + offset.ToString("X", CultureInfo.InvariantCulture);

    /// <summary>Offsets of every byte a patch touched in <paramref name="file"/>, for checksum repair.</summary>
    public IEnumerable<Patch> PatchesOf(int file) => _patches.Where(p => p.File == file).Select(p => p.Patch);
}
