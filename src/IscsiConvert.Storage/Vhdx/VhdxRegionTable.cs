using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>One region table entry: where a region (BAT, metadata, or something newer) lives in the file.</summary>
internal sealed record VhdxRegionEntry(Guid Id, long FileOffset, uint Length, bool Required)
{
    public const int Size = 32;
    private const int GuidOffset = 0;
    private const int FileOffsetOffset = 16;
    private const int LengthOffset = 24;
    private const int RequiredOffset = 28;

    public long End => FileOffset + Length;

    public static VhdxRegionEntry ReadFrom(ReadOnlySpan<byte> entry) => new(
        VhdxFormat.ReadGuid(entry.Slice(GuidOffset)),
        (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(entry.Slice(FileOffsetOffset)), long.MaxValue),
        BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(LengthOffset)),
        (BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(RequiredOffset)) & 1) != 0);

    public void WriteTo(Span<byte> entry)
    {
        VhdxFormat.WriteGuid(Id, entry.Slice(GuidOffset));
        BinaryPrimitives.WriteUInt64LittleEndian(entry.Slice(FileOffsetOffset), (ulong)FileOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(LengthOffset), Length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(RequiredOffset), Required ? 1u : 0u);
    }
}

/// <summary>The 64 KiB region table (two identical copies at 192 KiB and 256 KiB), checksummed with CRC-32C.</summary>
internal sealed class VhdxRegionTable
{
    public const int Size = 64 * 1024;
    private const int SignatureOffset = 0;
    private const int EntryCountOffset = 8;
    private const int EntriesOffset = 16;
    private const uint Signature = 0x69676572; // "regi"
    private const int MaxEntries = 2047;

    public VhdxRegionTable(IReadOnlyList<VhdxRegionEntry> entries)
    {
        Entries = entries;
    }

    public IReadOnlyList<VhdxRegionEntry> Entries { get; }

    /// <summary>Parses a table; returns null with the reason when its signature, checksum or entry count is wrong.</summary>
    public static VhdxRegionTable? TryReadFrom(ReadOnlySpan<byte> block, out string problem)
    {
        uint signature = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(SignatureOffset));
        if (signature != Signature)
        {
            problem = $"signature 0x{signature:X8} is not \"regi\"";
            return null;
        }
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(4));
        uint actual = VhdxFormat.Checksum(block.Slice(0, Size));
        if (stored != actual)
        {
            problem = $"CRC-32C is 0x{actual:X8}, expected the stored 0x{stored:X8}";
            return null;
        }
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(EntryCountOffset));
        if (count > MaxEntries)
        {
            problem = $"entry count {count} exceeds the maximum {MaxEntries}";
            return null;
        }
        var entries = new List<VhdxRegionEntry>((int)count);
        for (int i = 0; i < count; i++)
        {
            entries.Add(VhdxRegionEntry.ReadFrom(block.Slice(EntriesOffset + i * VhdxRegionEntry.Size)));
        }
        problem = string.Empty;
        return new VhdxRegionTable(entries);
    }

    public void WriteTo(Span<byte> block)
    {
        block = block.Slice(0, Size);
        block.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(block.Slice(SignatureOffset), Signature);
        BinaryPrimitives.WriteUInt32LittleEndian(block.Slice(EntryCountOffset), (uint)Entries.Count);
        for (int i = 0; i < Entries.Count; i++)
        {
            Entries[i].WriteTo(block.Slice(EntriesOffset + i * VhdxRegionEntry.Size));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block.Slice(4), VhdxFormat.Checksum(block));
    }
}
