using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>An MFT entry ("FILE" record) after its fixups: header fields and its attributes in on-disk order.</summary>
internal sealed class FileRecord
{
    private const int SequenceNumberOffset = 0x10;
    private const int LinkCountOffset = 0x12;
    private const int FirstAttributeOffset = 0x14;
    private const int FlagsOffset = 0x16;
    private const int UsedSizeOffset = 0x18;
    private const int AllocatedSizeOffset = 0x1C;
    private const int BaseRecordOffset = 0x20;
    private const int MinHeaderSize = 0x30;

    public const ushort FlagInUse = 0x0001;
    public const ushort FlagDirectory = 0x0002;

    // A 64 KiB record cannot hold more than this many attribute headers; a bound against loops on garbage.
    private const int MaxAttributes = 4096;

    private static readonly byte[] Signature = { (byte)'F', (byte)'I', (byte)'L', (byte)'E' };

    private FileRecord(long recordNumber)
    {
        RecordNumber = recordNumber;
    }

    public long RecordNumber { get; }

    public ushort SequenceNumber { get; private set; }

    public ushort LinkCount { get; private set; }

    public ushort Flags { get; private set; }

    public bool InUse => (Flags & FlagInUse) != 0;

    public bool IsDirectory => (Flags & FlagDirectory) != 0;

    /// <summary>The base record's number for an extension record, 0 for a base record.</summary>
    public long BaseRecordNumber { get; private set; }

    public List<AttributeRecord> Attributes { get; } = new();

    /// <summary>True when the bytes start with "FILE" (an unused, never-written record is all zeros).</summary>
    public static bool HasSignature(ReadOnlySpan<byte> data) => data.Length >= 4 && data.Slice(0, 4).SequenceEqual(Signature);

    /// <summary>Applies fixups to <paramref name="data"/> in place and parses it.</summary>
    public static FileRecord ReadFrom(Span<byte> data, long recordNumber, long volumeOffset, long totalClusters, string? filePath)
    {
        string structure = $"MFT record {recordNumber}";
        if (!HasSignature(data))
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset, "the record does not start with \"FILE\"", filePath);
        }
        UpdateSequence.Apply(data, structure, volumeOffset, filePath);
        var record = new FileRecord(recordNumber)
        {
            SequenceNumber = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(SequenceNumberOffset)),
            LinkCount = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(LinkCountOffset)),
            Flags = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(FlagsOffset)),
            BaseRecordNumber = (long)(BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(BaseRecordOffset)) & 0xFFFF_FFFF_FFFFUL),
        };
        uint usedSize = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(UsedSizeOffset));
        uint allocatedSize = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(AllocatedSizeOffset));
        if (allocatedSize != data.Length || usedSize > allocatedSize || usedSize < MinHeaderSize)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + UsedSizeOffset,
                $"used size {usedSize} / allocated size {allocatedSize} do not fit a {data.Length}-byte record", filePath);
        }
        int pos = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(FirstAttributeOffset));
        if (pos < MinHeaderSize || pos > usedSize - 4 || (pos & 7) != 0)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + FirstAttributeOffset, $"the first attribute offset {pos} is outside the used {usedSize} bytes", filePath);
        }
        ReadOnlySpan<byte> used = data.Slice(0, (int)usedSize);
        for (int n = 0; ; n++)
        {
            if (pos > used.Length - 4)
            {
                throw new CorruptDataException("NTFS", structure, volumeOffset + pos, "the attribute list runs past the used size without an end marker", filePath);
            }
            (uint type, int length) = AttributeRecord.PeekHeader(used.Slice(pos));
            if (type == AttributeType.End)
            {
                break;
            }
            if (n >= MaxAttributes || length < 0x18 || (length & 7) != 0 || length > used.Length - pos)
            {
                throw new CorruptDataException("NTFS", structure, volumeOffset + pos + 4,
                    $"attribute 0x{type:X} has length {length}, which overflows the used {usedSize} bytes of the record", filePath);
            }
            record.Attributes.Add(AttributeRecord.ReadFrom(used.Slice(pos, length), recordNumber, volumeOffset + pos, totalClusters, filePath));
            pos += length;
        }
        return record;
    }
}
