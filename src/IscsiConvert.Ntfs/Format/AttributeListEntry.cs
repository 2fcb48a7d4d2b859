using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>An entry of $ATTRIBUTE_LIST: which MFT record holds which attribute (extent) of a file.</summary>
internal readonly struct AttributeListEntry
{
    private const int TypeOffset = 0x00;
    private const int LengthOffset = 0x04;
    private const int StartVcnOffset = 0x08;
    private const int ReferenceOffset = 0x10;
    private const int MinLength = 0x1A;

    public AttributeListEntry(uint type, long startVcn, long recordNumber)
    {
        Type = type;
        StartVcn = startVcn;
        RecordNumber = recordNumber;
    }

    public uint Type { get; }

    public long StartVcn { get; }

    public long RecordNumber { get; }

    public static List<AttributeListEntry> ReadAll(ReadOnlySpan<byte> value, long recordNumber, long volumeOffset, string? filePath)
    {
        var entries = new List<AttributeListEntry>();
        int pos = 0;
        while (pos + MinLength <= value.Length)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(value.Slice(pos + LengthOffset));
            if (length < MinLength || length > value.Length - pos)
            {
                throw new CorruptDataException("NTFS", $"MFT record {recordNumber} $ATTRIBUTE_LIST entry", volumeOffset + pos,
                    $"entry length {length} is shorter than an entry or runs past the list's {value.Length} bytes", filePath);
            }
            entries.Add(new AttributeListEntry(
                BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(pos + TypeOffset)),
                BinaryPrimitives.ReadInt64LittleEndian(value.Slice(pos + StartVcnOffset)),
                (long)(BinaryPrimitives.ReadUInt64LittleEndian(value.Slice(pos + ReferenceOffset)) & 0xFFFF_FFFF_FFFFUL)));
            pos += length;
        }
        return entries;
    }
}
