using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>What a simulated power failure keeps of the writes issued since the last flush.</summary>
public enum CrashKeeps
{
    /// <summary>Every unflushed write reached the disk.</summary>
    All,

    /// <summary>No unflushed write reached the disk.</summary>
    None,

    /// <summary>Only the last unflushed write reached the disk (the drive reordered them).</summary>
    LastOnly,
}

/// <summary>
/// A file wrapper that models a disk cache: writes and length changes are held until Flush makes them durable, and the
/// (N+1)th write throws as if the machine lost power. <see cref="Crash"/> then decides what of the unflushed writes
/// reached the file.
/// </summary>
internal sealed class CrashingStream : Stream
{
    private readonly FileStream _inner;
    private readonly List<(long Position, byte[]? Data, long Length)> _pending = new();
    private int _writesLeft;
    private long _position;

    public CrashingStream(FileStream inner, int writesBeforeCrash)
    {
        _inner = inner;
        _writesLeft = writesBeforeCrash;
    }

    public bool Crashed { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => true;

    public override long Length
    {
        get
        {
            long length = _inner.Length;
            foreach (var p in _pending)
            {
                length = p.Data is null ? p.Length : Math.Max(length, p.Position + p.Data.Length);
            }
            return length;
        }
    }

    public override long Position { get => _position; set => _position = value; }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ThrowIfCrashed();
        long length = Length;
        int n = (int)Math.Max(0, Math.Min(count, length - _position));
        Array.Clear(buffer, offset, n);
        _inner.Position = _position;
        int got = 0;
        while (got < n)
        {
            int r = _inner.Read(buffer, offset + got, n - got);
            if (r == 0)
            {
                break;
            }
            got += r;
        }
        foreach (var p in _pending)
        {
            if (p.Data is null)
            {
                if (p.Length < _position + n)
                {
                    long from = Math.Max(p.Length, _position);
                    Array.Clear(buffer, offset + (int)(from - _position), (int)(_position + n - from));
                }
                continue;
            }
            long s = Math.Max(p.Position, _position);
            long t = Math.Min(p.Position + p.Data.Length, _position + n);
            if (t > s)
            {
                Array.Copy(p.Data, s - p.Position, buffer, offset + (s - _position), t - s);
            }
        }
        _position += n;
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        CountWrite();
        _pending.Add((_position, buffer.AsSpan(offset, count).ToArray(), 0));
        _position += count;
    }

    public override void SetLength(long value)
    {
        CountWrite();
        _pending.Add((0, null, value));
    }

    public override void Flush()
    {
        ThrowIfCrashed();
        Apply(_pending);
        _pending.Clear();
        _inner.Flush(flushToDisk: true);
    }

    public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => Length + offset,
    };

    /// <summary>After the crash: lets <paramref name="keeps"/> of the unflushed writes reach the file, then closes it.</summary>
    public void Crash(CrashKeeps keeps)
    {
        if (keeps == CrashKeeps.All)
        {
            Apply(_pending);
        }
        else if (keeps == CrashKeeps.LastOnly && _pending.Count > 0)
        {
            Apply(_pending.GetRange(_pending.Count - 1, 1));
        }
        _pending.Clear();
        _inner.Dispose();
    }

    protected override void Dispose(bool disposing)
    {
        // The file is closed by Crash (or by Finish); a crashed disk's Dispose must not flush anything through.
        base.Dispose(disposing);
    }

    /// <summary>Closes the file after a run that did not crash.</summary>
    public void Finish()
    {
        Apply(_pending);
        _pending.Clear();
        _inner.Dispose();
    }

    private void Apply(List<(long Position, byte[]? Data, long Length)> ops)
    {
        foreach (var p in ops)
        {
            if (p.Data is null)
            {
                _inner.SetLength(p.Length);
            }
            else
            {
                _inner.Position = p.Position;
                _inner.Write(p.Data, 0, p.Data.Length);
            }
        }
    }

    private void CountWrite()
    {
        ThrowIfCrashed();
        if (_writesLeft-- <= 0)
        {
            Crashed = true;
            throw new IOException("simulated power failure");
        }
    }

    private void ThrowIfCrashed()
    {
        if (Crashed)
        {
            throw new IOException("simulated power failure (already crashed)");
        }
    }
}
