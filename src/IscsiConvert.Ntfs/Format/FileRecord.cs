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
    public const int FlagsOffset = 0x16;
    private const int UsedSizeOffset = 0x18;
    private const int AllocatedSizeOffset = 0x1C;
    private const int BaseRecordOffset = 0x20;
    private const int NextAttributeIdOffset = 0x28;
    private const int RecordNumberOffset = 0x2C;
    private const int UsaOffsetField = 0x04;
    private const int UsaCountField = 0x06;
    private const int LsnOffset = 0x08;
    private const int MinHeaderSize = 0x30;

    // NTFS 3.1 records keep the update sequence array right after the 0x30-byte header.
    private const int UsaOffset3x = 0x30;

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

    public ushort SequenceNumber { get; set; }

    public ushort LinkCount { get; set; }

    public ushort Flags { get; set; }

    /// <summary>The id the next attribute added to this record gets (ids are unique within a record).</summary>
    public ushort NextAttributeId { get; set; }

    /// <summary>The $LogFile sequence number of the last logged change (kept as found; 0 for new records).</summary>
    public long LogSequenceNumber { get; set; }

    public bool InUse => (Flags & FlagInUse) != 0;

    public bool IsDirectory => (Flags & FlagDirectory) != 0;

    /// <summary>The base record's number for an extension record, 0 for a base record.</summary>
    public long BaseRecordNumber { get; set; }

    /// <summary>The base record's full reference (number and sequence) as stored, 0 for a base record.</summary>
    public ulong BaseReference { get; set; }

    /// <summary>True for an extension record: it names a base record. $MFT's own extension records name record 0, so
    /// the reference (with its sequence number), not the record number, tells them from base records.</summary>
    public bool IsExtension => BaseReference != 0 || BaseRecordNumber != 0;

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
            BaseReference = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(BaseRecordOffset)),
            NextAttributeId = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(NextAttributeIdOffset)),
            LogSequenceNumber = BinaryPrimitives.ReadInt64LittleEndian(data.Slice(LsnOffset)),
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

    /// <summary>A new, empty in-use record (no attributes yet).</summary>
    public static FileRecord Create(long recordNumber, ushort sequenceNumber, ushort flags) => new(recordNumber)
    {
        SequenceNumber = sequenceNumber,
        Flags = flags,
    };

    /// <summary>Takes an attribute id for a new attribute of this record (above every id in use).</summary>
    public ushort TakeAttributeId()
    {
        ushort id = FirstFreeAttributeId();
        NextAttributeId = (ushort)(id + 1);
        return id;
    }

    // The header's next id, raised past any attribute that already uses it.
    private ushort FirstFreeAttributeId()
    {
        ushort id = NextAttributeId;
        foreach (AttributeRecord a in Attributes)
        {
            id = (ushort)Math.Max(id, a.Id + 1);
        }
        return id;
    }

    /// <summary>Where the first attribute starts in a record of <paramref name="recordSize"/> bytes.</summary>
    public static int FirstAttributePosition(int recordSize) => AttributeRecord.Align8(UsaOffset3x + (2 * ((recordSize / UpdateSequence.Stride) + 1)));

    /// <summary>Bytes the attributes take in the record, with the 8-byte end marker.</summary>
    public int UsedSize(int recordSize)
    {
        int used = FirstAttributePosition(recordSize) + 8;
        foreach (AttributeRecord a in Attributes)
        {
            used += a.Raw.Length;
        }
        return used;
    }

    /// <summary>
    /// Encodes the record in NTFS 3.1 layout (header, update sequence array, attributes in the order given, end
    /// marker) and applies the fixups with the next update sequence number. Throws when the attributes do not fit.
    /// </summary>
    public byte[] Encode(int recordSize, ushort updateSequenceNumber)
    {
        int used = UsedSize(recordSize);
        if (used > recordSize)
        {
            throw new InvalidOperationException($"MFT record {RecordNumber}: {used} bytes of attributes do not fit a {recordSize}-byte record.");
        }
        byte[] data = new byte[recordSize];
        Span<byte> d = data;
        Signature.CopyTo(d);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(UsaOffsetField), UsaOffset3x);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(UsaCountField), (ushort)((recordSize / UpdateSequence.Stride) + 1));
        BinaryPrimitives.WriteInt64LittleEndian(d.Slice(LsnOffset), LogSequenceNumber);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(SequenceNumberOffset), SequenceNumber);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(LinkCountOffset), LinkCount);
        int first = FirstAttributePosition(recordSize);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(FirstAttributeOffset), (ushort)first);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(FlagsOffset), Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(d.Slice(UsedSizeOffset), (uint)used);
        BinaryPrimitives.WriteUInt32LittleEndian(d.Slice(AllocatedSizeOffset), (uint)recordSize);
        BinaryPrimitives.WriteUInt64LittleEndian(d.Slice(BaseRecordOffset), BaseReference);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(NextAttributeIdOffset), FirstFreeAttributeId());
        BinaryPrimitives.WriteUInt32LittleEndian(d.Slice(RecordNumberOffset), (uint)RecordNumber);
        int pos = first;
        foreach (AttributeRecord a in Attributes)
        {
            a.Raw.CopyTo(d.Slice(pos));
            pos += a.Raw.Length;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(d.Slice(pos), AttributeType.End);
        UpdateSequence.Protect(data, updateSequenceNumber);
        return data;
    }
}
