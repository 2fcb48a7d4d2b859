using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Storage;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The content of a file compressed by Windows Overlay Filter's file provider (CompactOS, <c>compact /exe</c>), read
/// from its <c>WofCompressedData</c> stream: a table of where each chunk after the first starts (4-byte entries, 8 for
/// files of 4 GiB or more, counted from the table's end), then the chunks, each compressed with XPRESS or stored as
/// is when compressing did not make it smaller — the layout of a WIM resource. Chunks are decompressed when read; the
/// last one is kept for the next read.
/// </summary>
internal sealed class WofStream : SparseStream
{
    private const long MaxTableBytes = 64L << 20;

    private readonly AttributeStream _compressed;
    private readonly long _length;
    private readonly int _chunkSize;
    private readonly long[] _starts;
    private readonly string _structure;
    private readonly long _volumeOffset;
    private readonly string? _filePath;
    private readonly XpressHuffman _decoder = new();
    private byte[]? _chunk;
    private long _cachedChunk = -1;

    private WofStream(AttributeStream compressed, long length, int chunkSize, long[] starts, string structure, long volumeOffset, string? filePath)
    {
        _compressed = compressed;
        _length = length;
        _chunkSize = chunkSize;
        _starts = starts;
        _structure = structure;
        _volumeOffset = volumeOffset;
        _filePath = filePath;
    }

    public override long Length => _length;

    protected override bool IsWritable => false;

    /// <summary>Reads and checks the chunk table; the chunks themselves are checked when read.</summary>
    /// <param name="compressed">The WofCompressedData stream.</param>
    /// <param name="length">The file's size (its unnamed stream's, which holds no data).</param>
    /// <param name="chunkSize">4, 8 or 16 KiB for XPRESS.</param>
    /// <param name="structure">Names the stream in errors.</param>
    /// <param name="volumeOffset">Where the stream's attribute record is, for errors.</param>
    /// <param name="filePath">The image, for errors.</param>
    /// <param name="volumeLength">The volume's size: no chunk table is larger than the volume that holds it.</param>
    public static WofStream Open(AttributeStream compressed, long length, int chunkSize, string structure, long volumeOffset, string? filePath, long volumeLength)
    {
        if (length < 0)
        {
            throw Corrupt(structure, volumeOffset, $"the file's size is negative ({length})", filePath);
        }
        long chunks = (length / chunkSize) + (length % chunkSize == 0 ? 0 : 1); // no overflow for a size near long.MaxValue
        int entrySize = length >= 1L << 32 ? 8 : 4;
        long tableBytes = Math.Max(0, chunks - 1) * entrySize;
        long stored = compressed.Length;
        // Checked before anything is allocated: a damaged size cannot ask for a table the stream does not hold.
        if (tableBytes > MaxTableBytes)
        {
            // 16 million chunks: a 64 GiB file in 4 KiB chunks. WOF compresses programs and system files, none near that.
            throw new UnsupportedFormatException($"{structure}: a WOF-compressed file of {length} bytes is larger than IscsiConvert reads ({MaxTableBytes}-byte chunk tables at most)", filePath);
        }
        if (tableBytes > stored || tableBytes > volumeLength)
        {
            throw Corrupt(structure, volumeOffset, $"a {length}-byte file needs a {tableBytes}-byte chunk table; the stream holds {stored} bytes on a {volumeLength}-byte volume", filePath);
        }
        var table = new byte[tableBytes];
        compressed.ReadAt(0, table);
        long dataBytes = stored - tableBytes;
        var starts = new long[chunks + 1];
        for (long i = 1; i < chunks; i++)
        {
            int at = (int)((i - 1) * entrySize);
            // An 8-byte entry past long's range is damage like any other: kept negative here, refused below.
            starts[i] = entrySize == 8 ? unchecked((long)BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(at))) : BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(at));
        }
        starts[chunks] = dataBytes;
        for (long i = 0; i < chunks; i++)
        {
            long expected = Math.Min(chunkSize, length - (i * chunkSize));
            // starts[i] was checked by the step before (starts[0] is 0): the difference cannot overflow once starts[i + 1] is not negative.
            if (starts[i + 1] < 0 || starts[i + 1] > dataBytes || starts[i + 1] - starts[i] <= 0 || starts[i + 1] - starts[i] > expected)
            {
                throw Corrupt(structure, volumeOffset, $"chunk {i} of {chunks} spans bytes {starts[i]}-{starts[i + 1]} of {dataBytes}: not a chunk of at most {expected} bytes", filePath);
            }
        }
        for (long i = 0; i <= chunks; i++)
        {
            starts[i] += tableBytes;
        }
        return new WofStream(compressed, length, chunkSize, starts, structure, volumeOffset, filePath);
    }

    public override IEnumerable<StreamExtent> GetExtents(long start, long length)
    {
        long end = Math.Min(start + length, _length);
        if (end > start)
        {
            yield return new StreamExtent(start, end - start);
        }
    }

    protected override void ReadCore(long position, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            long index = position / _chunkSize;
            byte[] chunk = Chunk(index);
            int within = (int)(position - (index * _chunkSize));
            int n = Math.Min(buffer.Length, chunk.Length - within);
            chunk.AsSpan(within, n).CopyTo(buffer);
            buffer = buffer.Slice(n);
            position += n;
        }
    }

    protected override void WriteCore(long position, ReadOnlySpan<byte> data) => throw new NotSupportedException("NTFS files are opened read-only.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _compressed.Dispose();
        }
        base.Dispose(disposing);
    }

    private byte[] Chunk(long index)
    {
        if (index == _cachedChunk && _chunk is not null)
        {
            return _chunk;
        }
        int size = (int)Math.Min(_chunkSize, _length - (index * _chunkSize));
        var input = new byte[_starts[index + 1] - _starts[index]];
        _compressed.ReadAt(_starts[index], input);
        var output = new byte[size];
        if (input.Length == size)
        {
            input.CopyTo(output, 0); // stored: compressing did not make it smaller
        }
        else if (_decoder.DecompressChunk(input, output) is { } problem)
        {
            throw Corrupt(_structure + $" chunk {index}", _volumeOffset, "XPRESS data does not decompress: " + problem, _filePath);
        }
        _chunk = output;
        _cachedChunk = index;
        return output;
    }

    private static CorruptDataException Corrupt(string structure, long offset, string problem, string? filePath) =>
        new("NTFS", structure, offset, problem, filePath);
}
