using System;
using System.IO;
using IscsiConvert.Shared;
using IscsiConvert.Storage;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>Positional, exact reads from the volume stream; a short read is corrupt data (a structure points past the end).</summary>
internal sealed class VolumeReader
{
    private readonly Stream _stream;
    private readonly object _lock = new();

    public VolumeReader(Stream stream, string? filePath)
    {
        _stream = stream;
        FilePath = filePath;
        Length = stream.Length;
    }

    public long Length { get; }

    public string? FilePath { get; }

    public Stream Stream => _stream;

    /// <summary>Changes not yet written to the stream; reads see them (set while the volume is being edited).</summary>
    public PendingWrites? Pending { get; set; }

    public void Read(long position, Span<byte> buffer, string structure)
    {
        if (position < 0 || position > Length - buffer.Length)
        {
            throw new CorruptDataException("NTFS", structure, position, $"{buffer.Length} bytes at this offset lie outside the {Length}-byte volume", FilePath);
        }
        if (Pending is { } pending && pending.TryRead(position, buffer))
        {
            return; // staged pages hold all of it
        }
        int n;
        if (_stream is SparseStream sparse)
        {
            n = sparse.ReadAt(position, buffer);
        }
        else
        {
            lock (_lock)
            {
                n = _stream.ReadAtMost(position, buffer);
            }
        }
        if (n != buffer.Length)
        {
            throw new CorruptDataException("NTFS", structure, position, $"read {n} of {buffer.Length} bytes", FilePath);
        }
        Pending?.Patch(position, buffer);
    }
}
