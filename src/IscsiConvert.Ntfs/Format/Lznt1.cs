using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// LZNT1 compression and decompression, the scheme of NTFS compressed attributes: a sequence of chunks, each with a 16-bit header
/// (bit 15: compressed; low 12 bits: stored size - 3) standing for up to 4 KiB of output. A compressed chunk is groups
/// of a flag byte and eight tokens: a literal byte, or a 16-bit back reference whose split between offset and length
/// bits depends on how far into the chunk the output is.
/// </summary>
internal static class Lznt1
{
    public const int ChunkSize = 4096;

    /// <summary>Decompresses <paramref name="input"/> into <paramref name="output"/>; returns the bytes produced.
    /// Output beyond a short chunk is zero-filled up to the next 4 KiB boundary, as NTFS expects.</summary>
    public static int Decompress(ReadOnlySpan<byte> input, Span<byte> output, string structure, long offset, string? filePath)
    {
        int inPos = 0;
        int outPos = 0;
        while (inPos + 2 <= input.Length && outPos < output.Length)
        {
            ushort header = BinaryPrimitives.ReadUInt16LittleEndian(input.Slice(inPos));
            if (header == 0)
            {
                break;
            }
            int stored = (header & 0x0FFF) + 1;
            int chunkStart = inPos + 2;
            if (stored > input.Length - chunkStart)
            {
                throw Corrupt(structure, offset + inPos, $"LZNT1 chunk of {stored} bytes runs past the compressed data", filePath);
            }
            ReadOnlySpan<byte> chunk = input.Slice(chunkStart, stored);
            Span<byte> target = output.Slice(outPos, Math.Min(ChunkSize, output.Length - outPos));
            int produced;
            if ((header & 0x8000) == 0)
            {
                produced = Math.Min(chunk.Length, target.Length);
                chunk.Slice(0, produced).CopyTo(target);
            }
            else
            {
                produced = DecompressChunk(chunk, target, structure, offset + chunkStart, filePath);
            }
            target.Slice(produced).Clear();
            outPos += target.Length;
            inPos = chunkStart + stored;
        }
        return outPos;
    }

    /// <summary>
    /// Compresses <paramref name="input"/> (a whole number of 4 KiB chunks, or a shorter last one) into a new array:
    /// each chunk is stored compressed when that is shorter, raw otherwise. Every chunk is written (no early end
    /// marker), so any reader gets the full output from the chunks alone.
    /// </summary>
    public static byte[] Compress(ReadOnlySpan<byte> input)
    {
        // A chunk at worst takes its 4 KiB raw plus its 2-byte header.
        byte[] output = new byte[input.Length + (2 * ((input.Length / ChunkSize) + 1))];
        int outPos = 0;
        int[] head = new int[HashSize];
        int[] previous = new int[ChunkSize];
        for (int start = 0; start < input.Length; start += ChunkSize)
        {
            ReadOnlySpan<byte> chunk = input.Slice(start, Math.Min(ChunkSize, input.Length - start));
            int size = CompressChunk(chunk, output.AsSpan(outPos + 2), head, previous);
            ushort header;
            if (size < 0 || size >= chunk.Length)
            {
                chunk.CopyTo(output.AsSpan(outPos + 2));
                size = chunk.Length;
                header = (ushort)(0x3000 | (size - 1));
            }
            else
            {
                header = (ushort)(0xB000 | (size - 1));
            }
            BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(outPos), header);
            outPos += 2 + size;
        }
        return output.AsSpan(0, outPos).ToArray();
    }

    private const int HashBits = 12;
    private const int HashSize = 1 << HashBits;
    private const int MinMatch = 3;
    private const int MaxChainSteps = 64;

    // Greedy LZ77 over one chunk with hash chains on three-byte prefixes. Returns the body size, or -1 as soon as the
    // body would not be shorter than the chunk (the caller then stores it raw).
    private static int CompressChunk(ReadOnlySpan<byte> chunk, Span<byte> body, int[] head, int[] previous)
    {
        head.AsSpan().Fill(-1);
        int inPos = 0;
        int outPos = 0;
        int limit = chunk.Length;
        while (inPos < chunk.Length)
        {
            int flagPos = outPos++;
            byte flags = 0;
            for (int bit = 0; bit < 8 && inPos < chunk.Length; bit++)
            {
                if (outPos + 3 >= limit)
                {
                    return -1;
                }
                int offsetBits = OffsetBits(inPos);
                int lengthBits = 16 - offsetBits;
                int maxLength = Math.Min((1 << lengthBits) + 2, chunk.Length - inPos);
                int maxBack = 1 << offsetBits;
                (int length, int back) = LongestMatch(chunk, inPos, maxLength, maxBack, head, previous);
                if (length >= MinMatch)
                {
                    ushort token = (ushort)(((back - 1) << lengthBits) | (length - MinMatch));
                    BinaryPrimitives.WriteUInt16LittleEndian(body.Slice(outPos), token);
                    outPos += 2;
                    flags |= (byte)(1 << bit);
                    for (int i = 0; i < length; i++)
                    {
                        Insert(chunk, inPos + i, head, previous);
                    }
                    inPos += length;
                }
                else
                {
                    body[outPos++] = chunk[inPos];
                    Insert(chunk, inPos, head, previous);
                    inPos++;
                }
            }
            body[flagPos] = flags;
        }
        return outPos < limit ? outPos : -1;
    }

    // The width of a back reference's displacement field once `position` bytes of the chunk are out (at least 4 bits,
    // growing while 2^bits is below the position): the decompressor's rule, mirrored.
    private static int OffsetBits(int position)
    {
        int bits = 4;
        while ((1 << bits) < position)
        {
            bits++;
        }
        return bits;
    }

    private static int Hash(ReadOnlySpan<byte> chunk, int at) =>
        ((chunk[at] << 8) ^ (chunk[at + 1] << 4) ^ chunk[at + 2]) & (HashSize - 1);

    private static void Insert(ReadOnlySpan<byte> chunk, int at, int[] head, int[] previous)
    {
        if (at + MinMatch > chunk.Length)
        {
            return;
        }
        int h = Hash(chunk, at);
        previous[at] = head[h];
        head[h] = at;
    }

    private static (int Length, int Back) LongestMatch(ReadOnlySpan<byte> chunk, int at, int maxLength, int maxBack, int[] head, int[] previous)
    {
        if (maxLength < MinMatch)
        {
            return (0, 0);
        }
        int bestLength = 0;
        int bestBack = 0;
        int candidate = head[Hash(chunk, at)];
        for (int steps = 0; candidate >= 0 && at - candidate <= maxBack && steps < MaxChainSteps; steps++)
        {
            // The match may run into the bytes it copies (a back reference shorter than its length repeats them).
            int length = 0;
            while (length < maxLength && chunk[candidate + length] == chunk[at + length])
            {
                length++;
            }
            if (length > bestLength)
            {
                bestLength = length;
                bestBack = at - candidate;
                if (length == maxLength)
                {
                    break;
                }
            }
            candidate = previous[candidate];
        }
        return (bestLength, bestBack);
    }

    private static int DecompressChunk(ReadOnlySpan<byte> chunk, Span<byte> target, string structure, long offset, string? filePath)
    {
        int inPos = 0;
        int outPos = 0;
        while (inPos < chunk.Length && outPos < target.Length)
        {
            byte flags = chunk[inPos++];
            for (int bit = 0; bit < 8 && inPos < chunk.Length && outPos < target.Length; bit++)
            {
                if ((flags & (1 << bit)) == 0)
                {
                    target[outPos++] = chunk[inPos++];
                    continue;
                }
                if (inPos + 2 > chunk.Length)
                {
                    throw Corrupt(structure, offset + inPos, "LZNT1 back reference is cut off", filePath);
                }
                ushort token = BinaryPrimitives.ReadUInt16LittleEndian(chunk.Slice(inPos));
                inPos += 2;

                // The displacement field widens from 4 bits as the output position passes each power of two.
                int offsetBits = 4;
                while ((1 << offsetBits) < outPos)
                {
                    offsetBits++;
                }
                int lengthBits = 16 - offsetBits;
                int back = (token >> lengthBits) + 1;
                int length = (token & ((1 << lengthBits) - 1)) + 3;
                if (back > outPos)
                {
                    throw Corrupt(structure, offset + inPos - 2, $"LZNT1 back reference {back} reaches before the chunk start ({outPos} bytes produced)", filePath);
                }
                length = Math.Min(length, target.Length - outPos);
                for (int i = 0; i < length; i++)
                {
                    target[outPos] = target[outPos - back];
                    outPos++;
                }
            }
        }
        return outPos;
    }

    private static CorruptDataException Corrupt(string structure, long offset, string problem, string? filePath) =>
        new("NTFS", structure, offset, problem, filePath);
}
