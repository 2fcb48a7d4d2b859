using System;
using System.Buffers;
using System.IO;

namespace IscsiConvert.Shared;

/// <summary>Positional, exact reads and writes on any stream, for netstandard2.0 and net10.0 alike.</summary>
internal static class StreamExtensions
{
    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes at <paramref name="position"/>; returns the count read (less only at end of stream).</summary>
    public static int ReadAtMost(this Stream stream, long position, Span<byte> buffer)
    {
        stream.Position = position;
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.ReadSpan(buffer.Slice(total));
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <summary>Reads into a span on either target framework.</summary>
    public static int ReadSpan(this Stream stream, Span<byte> buffer)
    {
#if NET
        return stream.Read(buffer);
#else
        byte[] rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = stream.Read(rented, 0, buffer.Length);
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
#endif
    }

    /// <summary>Writes a span at <paramref name="position"/> on either target framework.</summary>
    public static void WriteAt(this Stream stream, long position, ReadOnlySpan<byte> data)
    {
        stream.Position = position;
        stream.WriteSpan(data);
    }

    /// <summary>Writes a span on either target framework.</summary>
    public static void WriteSpan(this Stream stream, ReadOnlySpan<byte> data)
    {
#if NET
        stream.Write(data);
#else
        byte[] rented = ArrayPool<byte>.Shared.Rent(data.Length);
        try
        {
            data.CopyTo(rented);
            stream.Write(rented, 0, data.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
#endif
    }

    /// <summary>True when every byte of <paramref name="data"/> is zero.</summary>
    public static bool IsAllZero(ReadOnlySpan<byte> data)
    {
#if NET
        return data.IndexOfAnyExcept((byte)0) < 0;
#else
        foreach (byte b in data)
        {
            if (b != 0)
            {
                return false;
            }
        }
        return true;
#endif
    }
}
