using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// The contents of $Secure (MFT record 9) for a set of descriptors: the $SDS stream (entries of hash, security id,
/// own offset and length, then the descriptor, 16-byte aligned, in a 256 KiB block followed by its mirror copy) and
/// the entries of its two indexes: $SII by security id and $SDH by hash then id. Sources: the Linux-NTFS
/// documentation ("File - $Secure") and libyal's NTFS document.
/// </summary>
internal static class SecureStreams
{
    public const int BlockSize = 256 * 1024;
    private const int EntryHeaderSize = 20;

    /// <summary>The first security id NTFS hands out.</summary>
    public const uint FirstSecurityId = 0x100;

    /// <summary>$SII collates its 32-bit keys as unsigned numbers.</summary>
    public const uint CollationUInt32 = 0x10;

    /// <summary>$SDH collates by hash, then security id.</summary>
    public const uint CollationSecurityHash = 0x12;

    // $SDH entries end with 4 padding bytes that Windows fills with "II" in UTF-16.
    private static readonly byte[] SdhPadding = { 0x49, 0x00, 0x49, 0x00 };

    /// <summary>The hash NTFS keeps for a descriptor: over its little-endian 32-bit words, rotate left by 3 and add.</summary>
    public static uint Hash(ReadOnlySpan<byte> descriptor)
    {
        uint hash = 0;
        for (int i = 0; i + 4 <= descriptor.Length; i += 4)
        {
            hash = ((hash << 3) | (hash >> 29)) + BinaryPrimitives.ReadUInt32LittleEndian(descriptor.Slice(i));
        }
        return hash;
    }

    /// <summary>
    /// Lays the descriptors (security ids from <see cref="FirstSecurityId"/> on) out in $SDS. The stream's length is
    /// the block and its mirror up to the end of the last entry, as Windows sizes it.
    /// </summary>
    public static (byte[] Sds, List<IndexEntry> Sii, List<IndexEntry> Sdh) Build(IReadOnlyList<byte[]> descriptors)
    {
        var headers = new List<(uint Hash, uint Id, byte[] Header)>();
        byte[] block = new byte[BlockSize];
        int pos = 0;
        for (int i = 0; i < descriptors.Count; i++)
        {
            byte[] sd = descriptors[i];
            uint id = FirstSecurityId + (uint)i;
            uint hash = Hash(sd);
            int length = EntryHeaderSize + sd.Length;
            if (pos + length > BlockSize)
            {
                throw new ArgumentException("The descriptors do not fit one $SDS block.", nameof(descriptors));
            }
            byte[] header = new byte[EntryHeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0), hash);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), id);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), pos);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), (uint)length);
            header.CopyTo(block, pos);
            sd.CopyTo(block, pos + EntryHeaderSize);
            headers.Add((hash, id, header));
            pos += (length + 15) & ~15;
        }
        int lastEnd = headers.Count == 0 ? 0 : (int)(BinaryPrimitives.ReadInt64LittleEndian(headers[headers.Count - 1].Header.AsSpan(8))
            + BinaryPrimitives.ReadUInt32LittleEndian(headers[headers.Count - 1].Header.AsSpan(16)));
        byte[] sds = new byte[BlockSize + lastEnd];
        block.AsSpan(0, lastEnd).CopyTo(sds);
        block.AsSpan(0, lastEnd).CopyTo(sds.AsSpan(BlockSize));

        var sii = new List<IndexEntry>();
        var sdh = new List<IndexEntry>();
        foreach ((uint hash, uint id, byte[] header) in headers)
        {
            byte[] siiKey = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(siiKey, id);
            sii.Add(IndexEntry.ForView(siiKey, header));
        }
        headers.Sort((a, b) => a.Hash != b.Hash ? a.Hash.CompareTo(b.Hash) : a.Id.CompareTo(b.Id));
        foreach ((uint hash, uint id, byte[] header) in headers)
        {
            byte[] sdhKey = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(sdhKey, hash);
            BinaryPrimitives.WriteUInt32LittleEndian(sdhKey.AsSpan(4), id);
            byte[] data = new byte[EntryHeaderSize + SdhPadding.Length];
            header.CopyTo(data, 0);
            SdhPadding.CopyTo(data, EntryHeaderSize);
            IndexEntry entry = IndexEntry.ForView(sdhKey, data);
            sdh.Add(WithDataLength(entry, EntryHeaderSize));
        }
        return (sds, sii, sdh);
    }

    // The padding is part of the entry but not of the data length the entry declares.
    private static IndexEntry WithDataLength(IndexEntry entry, int dataLength) => new()
    {
        Reference = (entry.Reference & 0xFFFF) | ((ulong)dataLength << 16),
        Body = entry.Body,
        KeyLength = entry.KeyLength,
    };
}
