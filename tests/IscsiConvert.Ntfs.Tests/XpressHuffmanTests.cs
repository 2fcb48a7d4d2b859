using System;
using CsCheck;
using IscsiConvert.Ntfs.Format;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// The XPRESS Huffman decoder on hostile input: whatever the bytes, it fills the output or says what is wrong, and
/// never reads past its input, writes past its output or throws. That it decodes what an independent compressor
/// wrote is shown against wimlib (<see cref="NtfsReparsedFileTests"/>).
/// </summary>
public sealed class XpressHuffmanTests
{
    // A code table every bit pattern decodes with (all 512 symbols 9 bits long: 512 x 2^6 = 2^15 entries, a complete
    // code), so random bits past it reach the match, escape and offset paths; or raw random bytes (mostly bad tables).
    private static readonly Gen<(byte[] Input, int OutputLength)> InputGen =
        Gen.Bool.SelectMany(completeTable => Gen.Byte.Array[0, 3000].Select(bits =>
        {
            if (!completeTable)
            {
                return bits;
            }
            var input = new byte[256 + bits.Length];
            input.AsSpan(0, 256).Fill(0x99);
            bits.CopyTo(input, 256);
            return input;
        })).Select(Gen.Int[0, 70_000]);

    [Fact]
    public void Any_input_fills_the_output_or_is_reported_never_thrown()
    {
        PropertyRuns.Check(InputGen, t =>
        {
            var output = new byte[t.OutputLength];
            _ = XpressHuffman.Decompress(t.Input, output);
        }, seeds: Array.Empty<string>(), ciSeconds: 5);
    }

    [Fact]
    public void Incomplete_and_oversubscribed_codes_are_reported()
    {
        var incomplete = new byte[300];
        incomplete[0] = 0x01; // symbol 0 one bit long, nothing else: half the codes decode to nothing
        Assert.Contains("incomplete", XpressHuffman.Decompress(incomplete, new byte[10]), StringComparison.Ordinal);
        var oversubscribed = new byte[300];
        oversubscribed[0] = 0x11;
        oversubscribed[1] = 0x01; // three symbols one bit long
        Assert.Contains("over-subscribed", XpressHuffman.Decompress(oversubscribed, new byte[10]), StringComparison.Ordinal);
        Assert.Contains("256-byte", XpressHuffman.Decompress(new byte[100], new byte[10]), StringComparison.Ordinal);
        Assert.Null(XpressHuffman.Decompress(Array.Empty<byte>(), Array.Empty<byte>()));
    }
}
