using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// The 20-byte header in front of every descriptor in $Secure:$SDS — hash, security id, the entry's own offset in $SDS
/// and its length (header plus descriptor) — which is also the data of the $SII and $SDH index entries that point at it
/// (Linux-NTFS documentation "$Secure"; libyal "NTFS" document, "Security descriptor" and "$Secure").
/// </summary>
internal readonly record struct SecurityDescriptorHeader(uint Hash, uint SecurityId, long Offset, int Length)
{
    public const int Size = 20;
    private const int HashOffset = 0x00;
    private const int IdOffset = 0x04;
    private const int SelfOffset = 0x08;
    private const int LengthOffset = 0x10;

    /// <summary>The "II" (UTF-16) padding Windows writes after the data of every $SDH entry.</summary>
    public static readonly byte[] SdhPadding = { 0x49, 0x00, 0x49, 0x00 };

    public static SecurityDescriptorHeader ReadFrom(ReadOnlySpan<byte> data) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(HashOffset)),
        BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(IdOffset)),
        BinaryPrimitives.ReadInt64LittleEndian(data.Slice(SelfOffset)),
        (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(LengthOffset))));

    public void WriteTo(Span<byte> data)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(HashOffset), Hash);
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(IdOffset), SecurityId);
        BinaryPrimitives.WriteInt64LittleEndian(data.Slice(SelfOffset), Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(LengthOffset), (uint)Length);
    }

    public byte[] ToArray()
    {
        byte[] data = new byte[Size];
        WriteTo(data);
        return data;
    }

    /// <summary>
    /// The descriptor hash NTFS keys $SDH with: over the descriptor's little-endian 32-bit words in order, the running
    /// value is rotated left by 3 bits and the word added (trailing bytes that do not fill a word are ignored).
    /// </summary>
    public static uint ComputeHash(ReadOnlySpan<byte> descriptor)
    {
        uint hash = 0;
        for (int i = 0; i + 4 <= descriptor.Length; i += 4)
        {
            hash = unchecked(((hash << 3) | (hash >> 29)) + BinaryPrimitives.ReadUInt32LittleEndian(descriptor.Slice(i)));
        }
        return hash;
    }

    /// <summary>The $SII entry for this descriptor: key = security id.</summary>
    public IndexEntry ToSiiEntry()
    {
        byte[] key = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, SecurityId);
        return IndexEntry.ForView(key, ToArray());
    }

    /// <summary>The $SDH entry for this descriptor: key = hash then security id; the "II" padding follows the data (outside its declared length).</summary>
    public IndexEntry ToSdhEntry()
    {
        byte[] key = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(key, Hash);
        BinaryPrimitives.WriteUInt32LittleEndian(key.AsSpan(4), SecurityId);
        return IndexEntry.ForView(key, ToArray(), SdhPadding);
    }
}
