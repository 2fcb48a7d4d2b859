using System;
using System.Buffers.Binary;

namespace IscsiConvert.Registry.Format;

/// <summary>The 32-byte header of a hive bin ("hbin"), the unit in which the hive bins data grows.</summary>
internal static class HiveBin
{
    public const int HeaderSize = 32;
    public const int Alignment = 4096;
    public const int SignatureOffset = 0;
    public const int OffsetOffset = 4;
    public const int SizeOffset = 8;
    public const int TimestampOffset = 20;
    public const uint Signature = 0x6E696268; // "hbin"

    public static void WriteHeader(Span<byte> destination, int offset, int size)
    {
        destination.Slice(0, HeaderSize).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(SignatureOffset), Signature);
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(OffsetOffset), offset);
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(SizeOffset), size);
    }
}
