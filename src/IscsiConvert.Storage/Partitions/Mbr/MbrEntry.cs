using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Partitions.Mbr;

/// <summary>One 16-byte partition entry of an MBR or EBR. LBAs count logical sectors.</summary>
internal readonly struct MbrEntry
{
    public const int Size = 16;
    public const byte ActiveFlag = 0x80;

    private const int BootIndicatorOffset = 0;
    private const int FirstChsOffset = 1;
    private const int TypeOffset = 4;
    private const int LastChsOffset = 5;
    private const int FirstLbaOffset = 8;
    private const int SectorCountOffset = 12;

    // CHS addressing with the geometry every modern tool assumes; beyond it the fields hold the "too large" marker.
    private const int Heads = 255;
    private const int SectorsPerTrack = 63;
    private const int MaxCylinder = 1023;

    public MbrEntry(byte bootIndicator, byte type, uint firstLba, uint sectorCount)
    {
        BootIndicator = bootIndicator;
        Type = type;
        FirstLba = firstLba;
        SectorCount = sectorCount;
    }

    public byte BootIndicator { get; }

    public byte Type { get; }

    public uint FirstLba { get; }

    public uint SectorCount { get; }

    /// <summary>Unused: type 0, or no sectors (both mean "no partition" to every operating system).</summary>
    public bool IsEmpty => Type == 0 || SectorCount == 0;

    public static MbrEntry ReadFrom(ReadOnlySpan<byte> source) => new(
        source[BootIndicatorOffset],
        source[TypeOffset],
        BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(FirstLbaOffset)),
        BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(SectorCountOffset)));

    public void WriteTo(Span<byte> destination)
    {
        destination.Slice(0, Size).Clear();
        if (Type == 0 && SectorCount == 0)
        {
            return;
        }
        destination[BootIndicatorOffset] = BootIndicator;
        destination[TypeOffset] = Type;
        BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(FirstLbaOffset), FirstLba);
        BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(SectorCountOffset), SectorCount);
        if (Type == 0xEE)
        {
            // The UEFI specification fixes these for the protective entry.
            destination[FirstChsOffset] = 0x00;
            destination[FirstChsOffset + 1] = 0x02;
            destination[FirstChsOffset + 2] = 0x00;
            destination[LastChsOffset] = 0xFF;
            destination[LastChsOffset + 1] = 0xFF;
            destination[LastChsOffset + 2] = 0xFF;
            return;
        }
        WriteChs(FirstLba, destination.Slice(FirstChsOffset, 3));
        WriteChs((long)FirstLba + SectorCount - 1, destination.Slice(LastChsOffset, 3));
    }

    private static void WriteChs(long lba, Span<byte> chs)
    {
        long cylinder = lba / (Heads * SectorsPerTrack);
        if (cylinder > MaxCylinder)
        {
            chs[0] = 0xFE;
            chs[1] = 0xFF;
            chs[2] = 0xFF;
            return;
        }
        int head = (int)(lba / SectorsPerTrack % Heads);
        int sector = (int)(lba % SectorsPerTrack) + 1;
        chs[0] = (byte)head;
        chs[1] = (byte)(sector | (int)((cylinder >> 2) & 0xC0));
        chs[2] = (byte)(cylinder & 0xFF);
    }
}
