using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Tests;

/// <summary>
/// A stream over another that counts the bytes read and records every write (offset and length, in order) and every
/// flush, so a test can bound a reader's work and assert how much was written and in what order — the work, the write
/// budget and crash-safe ordering, never timings (docs/testing.md).
/// </summary>
public sealed class CountingStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;

    public CountingStream(Stream inner, bool leaveOpen = false)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Every write in order: where it started and how many bytes.</summary>
    public List<(long Offset, int Length)> Writes { get; } = new();

    /// <summary>The number of Flush calls, and how many writes had happened at each (to check ordering barriers).</summary>
    public List<int> FlushesAfterWrite { get; } = new();

    public long BytesWritten { get; private set; }

    /// <summary>Writes that start below this offset also have their bytes kept in <see cref="KeptWrites"/> (e.g. 4096 for
    /// a hive's base block, to read the sequence numbers each write carried).</summary>
    public long KeepWritesBelow { get; set; }

    /// <summary>The bytes of each write that started below <see cref="KeepWritesBelow"/>, with its index in <see cref="Writes"/>.</summary>
    public List<(int Index, byte[] Bytes)> KeptWrites { get; } = new();

    public int SetLengthCalls { get; private set; }

    public override bool CanRead => _inner.CanRead;

    public override bool CanSeek => _inner.CanSeek;

    public override bool CanWrite => _inner.CanWrite;

    public override long Length => _inner.Length;

    public override long Position
    {
        get => _inner.Position;
        set => _inner.Position = value;
    }

    public override void Flush()
    {
        FlushesAfterWrite.Add(Writes.Count);
        _inner.Flush();
    }

    /// <summary>Bytes returned by every read so far.</summary>
    public long BytesRead { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        BytesRead += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

    public override void SetLength(long value)
    {
        SetLengthCalls++;
        _inner.SetLength(value);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_inner.Position < KeepWritesBelow)
        {
            KeptWrites.Add((Writes.Count, buffer.ToArray()));
        }
        Writes.Add((_inner.Position, buffer.Length));
        BytesWritten += buffer.Length;
        _inner.Write(buffer);
    }

    public override void WriteByte(byte value) => Write(new[] { value }, 0, 1);

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_leaveOpen)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
