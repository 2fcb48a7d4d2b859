using System;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// The open image file with its cluster geometry: positional I/O and the bounds checks every table offset read from
/// the file must pass before it is followed.
/// </summary>
internal sealed class Qcow2File
{
    public Qcow2File(FileStream stream, string? path, int clusterBits, bool writable)
    {
        Stream = stream;
        Path = path;
        ClusterBits = clusterBits;
        Writable = writable;
    }

    public FileStream Stream { get; }

    public string? Path { get; }

    public int ClusterBits { get; }

    public long ClusterSize => 1L << ClusterBits;

    public bool Writable { get; }

    public long Length => Stream.Length;

    public CorruptDataException Corrupt(string structure, long offset, string problem) =>
        new(Qcow2Header.FormatName, structure, offset, problem, Path);

    /// <summary>
    /// Checks that a table of <paramref name="length"/> bytes at <paramref name="offset"/> is cluster-aligned, lies after
    /// the header cluster and inside the file (overflow-proof). With <paramref name="pastEndAllowed"/> a table past the
    /// end of the file (a truncated read-only image) passes: reading it fails then, naming it.
    /// </summary>
    public void CheckTable(string structure, long offset, long length, long recordedAt, bool pastEndAllowed = false)
    {
        if ((offset & (ClusterSize - 1)) != 0)
        {
            throw Corrupt(structure, recordedAt, $"offset 0x{offset:X} is not aligned to the {ClusterSize}-byte cluster size");
        }
        if (offset < ClusterSize)
        {
            throw Corrupt(structure, recordedAt, $"offset 0x{offset:X} overlaps the header cluster");
        }
        if (length < 0 || (offset > Length - length && !pastEndAllowed))
        {
            throw Corrupt(structure, recordedAt, $"{length} bytes at 0x{offset:X} extend past the end of the file ({Length} bytes)");
        }
    }

    /// <summary>Reads exactly; the caller has bounds-checked the range.</summary>
    public void Read(long offset, Span<byte> buffer, string structure) =>
        ImageFile.ReadExactly(Stream, offset, buffer, Qcow2Header.FormatName, structure, Path);

    /// <summary>Reads what the file holds at <paramref name="offset"/>, zero-filling past its end.</summary>
    public void ReadZeroFilled(long offset, Span<byte> buffer)
    {
        int n = offset >= Length ? 0 : Stream.ReadAtMost(offset, buffer);
        buffer.Slice(n).Clear();
    }

    public void Write(long offset, ReadOnlySpan<byte> data) => Stream.WriteAt(offset, data);
}
