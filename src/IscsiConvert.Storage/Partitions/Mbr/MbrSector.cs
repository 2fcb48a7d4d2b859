using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Partitions.Mbr;

/// <summary>
/// The first 512 bytes of an MBR or EBR sector: boot code (left alone), the disk signature, four entries and 0x55AA.
/// On 4Kn disks the structure still occupies the first 512 bytes of the sector.
/// </summary>
internal sealed class MbrSector
{
    public const int Size = 512;
    public const int EntryCount = 4;

    private const int DiskSignatureOffset = 440;
    private const int EntriesOffset = 446;
    private const int BootSignatureOffset = 510;
    private const ushort BootSignature = 0xAA55; // bytes 0x55, 0xAA read little-endian

    public MbrSector(uint diskSignature, MbrEntry[] entries, bool hasBootSignature)
    {
        DiskSignature = diskSignature;
        Entries = entries;
        HasBootSignature = hasBootSignature;
    }

    public uint DiskSignature { get; }

    public MbrEntry[] Entries { get; }

    public bool HasBootSignature { get; }

    public static MbrSector ReadFrom(ReadOnlySpan<byte> source)
    {
        var entries = new MbrEntry[EntryCount];
        for (int i = 0; i < EntryCount; i++)
        {
            entries[i] = MbrEntry.ReadFrom(source.Slice(EntriesOffset + (i * MbrEntry.Size), MbrEntry.Size));
        }
        return new MbrSector(
            BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(DiskSignatureOffset)),
            entries,
            BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(BootSignatureOffset)) == BootSignature);
    }

    /// <summary>Writes the signature, the entries and 0x55AA over <paramref name="destination"/>, keeping its boot code.</summary>
    public void WriteTo(Span<byte> destination, bool writeDiskSignature)
    {
        if (writeDiskSignature)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(DiskSignatureOffset), DiskSignature);
            destination[DiskSignatureOffset + 4] = 0;
            destination[DiskSignatureOffset + 5] = 0;
        }
        for (int i = 0; i < EntryCount; i++)
        {
            Entries[i].WriteTo(destination.Slice(EntriesOffset + (i * MbrEntry.Size), MbrEntry.Size));
        }
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(BootSignatureOffset), BootSignature);
    }

    /// <summary>
    /// True when every boot indicator is 0x00 or 0x80. Anything else means the sector is not a partition table
    /// (usually a volume boot record whose code happens to end in 0x55AA), as Linux also concludes.
    /// </summary>
    public bool HasPlausibleEntries()
    {
        foreach (MbrEntry e in Entries)
        {
            if (e.BootIndicator != 0 && e.BootIndicator != MbrEntry.ActiveFlag)
            {
                return false;
            }
        }
        return true;
    }
}
