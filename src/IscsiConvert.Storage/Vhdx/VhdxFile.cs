using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;
using IscsiConvert.Storage.Journal;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// Positional access to the VHDX file. When a read-only open finds a log that needs replay, the replayed writes are kept
/// here as an overlay that every read sees, so the disk reads as if replayed while the file is never touched.
/// </summary>
internal sealed class VhdxFile : IDisposable
{
    private readonly Stream _stream;
    private IReadOnlyList<VhdxLogWrite> _overlay = Array.Empty<VhdxLogWrite>();
    private long _overlayStart = long.MaxValue;
    private long _overlayEnd;
    private long _overlayLength;

    public VhdxFile(Stream stream, string? path, bool writable)
    {
        _stream = stream;
        Path = path;
        Writable = writable;
    }

    public string? Path { get; }

    public bool Writable { get; }

    /// <summary>The file length, or the length the replayed log gives it (LastFileOffset) if that is larger.</summary>
    public long Length => Math.Max(_stream.Length, _overlayLength);

    /// <summary>The length of the file on disk, ignoring any in-memory replay.</summary>
    public long PhysicalLength => _stream.Length;

    /// <summary>True when a log replay is held in memory over the file (a read-only open of an image that needed one).</summary>
    public bool HasOverlay => _overlay.Count > 0;

    /// <summary>Makes every read see <paramref name="writes"/> applied in order, and the file at least <paramref name="length"/> bytes.</summary>
    public void SetOverlay(IReadOnlyList<VhdxLogWrite> writes, long length)
    {
        _overlay = writes;
        _overlayLength = length;
        foreach (VhdxLogWrite w in writes)
        {
            _overlayStart = Math.Min(_overlayStart, w.FileOffset);
            _overlayEnd = Math.Max(_overlayEnd, w.End);
        }
    }

    /// <summary>Reads a structure that must lie wholly inside the file, or throws <see cref="CorruptDataException"/> naming it.</summary>
    public void ReadExactly(long position, Span<byte> buffer, string structure)
    {
        if (position < 0 || position > Length - buffer.Length)
        {
            throw new CorruptDataException(VhdxFormat.Name, structure, position,
                $"{buffer.Length} bytes at this offset extend past the end of the file ({Length} bytes); the file is truncated", Path);
        }
        Read(position, buffer);
    }

    /// <summary>Reads; bytes past the end of the file read as zeros.</summary>
    public void Read(long position, Span<byte> buffer)
    {
        int n = _stream.ReadAtMost(position, buffer);
        buffer.Slice(n).Clear();
        if (_overlay.Count == 0 || position >= _overlayEnd || position + buffer.Length <= _overlayStart)
        {
            return;
        }
        long end = position + buffer.Length;
        foreach (VhdxLogWrite w in _overlay)
        {
            long s = Math.Max(w.FileOffset, position);
            long t = Math.Min(w.End, end);
            if (t <= s)
            {
                continue;
            }
            Span<byte> target = buffer.Slice((int)(s - position), (int)(t - s));
            if (w.Data is null)
            {
                target.Clear();
            }
            else
            {
                w.Data.AsSpan((int)(s - w.FileOffset), (int)(t - s)).CopyTo(target);
            }
        }
    }

    public void Write(long position, ReadOnlySpan<byte> data)
    {
        if (!Writable)
        {
            throw new InvalidOperationException("The VHDX file was opened read-only.");
        }
        _stream.WriteAt(position, data);
    }

    /// <summary>Writes <paramref name="length"/> zero bytes at <paramref name="position"/> in bounded pieces.</summary>
    public void WriteZeros(long position, long length)
    {
        byte[] zeros = new byte[(int)Math.Min(length, VhdxFormat.MiB)];
        while (length > 0)
        {
            int n = (int)Math.Min(length, zeros.Length);
            Write(position, zeros.AsSpan(0, n));
            position += n;
            length -= n;
        }
    }

    public void SetLength(long length)
    {
        if (!Writable)
        {
            throw new InvalidOperationException("The VHDX file was opened read-only.");
        }
        _stream.SetLength(length);
    }

    /// <summary>Makes everything written so far durable: the ordering of our metadata updates depends on it.</summary>
    public void FlushDurable()
    {
        if (_stream is FileStream fs)
        {
            fs.Flush(flushToDisk: true);
        }
        else
        {
            _stream.Flush();
        }
    }

    /// <summary>Orders the writes so far before the next ones for crash safety (<see cref="JournaledFileStream.FlushForOrdering"/>:
    /// skipped in a new image nothing uses yet).</summary>
    public void FlushForOrdering() => JournaledFileStream.FlushForOrdering(_stream);

    public void Dispose() => _stream.Dispose();
}
