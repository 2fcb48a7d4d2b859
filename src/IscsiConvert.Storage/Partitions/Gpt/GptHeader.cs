using System;
using System.Buffers.Binary;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Partitions.Gpt;

/// <summary>The 92-byte GPT header (UEFI specification, "GPT Header"), primary at LBA 1 and backup at the last LBA.</summary>
internal sealed class GptHeader
{
    public const int Size = 92;
    public const uint Revision10 = 0x00010000;

    private const int SignatureOffset = 0;
    private const int RevisionOffset = 8;
    private const int HeaderSizeOffset = 12;
    private const int HeaderCrcOffset = 16;
    private const int MyLbaOffset = 24;
    private const int AlternateLbaOffset = 32;
    private const int FirstUsableLbaOffset = 40;
    private const int LastUsableLbaOffset = 48;
    private const int DiskGuidOffset = 56;
    private const int EntriesLbaOffset = 72;
    private const int EntryCountOffset = 80;
    private const int EntrySizeOffset = 84;
    private const int EntriesCrcOffset = 88;

    public static ReadOnlySpan<byte> Signature => "EFI PART"u8;

    public ulong RawSignature { get; set; }

    public uint Revision { get; set; } = Revision10;

    public uint HeaderSize { get; set; } = Size;

    public uint HeaderCrc { get; set; }

    public long MyLba { get; set; }

    public long AlternateLba { get; set; }

    public long FirstUsableLba { get; set; }

    public long LastUsableLba { get; set; }

    public Guid DiskGuid { get; set; }

    public long EntriesLba { get; set; }

    public uint EntryCount { get; set; }

    public uint EntrySize { get; set; }

    public uint EntriesCrc { get; set; }

    public bool HasSignature => RawSignature == BinaryPrimitives.ReadUInt64LittleEndian(Signature);

    /// <summary>Reads the fields; <paramref name="source"/> is the whole sector so that the CRC can cover HeaderSize bytes.</summary>
    public static GptHeader ReadFrom(ReadOnlySpan<byte> source) => new()
    {
        RawSignature = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(SignatureOffset)),
        Revision = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(RevisionOffset)),
        HeaderSize = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(HeaderSizeOffset)),
        HeaderCrc = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(HeaderCrcOffset)),
        // LBAs are unsigned on disk; values past long.MaxValue become negative here and fail the bounds checks.
        MyLba = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(MyLbaOffset)),
        AlternateLba = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(AlternateLbaOffset)),
        FirstUsableLba = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(FirstUsableLbaOffset)),
        LastUsableLba = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(LastUsableLbaOffset)),
        DiskGuid = GuidBytes.Read(source.Slice(DiskGuidOffset)),
        EntriesLba = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(EntriesLbaOffset)),
        EntryCount = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(EntryCountOffset)),
        EntrySize = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(EntrySizeOffset)),
        EntriesCrc = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(EntriesCrcOffset)),
    };

    /// <summary>The CRC-32 of the first <see cref="HeaderSize"/> bytes of <paramref name="sector"/> with the CRC field taken as zero.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> sector, int headerSize)
    {
        byte[] copy = sector.Slice(0, headerSize).ToArray();
        copy.AsSpan(HeaderCrcOffset, 4).Clear();
        return Crc32.Compute(copy);
    }

    /// <summary>Writes the header into a zeroed sector, computing its CRC.</summary>
    public void WriteTo(Span<byte> sector)
    {
        sector.Clear();
        Signature.CopyTo(sector.Slice(SignatureOffset));
        BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(RevisionOffset), Revision10);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(HeaderSizeOffset), Size);
        BinaryPrimitives.WriteInt64LittleEndian(sector.Slice(MyLbaOffset), MyLba);
        BinaryPrimitives.WriteInt64LittleEndian(sector.Slice(AlternateLbaOffset), AlternateLba);
        BinaryPrimitives.WriteInt64LittleEndian(sector.Slice(FirstUsableLbaOffset), FirstUsableLba);
        BinaryPrimitives.WriteInt64LittleEndian(sector.Slice(LastUsableLbaOffset), LastUsableLba);
        GuidBytes.Write(DiskGuid, sector.Slice(DiskGuidOffset));
        BinaryPrimitives.WriteInt64LittleEndian(sector.Slice(EntriesLbaOffset), EntriesLba);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(EntryCountOffset), EntryCount);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(EntrySizeOffset), EntrySize);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(EntriesCrcOffset), EntriesCrc);
        HeaderSize = Size;
        HeaderCrc = ComputeCrc(sector, Size);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(HeaderCrcOffset), HeaderCrc);
    }

    public GptHeader Clone() => (GptHeader)MemberwiseClone();
}
