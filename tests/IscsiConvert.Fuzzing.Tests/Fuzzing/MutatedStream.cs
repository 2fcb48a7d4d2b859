using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Storage;

namespace IscsiConvert.Fuzzing;

/// <summary>
/// The harness's own guard fired: a parser read more bytes, allocated more memory or ran longer than the input can
/// justify. Never one of the allowed outcomes.
/// </summary>
public sealed class FuzzGuardException : Exception
{
    public FuzzGuardException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// A read-only, seekable view of one mutated file, reading the seed through the mutation's patches. Counts what the
/// parser reads and stops it (with <see cref="FuzzGuardException"/>) past a cap derived from the input's size: a
/// reader that loops over the same bytes forever fails here instead of hanging.
/// </summary>
public sealed class MutatedStream : Stream
{
    private readonly Mutation _mutation;
    private readonly int _file;
    private readonly ReadMeter _meter;
    private long _position;

    public MutatedStream(Mutation mutation, int file, ReadMeter meter)
    {
        _mutation = mutation;
        _file = file;
        _meter = meter;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _mutation.LengthOf(_file);

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _mutation.Read(_file, _position, buffer);
        _meter.Add(n);
        _position += n;
        return n;
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
    }

    public override void SetLength(long value) => throw new NotSupportedException("the fuzzer's input is read-only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the fuzzer's input is read-only");
}

/// <summary>The same view as a <see cref="SparseStream"/> (a whole disk for the partition-table readers).</summary>
public sealed class MutatedDisk : SparseStream
{
    private readonly Mutation _mutation;
    private readonly int _file;
    private readonly ReadMeter _meter;

    public MutatedDisk(Mutation mutation, int file, ReadMeter meter)
    {
        _mutation = mutation;
        _file = file;
        _meter = meter;
    }

    public override long Length => _mutation.LengthOf(_file);

    protected override bool IsWritable => false;

    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(Length, start + length);
        if (end > start)
        {
            yield return new StreamExtent(start, end - start);
        }
    }

    protected override void ReadCore(long position, Span<byte> buffer)
    {
        int n = _mutation.Read(_file, position, buffer);
        buffer.Slice(n).Clear();
        _meter.Add(buffer.Length);
    }

    protected override void WriteCore(long position, ReadOnlySpan<byte> data) =>
        throw new NotSupportedException("the fuzzer's input is read-only");
}

/// <summary>Bytes read by one execution, against its cap.</summary>
public sealed class ReadMeter
{
    public ReadMeter(long cap)
    {
        Cap = cap;
    }

    public long Cap { get; }

    public long Bytes { get; private set; }

    public void Add(long n)
    {
        Bytes += n;
        if (Bytes > Cap)
        {
            throw new FuzzGuardException($"read {Bytes} bytes, over the cap of {Cap} for this input");
        }
    }
}
