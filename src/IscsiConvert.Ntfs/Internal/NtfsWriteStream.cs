using System;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>A file's unnamed data stream opened for reading and writing through the volume's edits.</summary>
internal sealed class NtfsWriteStream : Stream
{
    private readonly NtfsVolume _volume;
    private readonly long _record;
    private long _position;
    private bool _changed;
    private bool _disposed;

    public NtfsWriteStream(NtfsVolume volume, long record)
    {
        _volume = volume;
        _record = record;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => !_disposed;

    public override bool CanWrite => !_disposed;

    public override long Length => _volume.Editor.Data.Find(_record, string.Empty)?.DataSize ?? 0;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ThrowIfDisposed();
        using Stream data = _volume.OpenDataForRead(_record);
        if (_position >= data.Length)
        {
            return 0;
        }
        data.Position = _position;
        int n = data.Read(buffer, offset, (int)Math.Min(count, data.Length - _position));
        _position += n;
        return n;
    }

#if NET
    // Not Stream's span read, which rents a pool array of the request's size (a whole hive: 16 MiB kept in the pool).
    public override int Read(Span<byte> buffer)
    {
        ThrowIfDisposed();
        using Stream data = _volume.OpenDataForRead(_record);
        if (_position >= data.Length)
        {
            return 0;
        }
        data.Position = _position;
        int n = data.Read(buffer.Slice(0, (int)Math.Min(buffer.Length, data.Length - _position)));
        _position += n;
        return n;
    }
#endif

    public override void Write(byte[] buffer, int offset, int count)
    {
        ThrowIfDisposed();
        long at = _position;
        if (HoldsAlready(at, buffer.AsSpan(offset, count)))
        {
            // Writing back what the file holds is no change: nothing staged, and no timestamp update on dispose.
            _position += count;
            return;
        }
        _volume.Edit(() =>
        {
            _volume.Editor.Data.Write(_record, string.Empty, at, buffer.AsSpan(offset, count));
            return 0;
        });
        _position += count;
        _changed = true;
    }

    private bool HoldsAlready(long at, ReadOnlySpan<byte> data)
    {
        if (data.Length == 0 || at + data.Length > Length)
        {
            return data.Length == 0;
        }
        byte[] current = new byte[data.Length];
        using Stream stream = _volume.OpenDataForRead(_record);
        return stream.ReadAtMost(at, current) == current.Length && data.SequenceEqual(current);
    }

    public override void SetLength(long value)
    {
        ThrowIfDisposed();
        if (value == Length)
        {
            return;
        }
        _volume.Edit(() =>
        {
            _volume.Editor.Data.SetLength(_record, string.Empty, value);
            return 0;
        });
        _changed = true;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
        ThrowIfDisposed();
        if (_changed)
        {
            _volume.Edit(() =>
            {
                _volume.Editor.RefreshNames(_record);
                return 0;
            });
            _changed = false;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            Flush();
            _disposed = true;
        }
        base.Dispose(disposing);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(NtfsWriteStream));
        }
    }
}
