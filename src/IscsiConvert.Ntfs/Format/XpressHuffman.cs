using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// LZ77+Huffman decompression ([MS-XCA] 2.2), the XPRESS of WOF-compressed files (CompactOS) and of WIM resources.
/// Each block of up to 64 KiB of output starts with 256 bytes holding 512 4-bit code lengths (literals 0-255, then
/// match symbols 256-511: low nibble the length, high nibble the number of offset bits); a bit stream of 16-bit
/// little-endian words follows, read from the most significant bit, with the long-length escapes as whole bytes
/// between words. Every read is checked: a damaged chunk is a problem reported, never a read past either buffer.
/// </summary>
internal sealed class XpressHuffman
{
    private const int Symbols = 512;
    private const int TableBits = 15;
    private const int BlockSize = 65536;

    // Kept between calls: a file is thousands of 4 KiB chunks, and the table is 64 KiB.
    private readonly ushort[] _table = new ushort[1 << TableBits];
    private readonly byte[] _lengths = new byte[Symbols];

    /// <summary>Fills <paramref name="output"/> from <paramref name="input"/>; returns null, or what is wrong with the input.</summary>
    public static string? Decompress(ReadOnlySpan<byte> input, Span<byte> output) => new XpressHuffman().DecompressChunk(input, output);

    /// <summary>As <see cref="Decompress"/>, reusing this decoder's table.</summary>
    public string? DecompressChunk(ReadOnlySpan<byte> input, Span<byte> output)
    {
        ushort[] table = _table;
        byte[] lengths = _lengths;
        int inPos = 0;
        int outPos = 0;
        while (outPos < output.Length)
        {
            if (input.Length - inPos < 256)
            {
                return $"a block at input byte {inPos} has no room for its 256-byte code-length table";
            }
            for (int i = 0; i < 256; i++)
            {
                lengths[2 * i] = (byte)(input[inPos + i] & 0x0F);
                lengths[(2 * i) + 1] = (byte)(input[inPos + i] >> 4);
            }
            if (BuildTable(lengths, table) is { } problem)
            {
                return $"the block at input byte {inPos}: {problem}";
            }
            var bits = new BitReader(input, inPos + 256);
            int blockEnd = Math.Min(output.Length, outPos + BlockSize);
            while (outPos < blockEnd)
            {
                int symbol = table[bits.Peek(TableBits)];
                if (!bits.Skip(lengths[symbol]))
                {
                    return $"the bit stream ends at input byte {bits.Position}";
                }
                if (symbol < 256)
                {
                    output[outPos++] = (byte)symbol;
                    continue;
                }
                symbol -= 256;
                int length = symbol & 0x0F;
                int offsetBits = symbol >> 4;
                if (length == 15)
                {
                    if (!bits.ReadByte(out byte extra))
                    {
                        return $"a match length runs past the input at byte {bits.Position}";
                    }
                    length = extra;
                    if (length == 255)
                    {
                        if (!bits.ReadUInt16(out ushort wide))
                        {
                            return $"a match length runs past the input at byte {bits.Position}";
                        }
                        if (wide < 15)
                        {
                            return $"a match length of {wide} at input byte {bits.Position - 2} is below the 15 its escape implies";
                        }
                        length = wide - 15;
                    }
                    length += 15;
                }
                length += 3;
                int offset = (offsetBits == 0 ? 0 : bits.Peek(offsetBits)) + (1 << offsetBits);
                if (!bits.Skip(offsetBits))
                {
                    return $"the bit stream ends at input byte {bits.Position}";
                }
                if (offset > outPos)
                {
                    return $"a match at output byte {outPos} refers {offset} bytes back, before the start";
                }
                // Matches may cross the block's end and overlap their own output: copied byte by byte, up to the output's end.
                int end = Math.Min(output.Length, outPos + length);
                for (; outPos < end; outPos++)
                {
                    output[outPos] = output[outPos - offset];
                }
            }
            inPos = bits.Position;
        }
        return null;
    }

    // The canonical code: symbols in order of (length, value) take consecutive codes; a symbol of length L fills
    // 2^(15-L) entries of the 15-bit table. The lengths must describe a complete code, or some bit patterns decode to nothing.
    private static string? BuildTable(byte[] lengths, ushort[] table)
    {
        int entry = 0;
        for (int length = 1; length <= TableBits; length++)
        {
            int span = 1 << (TableBits - length);
            for (int symbol = 0; symbol < Symbols; symbol++)
            {
                if (lengths[symbol] != length)
                {
                    continue;
                }
                if (entry + span > table.Length)
                {
                    return "its code lengths describe more codes than fit (an over-subscribed Huffman code)";
                }
                table.AsSpan(entry, span).Fill((ushort)symbol);
                entry += span;
            }
        }
        return entry == table.Length ? null : "its code lengths leave codes unassigned (an incomplete Huffman code)";
    }

    /// <summary>
    /// The bit stream: a 32-bit window whose top bits are the next ones, refilled a 16-bit word at a time; words past
    /// the input read as zero (a stream's last symbols may need fewer bits than its last window holds), but a
    /// position far past the end is an error.
    /// </summary>
    private ref struct BitReader
    {
        private readonly ReadOnlySpan<byte> _input;
        private uint _window;
        private int _bitsInWindow;

        public BitReader(ReadOnlySpan<byte> input, int position)
        {
            _input = input;
            Position = position;
            _window = ((uint)Word(input, position) << 16) | Word(input, position + 2);
            Position += 4;
            _bitsInWindow = 32;
        }

        public int Position { get; private set; }

        public readonly int Peek(int count) => (int)(_window >> (32 - count));

        public bool Skip(int count)
        {
            _window <<= count;
            _bitsInWindow -= count;
            // Refilled as soon as fewer than 16 bits are left, not later: the escape bytes of long matches sit at the
            // next unread word, so where they are read depends on exactly when words are taken.
            if (_bitsInWindow < 16)
            {
                _window |= (uint)Word(_input, Position) << (16 - _bitsInWindow);
                _bitsInWindow += 16;
                Position += 2;
            }
            // A few zero words past the end are padding; more means the stream claims input that is not there.
            return Position <= _input.Length + 4;
        }

        public bool ReadByte(out byte value)
        {
            value = Position < _input.Length ? _input[Position] : (byte)0;
            Position++;
            return Position <= _input.Length;
        }

        public bool ReadUInt16(out ushort value)
        {
            value = Position + 2 <= _input.Length ? BinaryPrimitives.ReadUInt16LittleEndian(_input.Slice(Position)) : (ushort)0;
            Position += 2;
            return Position <= _input.Length;
        }

        private static ushort Word(ReadOnlySpan<byte> input, int at) =>
            at >= 0 && at + 2 <= input.Length ? BinaryPrimitives.ReadUInt16LittleEndian(input.Slice(at)) : (ushort)0;
    }
}
