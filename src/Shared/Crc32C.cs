using System;

namespace IscsiConvert.Shared;

/// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by VHDX headers, region tables, metadata and log entries.</summary>
internal static class Crc32C
{
    private static readonly uint[] Table = BuildTable(0x82F63B78u);

    /// <summary>Computes the CRC of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFFu, data);

    /// <summary>Continues a running (not yet inverted) CRC over more data.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
#if NET
        if (System.Runtime.Intrinsics.X86.Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = System.Runtime.Intrinsics.X86.Sse42.X64.Crc32(c, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data.Slice(8);
            }
            crc = (uint)c;
            foreach (byte b in data)
            {
                crc = System.Runtime.Intrinsics.X86.Sse42.Crc32(crc, b);
            }
            return crc;
        }
#endif
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    internal static uint[] BuildTable(uint polynomial)
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? polynomial ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
        return table;
    }
}

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by GPT headers and partition arrays.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Crc32C.BuildTable(0xEDB88320u);

    /// <summary>Computes the CRC of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return ~crc;
    }
}
