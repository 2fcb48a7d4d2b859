using System;
using System.Buffers.Binary;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// The Marvin32 keyed hash, as used (with a fixed seed) for the Hash-1 and Hash-2 fields of new-format log entries.
/// Written from the published description of the algorithm: 32-bit words mixed by add/rotate/xor rounds, a 0x80 pad.
/// </summary>
internal static class Marvin32
{
    /// <summary>The seed that registry transaction logs use (decimal 14219357686671994754).</summary>
    public const ulong RegistrySeed = 0x82EF4D887A4E55C5UL;

    public static ulong Compute(ReadOnlySpan<byte> data, ulong seed)
    {
        uint lo = (uint)seed;
        uint hi = (uint)(seed >> 32);
        int i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            lo += BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i));
            Mix(ref lo, ref hi);
        }
        // The 0 to 3 trailing bytes are followed by a 0x80 byte and zero-padded to a word.
        uint last = 0x80;
        for (int k = data.Length - 1; k >= i; k--)
        {
            last = (last << 8) | data[k];
        }
        lo += last;
        Mix(ref lo, ref hi);
        Mix(ref lo, ref hi);
        return ((ulong)hi << 32) | lo;
    }

    private static void Mix(ref uint lo, ref uint hi)
    {
        hi ^= lo;
        lo = RotateLeft(lo, 20);
        lo += hi;
        hi = RotateLeft(hi, 9);
        hi ^= lo;
        lo = RotateLeft(lo, 27);
        lo += hi;
        hi = RotateLeft(hi, 19);
    }

    private static uint RotateLeft(uint v, int n) => (v << n) | (v >> (32 - n));
}
