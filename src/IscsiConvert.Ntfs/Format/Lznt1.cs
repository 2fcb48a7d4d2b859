using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// LZNT1 decompression, the scheme of NTFS compressed attributes: a sequence of chunks, each with a 16-bit header
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
