using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>An entry of $ATTRIBUTE_LIST: which MFT record holds which attribute (extent) of a file — its type, name,
/// lowest VCN, the record's file reference and the attribute's instance id in that record.</summary>
internal readonly struct AttributeListEntry
{
    private const int TypeOffset = 0x00;
    private const int LengthOffset = 0x04;
    private const int NameLengthOffset = 0x06;
    private const int NameOffsetOffset = 0x07;
    private const int StartVcnOffset = 0x08;
    private const int ReferenceOffset = 0x10;
    private const int IdOffset = 0x18;
    private const int MinLength = 0x1A;

    public AttributeListEntry(uint type, string name, long startVcn, ulong reference, ushort id)
    {
        Type = type;
        Name = name;
        StartVcn = startVcn;
        Reference = reference;
        Id = id;
    }

    public uint Type { get; }

    public string Name { get; }

    public long StartVcn { get; }

    /// <summary>The holding record's file reference: record number (low 48 bits) and sequence number.</summary>
    public ulong Reference { get; }

    public long RecordNumber => (long)(Reference & 0xFFFF_FFFF_FFFFUL);

    /// <summary>The attribute's instance id in the holding record.</summary>
    public ushort Id { get; }

    /// <summary>Bytes this entry takes in the list: the fixed part and the name, 8-byte aligned.</summary>
    public int EncodedLength => AttributeRecord.Align8(MinLength + (2 * Name.Length));

    public static List<AttributeListEntry> ReadAll(ReadOnlySpan<byte> value, long recordNumber, long volumeOffset, string? filePath)
    {
        var entries = new List<AttributeListEntry>();
        int pos = 0;
        while (pos + MinLength <= value.Length)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(value.Slice(pos + LengthOffset));
            int nameLength = value[pos + NameLengthOffset];
            int nameOffset = value[pos + NameOffsetOffset];
            if (length < MinLength || length > value.Length - pos || (nameLength > 0 && nameOffset + (2 * nameLength) > length))
            {
                throw new CorruptDataException("NTFS", $"MFT record {recordNumber} $ATTRIBUTE_LIST entry", volumeOffset + pos,
                    $"entry length {length} (name of {nameLength} characters at {nameOffset}) is shorter than an entry or runs past the list's {value.Length} bytes", filePath);
            }
            entries.Add(new AttributeListEntry(
                BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(pos + TypeOffset)),
                nameLength == 0 ? string.Empty : AttributeRecord.DecodeName(value.Slice(pos + nameOffset, 2 * nameLength)),
                BinaryPrimitives.ReadInt64LittleEndian(value.Slice(pos + StartVcnOffset)),
                BinaryPrimitives.ReadUInt64LittleEndian(value.Slice(pos + ReferenceOffset)),
                BinaryPrimitives.ReadUInt16LittleEndian(value.Slice(pos + IdOffset))));
            pos += length;
        }
        return entries;
    }

    /// <summary>Encodes the entries, in the order given, as a $ATTRIBUTE_LIST value.</summary>
    public static byte[] Encode(IReadOnlyList<AttributeListEntry> entries)
    {
        int total = 0;
        foreach (AttributeListEntry e in entries)
        {
            total += e.EncodedLength;
        }
        byte[] value = new byte[total];
        int pos = 0;
        foreach (AttributeListEntry e in entries)
        {
            Span<byte> d = value.AsSpan(pos, e.EncodedLength);
            BinaryPrimitives.WriteUInt32LittleEndian(d.Slice(TypeOffset), e.Type);
            BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(LengthOffset), (ushort)e.EncodedLength);
            d[NameLengthOffset] = (byte)e.Name.Length;
            d[NameOffsetOffset] = MinLength;
            BinaryPrimitives.WriteInt64LittleEndian(d.Slice(StartVcnOffset), e.StartVcn);
            BinaryPrimitives.WriteUInt64LittleEndian(d.Slice(ReferenceOffset), e.Reference);
            BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(IdOffset), e.Id);
            for (int i = 0; i < e.Name.Length; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(MinLength + (2 * i)), e.Name[i]);
            }
            pos += e.EncodedLength;
        }
        return value;
    }
}
