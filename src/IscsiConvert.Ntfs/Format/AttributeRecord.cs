using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace IscsiConvert.Ntfs.Format;

/// <summary>One attribute of an MFT record: its header and either its resident value or its runs.</summary>
internal sealed class AttributeRecord
{
    private const int TypeOffset = 0x00;
    private const int LengthOffset = 0x04;
    private const int NonResidentOffset = 0x08;
    private const int NameLengthOffset = 0x09;
    private const int NameOffsetOffset = 0x0A;
    private const int FlagsOffset = 0x0C;
    private const int IdOffset = 0x0E;
    private const int ValueLengthOffset = 0x10;
    private const int ValueOffsetOffset = 0x14;
    private const int StartVcnOffset = 0x10;
    private const int LastVcnOffset = 0x18;
    private const int RunListOffsetOffset = 0x20;
    private const int CompressionUnitOffset = 0x22;
    private const int AllocatedSizeOffset = 0x28;
    private const int DataSizeOffset = 0x30;
    private const int InitializedSizeOffset = 0x38;
    private const int CompressedSizeOffset = 0x40;
    private const int ResidentHeaderSize = 0x18;
    private const int NonResidentHeaderSize = 0x40;

    // A sparse or compressed attribute's header is 8 bytes longer: it ends with the compressed size.
    private const int CompressedHeaderSize = 0x48;

    private const int ResidentFlagsOffset = 0x16;

    /// <summary>Resident-attribute flag: the value is indexed (set on every $FILE_NAME).</summary>
    public const byte ResidentFlagIndexed = 0x01;

    public const ushort FlagCompressed = 0x0001;
    public const ushort FlagEncrypted = 0x4000;
    public const ushort FlagSparse = 0x8000;

    private AttributeRecord(uint type, string name, ushort flags, ushort id, long recordNumber)
    {
        Type = type;
        Name = name;
        Flags = flags;
        Id = id;
        RecordNumber = recordNumber;
    }

    public uint Type { get; }

    public string Name { get; }

    public ushort Flags { get; }

    public ushort Id { get; }

    /// <summary>The MFT record that holds this attribute (an extension record when it came through $ATTRIBUTE_LIST).</summary>
    public long RecordNumber { get; }

    public bool IsResident { get; private set; }

    public byte[] Value { get; private set; } = Array.Empty<byte>();

    public long StartVcn { get; private set; }

    public long LastVcn { get; private set; }

    public int CompressionUnit { get; private set; }

    public long AllocatedSize { get; private set; }

    public long DataSize { get; private set; }

    public long InitializedSize { get; private set; }

    /// <summary>Bytes of clusters actually allocated (holes not counted): a sparse or compressed attribute's first
    /// extent stores it after the sizes; 0 when the header has no such field.</summary>
    public long CompressedSize { get; private set; }

    /// <summary>True when the attribute is sparse (<see cref="FlagSparse"/>): holes need no clusters.</summary>
    public bool IsSparse => (Flags & FlagSparse) != 0;

    /// <summary>True when the header carries a compressed size (sparse or compressed attributes).</summary>
    public static bool HasCompressedSize(ushort flags) => (flags & (FlagCompressed | FlagSparse)) != 0;

    public IReadOnlyList<DataRun> Runs { get; private set; } = Array.Empty<DataRun>();

    /// <summary>The resident-attribute flags byte (0x16; <see cref="ResidentFlagIndexed"/>).</summary>
    public byte ResidentFlags { get; private set; }

    /// <summary>The attribute's bytes as they are (or will be) stored in its MFT record; rewriting a record copies
    /// these, so that fields this reader does not interpret survive unchanged.</summary>
    public byte[] Raw { get; private set; } = Array.Empty<byte>();

    /// <summary>Byte offset of this attribute in the volume, for error messages.</summary>
    public long VolumeOffset { get; private set; }

    public bool IsCompressed => (Flags & FlagCompressed) != 0;

    public bool IsEncrypted => (Flags & FlagEncrypted) != 0;

    /// <summary>The attribute's total length field, read before parsing so the caller can step to the next one.</summary>
    public static (uint Type, int Length) PeekHeader(ReadOnlySpan<byte> at) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(at.Slice(TypeOffset)),
         at.Length >= 8 ? (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(at.Slice(LengthOffset))) : 0);

    /// <summary>Parses one attribute from <paramref name="attr"/>, which is exactly its length.</summary>
    public static AttributeRecord ReadFrom(ReadOnlySpan<byte> attr, long recordNumber, long volumeOffset, long totalClusters, string? filePath)
    {
        string structure = $"MFT record {recordNumber} attribute";
        if (attr.Length < ResidentHeaderSize)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset, $"the attribute is {attr.Length} bytes, shorter than its header", filePath);
        }
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(attr.Slice(TypeOffset));
        structure = $"MFT record {recordNumber} attribute 0x{type:X}";
        bool nonResident = attr[NonResidentOffset] != 0;
        int nameLength = attr[NameLengthOffset];
        int nameOffset = BinaryPrimitives.ReadUInt16LittleEndian(attr.Slice(NameOffsetOffset));
        if (nameLength > 0 && (nameOffset > attr.Length || nameLength * 2 > attr.Length - nameOffset))
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + NameOffsetOffset, $"the name ({nameLength} characters at {nameOffset}) runs past the attribute's {attr.Length} bytes", filePath);
        }
        string name = nameLength == 0 ? string.Empty : DecodeName(attr.Slice(nameOffset, nameLength * 2));
        var record = new AttributeRecord(type, name, BinaryPrimitives.ReadUInt16LittleEndian(attr.Slice(FlagsOffset)),
            BinaryPrimitives.ReadUInt16LittleEndian(attr.Slice(IdOffset)), recordNumber)
        {
            VolumeOffset = volumeOffset,
            Raw = attr.ToArray(),
        };
        if (!nonResident)
        {
            uint valueLength = BinaryPrimitives.ReadUInt32LittleEndian(attr.Slice(ValueLengthOffset));
            int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(attr.Slice(ValueOffsetOffset));
            if (valueOffset > attr.Length || valueLength > (uint)(attr.Length - valueOffset))
            {
                throw new CorruptDataException("NTFS", structure, volumeOffset + ValueLengthOffset,
                    $"the resident value ({valueLength} bytes at {valueOffset}) runs past the attribute's {attr.Length} bytes", filePath);
            }
            record.IsResident = true;
            record.ResidentFlags = attr[ResidentFlagsOffset];
            record.Value = attr.Slice(valueOffset, (int)valueLength).ToArray();
            record.DataSize = valueLength;
            record.InitializedSize = valueLength;
            record.AllocatedSize = valueLength;
            return record;
        }
        if (attr.Length < NonResidentHeaderSize)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset, $"the non-resident attribute is {attr.Length} bytes, shorter than its header", filePath);
        }
        record.StartVcn = BinaryPrimitives.ReadInt64LittleEndian(attr.Slice(StartVcnOffset));
        record.LastVcn = BinaryPrimitives.ReadInt64LittleEndian(attr.Slice(LastVcnOffset));
        record.CompressionUnit = BinaryPrimitives.ReadUInt16LittleEndian(attr.Slice(CompressionUnitOffset));
        record.AllocatedSize = BinaryPrimitives.ReadInt64LittleEndian(attr.Slice(AllocatedSizeOffset));
        record.DataSize = BinaryPrimitives.ReadInt64LittleEndian(attr.Slice(DataSizeOffset));
        record.InitializedSize = BinaryPrimitives.ReadInt64LittleEndian(attr.Slice(InitializedSizeOffset));
        if (record.StartVcn < 0 || record.LastVcn < record.StartVcn - 1 || record.LastVcn >= totalClusters * 2)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + StartVcnOffset, $"VCN range {record.StartVcn}..{record.LastVcn} is impossible", filePath);
        }
        if (record.StartVcn == 0 && (record.DataSize < 0 || record.InitializedSize < 0 || record.AllocatedSize < 0 || record.InitializedSize > record.DataSize))
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + AllocatedSizeOffset,
                $"sizes are inconsistent: allocated {record.AllocatedSize}, data {record.DataSize}, initialized {record.InitializedSize}", filePath);
        }
        if (record.CompressionUnit > 16)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + CompressionUnitOffset, $"compression unit 2^{record.CompressionUnit} clusters is too large", filePath);
        }
        int runListOffset = BinaryPrimitives.ReadUInt16LittleEndian(attr.Slice(RunListOffsetOffset));
        if (runListOffset < NonResidentHeaderSize || runListOffset > attr.Length)
        {
            throw new CorruptDataException("NTFS", structure, volumeOffset + RunListOffsetOffset, $"the runlist offset {runListOffset} lies outside the attribute's {attr.Length} bytes", filePath);
        }
        if (HasCompressedSize(record.Flags) && runListOffset >= CompressedHeaderSize && (nameLength == 0 || nameOffset >= CompressedHeaderSize))
        {
            record.CompressedSize = BinaryPrimitives.ReadInt64LittleEndian(attr.Slice(CompressedSizeOffset));
        }
        record.Runs = RunList.Decode(attr.Slice(runListOffset), record.StartVcn, record.LastVcn, totalClusters, structure + " runlist", volumeOffset + runListOffset, filePath);
        return record;
    }

    /// <summary>Builds a resident attribute: the value follows the name, both 8-byte aligned. <paramref name="flags"/>
    /// are the attribute flags (a resident $DATA of a file in a compressed folder carries <see cref="FlagCompressed"/>,
    /// so that it is compressed once it moves to clusters).</summary>
    public static AttributeRecord CreateResident(uint type, string name, ushort id, ReadOnlySpan<byte> value, byte residentFlags = 0, ushort flags = 0)
    {
        int valueOffset = Align8(ResidentHeaderSize + (2 * name.Length));
        int length = Align8(valueOffset + value.Length);
        byte[] raw = new byte[length];
        WriteCommonHeader(raw, type, length, nonResident: false, name, ResidentHeaderSize, flags, id);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(ValueLengthOffset), (uint)value.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(ValueOffsetOffset), (ushort)valueOffset);
        raw[ResidentFlagsOffset] = residentFlags;
        value.CopyTo(raw.AsSpan(valueOffset));
        return ReadFrom(raw, -1, -1, long.MaxValue / 4, null);
    }

    /// <summary>Builds a non-resident attribute (one extent from VCN 0) over <paramref name="runs"/>; sizes in bytes. A
    /// sparse or compressed attribute (<paramref name="flags"/>) also records its compression unit (log2 of clusters)
    /// and <paramref name="compressedSize"/>, the bytes of the clusters its runs allocate.</summary>
    public static AttributeRecord CreateNonResident(uint type, string name, ushort id, ushort flags, IReadOnlyList<DataRun> runs,
        long allocatedSize, long dataSize, long initializedSize, int compressionUnit = 0, long compressedSize = 0)
    {
        long lastVcn = runs.Count == 0 ? -1 : runs[runs.Count - 1].Vcn + runs[runs.Count - 1].Length - 1;
        return CreateExtent(type, name, id, flags, 0, lastVcn, runs, allocatedSize, dataSize, initializedSize, compressionUnit, compressedSize);
    }

    /// <summary>Builds one extent of a non-resident attribute: VCNs <paramref name="startVcn"/>..<paramref name="lastVcn"/>
    /// mapped by <paramref name="runs"/> (their pairs start again from LCN 0). Only the first extent (VCN 0) carries the
    /// attribute's sizes; later ones store zeros, as Windows writes them. Every extent of a sparse or compressed attribute
    /// has the longer header with the compression unit.</summary>
    public static AttributeRecord CreateExtent(uint type, string name, ushort id, ushort flags, long startVcn, long lastVcn, IReadOnlyList<DataRun> runs,
        long allocatedSize, long dataSize, long initializedSize, int compressionUnit = 0, long compressedSize = 0)
    {
        byte[] pairs = RunList.Encode(runs);
        int headerSize = HasCompressedSize(flags) ? CompressedHeaderSize : NonResidentHeaderSize;
        int runListOffset = Align8(headerSize + (2 * name.Length));
        int length = Align8(runListOffset + pairs.Length);
        byte[] raw = new byte[length];
        WriteCommonHeader(raw, type, length, nonResident: true, name, headerSize, flags, id);
        BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(StartVcnOffset), startVcn);
        BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(LastVcnOffset), lastVcn);
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(RunListOffsetOffset), (ushort)runListOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(CompressionUnitOffset), (ushort)compressionUnit);
        if (startVcn == 0)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(AllocatedSizeOffset), allocatedSize);
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(DataSizeOffset), dataSize);
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(InitializedSizeOffset), initializedSize);
            if (headerSize == CompressedHeaderSize)
            {
                BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(CompressedSizeOffset), compressedSize);
            }
        }
        pairs.CopyTo(raw.AsSpan(runListOffset));
        return ReadFrom(raw, -1, -1, long.MaxValue / 4, null);
    }

    /// <summary>Bytes a non-resident attribute's header takes before its mapping pairs.</summary>
    public static int NonResidentHeaderLength(string name, ushort flags = 0) =>
        Align8((HasCompressedSize(flags) ? CompressedHeaderSize : NonResidentHeaderSize) + (2 * name.Length));

    /// <summary>The same attribute with another attribute id (ids are per record).</summary>
    public AttributeRecord WithId(ushort id)
    {
        byte[] raw = (byte[])Raw.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(IdOffset), id);
        AttributeRecord copy = ReadFrom(raw, RecordNumber, VolumeOffset, long.MaxValue / 4, null);
        return copy;
    }

    private static void WriteCommonHeader(Span<byte> raw, uint type, int length, bool nonResident, string name, int nameOffset, ushort flags, ushort id)
    {
        if (name.Length > 255)
        {
            throw new ArgumentException("An attribute name has at most 255 characters.", nameof(name));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(raw.Slice(TypeOffset), type);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.Slice(LengthOffset), (uint)length);
        raw[NonResidentOffset] = nonResident ? (byte)1 : (byte)0;
        raw[NameLengthOffset] = (byte)name.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(raw.Slice(NameOffsetOffset), (ushort)nameOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(raw.Slice(FlagsOffset), flags);
        BinaryPrimitives.WriteUInt16LittleEndian(raw.Slice(IdOffset), id);
        for (int i = 0; i < name.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(raw.Slice(nameOffset + (2 * i)), name[i]);
        }
    }

    internal static int Align8(int n) => (n + 7) & ~7;

    internal static string DecodeName(ReadOnlySpan<byte> utf16)
    {
        ReadOnlySpan<char> chars = MemoryMarshal.Cast<byte, char>(utf16);
        return chars.ToString();
    }

    /// <summary>Copies the sizes of the first extent onto a later one (only the first extent of an attribute spread over
    /// several records carries them).</summary>
    public void InheritSizes(AttributeRecord first)
    {
        AllocatedSize = first.AllocatedSize;
        DataSize = first.DataSize;
        InitializedSize = first.InitializedSize;
        CompressedSize = first.CompressedSize;
        CompressionUnit = first.CompressionUnit;
    }

    /// <summary>Concatenates the runs of later extents (ordered by start VCN) onto this first extent.</summary>
    public void AppendRuns(IReadOnlyList<DataRun> more, long lastVcn)
    {
        var all = new List<DataRun>(Runs);
        all.AddRange(more);
        Runs = all;
        LastVcn = lastVcn;
    }
}
