using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>One metadata table entry: an item's identifier, where it lies in the metadata region, and its flags.</summary>
internal sealed record VhdxMetadataEntry(Guid ItemId, uint Offset, uint Length, bool IsUser, bool IsVirtualDisk, bool IsRequired)
{
    public const int Size = 32;
    private const int ItemIdOffset = 0;
    private const int OffsetOffset = 16;
    private const int LengthOffset = 20;
    private const int FlagsOffset = 24;
    private const uint IsUserFlag = 1;
    private const uint IsVirtualDiskFlag = 2;
    private const uint IsRequiredFlag = 4;

    public static VhdxMetadataEntry ReadFrom(ReadOnlySpan<byte> entry)
    {
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(FlagsOffset));
        return new VhdxMetadataEntry(
            VhdxFormat.ReadGuid(entry.Slice(ItemIdOffset)),
            BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(OffsetOffset)),
            BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(LengthOffset)),
            (flags & IsUserFlag) != 0,
            (flags & IsVirtualDiskFlag) != 0,
            (flags & IsRequiredFlag) != 0);
    }

    public void WriteTo(Span<byte> entry)
    {
        entry.Slice(0, Size).Clear();
        VhdxFormat.WriteGuid(ItemId, entry.Slice(ItemIdOffset));
        BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(OffsetOffset), Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(LengthOffset), Length);
        uint flags = (IsUser ? IsUserFlag : 0) | (IsVirtualDisk ? IsVirtualDiskFlag : 0) | (IsRequired ? IsRequiredFlag : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(FlagsOffset), flags);
    }
}

/// <summary>The 64 KiB table at the start of the metadata region that lists the metadata items.</summary>
internal sealed class VhdxMetadataTable
{
    public const int Size = 64 * 1024;
    private const int EntryCountOffset = 10;
    private const int EntriesOffset = 32;
    private const ulong Signature = 0x617461646174656D; // "metadata"
    private const int MaxEntries = 2047;

    public VhdxMetadataTable(IReadOnlyList<VhdxMetadataEntry> entries)
    {
        Entries = entries;
    }

    public IReadOnlyList<VhdxMetadataEntry> Entries { get; }

    /// <summary>Parses the table at <paramref name="regionOffset"/>; item bounds are checked against <paramref name="regionLength"/>.</summary>
    public static VhdxMetadataTable ReadFrom(ReadOnlySpan<byte> block, long regionOffset, long regionLength, string? path)
    {
        ulong signature = BinaryPrimitives.ReadUInt64LittleEndian(block);
        if (signature != Signature)
        {
            throw new CorruptDataException(VhdxFormat.Name, "metadata table", regionOffset, $"signature 0x{signature:X16} is not \"metadata\"", path);
        }
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(block.Slice(EntryCountOffset));
        if (count > MaxEntries)
        {
            throw new CorruptDataException(VhdxFormat.Name, "metadata table", regionOffset, $"entry count {count} exceeds the maximum {MaxEntries}", path);
        }
        var entries = new List<VhdxMetadataEntry>(count);
        var seen = new HashSet<Guid>();
        for (int i = 0; i < count; i++)
        {
            int at = EntriesOffset + i * VhdxMetadataEntry.Size;
            VhdxMetadataEntry e = VhdxMetadataEntry.ReadFrom(block.Slice(at));
            string structure = $"metadata table entry {i} ({e.ItemId})";
            if (!seen.Add(e.ItemId))
            {
                throw new CorruptDataException(VhdxFormat.Name, structure, regionOffset + at, "the item is listed twice", path);
            }
            if (e.Length == 0 ? e.Offset != 0 : (e.Offset < Size || (long)e.Offset + e.Length > regionLength))
            {
                throw new CorruptDataException(VhdxFormat.Name, structure, regionOffset + at,
                    $"item at offset 0x{e.Offset:X} with length {e.Length} does not lie in the metadata region after its table (64 KiB to {regionLength} bytes)", path);
            }
            entries.Add(e);
        }
        return new VhdxMetadataTable(entries);
    }

    public void WriteTo(Span<byte> block)
    {
        block = block.Slice(0, Size);
        block.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(block, Signature);
        BinaryPrimitives.WriteUInt16LittleEndian(block.Slice(EntryCountOffset), (ushort)Entries.Count);
        for (int i = 0; i < Entries.Count; i++)
        {
            Entries[i].WriteTo(block.Slice(EntriesOffset + i * VhdxMetadataEntry.Size));
        }
    }
}
