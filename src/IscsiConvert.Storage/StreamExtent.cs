using System;
using System.Globalization;

namespace IscsiConvert.Storage;

/// <summary>A range of bytes in a stream: <see cref="Start"/> and <see cref="Length"/>.</summary>
public readonly struct StreamExtent : IEquatable<StreamExtent>
{
    /// <summary>Creates an extent.</summary>
    public StreamExtent(long start, long length)
    {
        if (start < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(start));
        }
        if (length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }
        Start = start;
        Length = length;
    }

    /// <summary>The first byte.</summary>
    public long Start { get; }

    /// <summary>The number of bytes.</summary>
    public long Length { get; }

    /// <summary>One past the last byte.</summary>
    public long End => Start + Length;

    /// <inheritdoc/>
    public bool Equals(StreamExtent other) => Start == other.Start && Length == other.Length;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StreamExtent other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => (Start, Length).GetHashCode();

    /// <inheritdoc/>
    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "[0x{0:X}, +0x{1:X})", Start, Length);

    /// <summary>Equality.</summary>
    public static bool operator ==(StreamExtent left, StreamExtent right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(StreamExtent left, StreamExtent right) => !left.Equals(right);
}
