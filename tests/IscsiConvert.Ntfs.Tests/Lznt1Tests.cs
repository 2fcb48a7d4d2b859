using System;
using System.Linq;
using System.Text;
using CsCheck;
using IscsiConvert.Ntfs.Format;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Our LZNT1 compressor against our decompressor (a round trip over random, repetitive and zero-filled data), and
/// against the worked example of the format description. That independent readers decompress what we compress is shown
/// by NtfsSparseCompressedWriteTests (icat and ntfscat read units we stored).
/// </summary>
public sealed class Lznt1Tests
{
    // Bytes of one of three kinds: random (incompressible), drawn from a small alphabet (matches at every distance),
    // or zeros with a few bytes set (long matches, the longest lengths).
    private static readonly Gen<byte[]> DataGen = Gen.Int[0, 2].SelectMany(kind => Gen.Int[0, 3 * Lznt1.ChunkSize + 100].SelectMany(length => kind switch
    {
        0 => Gen.Byte.Array[length],
        1 => Gen.Byte[0, 3].Array[length],
        _ => Gen.Int[0, Math.Max(0, length - 1)].Array[0, 8].Select(set =>
        {
            byte[] data = new byte[length];
            foreach (int i in set.Where(i => i < length))
            {
                data[i] = 0x5A;
            }
            return data;
        }),
    }));

    [Fact]
    public void Compressed_data_decompresses_to_the_input()
    {
        PropertyRuns.Check(DataGen, data =>
        {
            byte[] compressed = Lznt1.Compress(data);
            int chunks = (data.Length + Lznt1.ChunkSize - 1) / Lznt1.ChunkSize;
            Assert.True(compressed.Length <= data.Length + (2 * chunks), $"{compressed.Length} bytes for {data.Length}");
            byte[] output = new byte[chunks * Lznt1.ChunkSize];
            Lznt1.Decompress(compressed, output, "test", 0, null);
            Assert.Equal(data, output.AsSpan(0, data.Length).ToArray());
        }, seeds: Array.Empty<string>(), ciSeconds: 5);
    }

    [Fact]
    public void Repetitive_data_compresses_and_random_data_is_stored_raw()
    {
        byte[] zeros = new byte[16 * Lznt1.ChunkSize];
        Assert.True(Lznt1.Compress(zeros).Length < 16 * 8, "a zero chunk takes a few bytes");
        byte[] random = new byte[Lznt1.ChunkSize];
        new Random(1).NextBytes(random);
        byte[] stored = Lznt1.Compress(random);
        Assert.Equal(Lznt1.ChunkSize + 2, stored.Length);
        Assert.Equal(0x3FFF, stored[0] | (stored[1] << 8)); // uncompressed: signature 3, size 4096
    }

    [Fact]
    public void The_format_descriptions_example_round_trips_and_compresses_as_well()
    {
        // The 142-byte string of the worked example in the LZNT1 section of the format description; its compressor made
        // 59 bytes (header included). A greedy compressor need not match those bytes, but must not do much worse.
        byte[] input = Encoding.ASCII.GetBytes("F# F# G A A G F# E D D E F# F# E E F# F# G A A G F# E D D E F# E D D E E F# D E F# G F# D E F# G F# E D E A F# F# G A A G F# E D D E F# E D D\0");
        Assert.Equal(142, input.Length);
        byte[] compressed = Lznt1.Compress(input);
        Assert.True(compressed.Length <= 70, $"{compressed.Length} bytes");
        Assert.Equal(0xB000, (compressed[0] | (compressed[1] << 8)) & 0xF000);
        byte[] output = new byte[Lznt1.ChunkSize];
        Lznt1.Decompress(compressed, output, "test", 0, null);
        Assert.Equal(input, output.AsSpan(0, input.Length).ToArray());
    }
}
