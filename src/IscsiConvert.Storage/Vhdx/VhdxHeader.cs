using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// One of the two 4 KiB headers (at 64 KiB and 128 KiB). The valid header with the higher sequence number is current;
/// headers are never updated through the log, which is why there are two of them.
/// </summary>
internal sealed record VhdxHeader
{
    public const int Size = 4096;
    private const int SignatureOffset = 0;
    private const int ChecksumOffset = 4;
    private const int SequenceNumberOffset = 8;
    private const int FileWriteGuidOffset = 16;
    private const int DataWriteGuidOffset = 32;
    private const int LogGuidOffset = 48;
    private const int LogVersionOffset = 64;
    private const int VersionOffset = 66;
    private const int LogLengthOffset = 68;
    private const int LogOffsetOffset = 72;
    private const uint Signature = 0x64616568; // "head"

    /// <summary>The only header version defined.</summary>
    public const ushort CurrentVersion = 1;

    public ulong SequenceNumber { get; init; }
    public Guid FileWriteGuid { get; init; }
    public Guid DataWriteGuid { get; init; }

    /// <summary>Non-zero while the log holds entries that must be replayed.</summary>
    public Guid LogGuid { get; init; }
    public ushort LogVersion { get; init; }
    public ushort Version { get; init; }
    public uint LogLength { get; init; }
    public long LogOffset { get; init; }

    /// <summary>Parses a header; returns null with the reason when the signature or checksum is wrong (the other copy may be good).</summary>
    public static VhdxHeader? TryReadFrom(ReadOnlySpan<byte> block, out string problem)
    {
        uint signature = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(SignatureOffset));
        if (signature != Signature)
        {
            problem = $"signature 0x{signature:X8} is not \"head\"";
            return null;
        }
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(ChecksumOffset));
        uint actual = VhdxFormat.Checksum(block.Slice(0, Size));
        if (stored != actual)
        {
            problem = $"CRC-32C is 0x{actual:X8}, expected the stored 0x{stored:X8}";
            return null;
        }
        problem = string.Empty;
        return new VhdxHeader
        {
            SequenceNumber = BinaryPrimitives.ReadUInt64LittleEndian(block.Slice(SequenceNumberOffset)),
            FileWriteGuid = VhdxFormat.ReadGuid(block.Slice(FileWriteGuidOffset)),
            DataWriteGuid = VhdxFormat.ReadGuid(block.Slice(DataWriteGuidOffset)),
            LogGuid = VhdxFormat.ReadGuid(block.Slice(LogGuidOffset)),
            LogVersion = BinaryPrimitives.ReadUInt16LittleEndian(block.Slice(LogVersionOffset)),
            Version = BinaryPrimitives.ReadUInt16LittleEndian(block.Slice(VersionOffset)),
            LogLength = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(LogLengthOffset)),
            LogOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(block.Slice(LogOffsetOffset)), long.MaxValue),
        };
    }

    /// <summary>Writes the 4 KiB header with its checksum.</summary>
    public void WriteTo(Span<byte> block)
    {
        block = block.Slice(0, Size);
        block.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(block.Slice(SignatureOffset), Signature);
        BinaryPrimitives.WriteUInt64LittleEndian(block.Slice(SequenceNumberOffset), SequenceNumber);
        VhdxFormat.WriteGuid(FileWriteGuid, block.Slice(FileWriteGuidOffset));
        VhdxFormat.WriteGuid(DataWriteGuid, block.Slice(DataWriteGuidOffset));
        VhdxFormat.WriteGuid(LogGuid, block.Slice(LogGuidOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(block.Slice(LogVersionOffset), LogVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(block.Slice(VersionOffset), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(block.Slice(LogLengthOffset), LogLength);
        BinaryPrimitives.WriteUInt64LittleEndian(block.Slice(LogOffsetOffset), (ulong)LogOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(block.Slice(ChecksumOffset), VhdxFormat.Checksum(block));
    }
}
