using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>$STANDARD_INFORMATION: the four timestamps Windows shows and the DOS file attribute flags.</summary>
internal sealed class StandardInformation
{
    private const int CreationOffset = 0x00;
    private const int ModificationOffset = 0x08;
    private const int MftChangeOffset = 0x10;
    private const int AccessOffset = 0x18;
    private const int FileAttributesOffset = 0x20;
    private const int OwnerIdOffset = 0x30;
    private const int SecurityIdOffset = 0x34;
    private const int MinSize = 0x24;

    /// <summary>The NTFS 1.2 part every $STANDARD_INFORMATION has (times and attributes).</summary>
    public const int MinimumSize = MinSize;

    // NTFS 3.x adds owner id, security id, quota and USN after the NTFS 1.2 fields; 72 bytes in all.
    private const int Version3Size = 0x48;

    public long CreationTime { get; private set; }

    public long ModificationTime { get; private set; }

    public long MftChangeTime { get; private set; }

    public long AccessTime { get; private set; }

    public uint FileAttributes { get; private set; }

    /// <summary>The key of the file's security descriptor in $Secure, or 0 (NTFS 1.2 records, or a private descriptor).</summary>
    public uint SecurityId { get; private set; }

    public static StandardInformation? TryReadFrom(ReadOnlySpan<byte> value) => value.Length < MinSize ? null : new StandardInformation
    {
        CreationTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(CreationOffset)),
        ModificationTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(ModificationOffset)),
        MftChangeTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(MftChangeOffset)),
        AccessTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(AccessOffset)),
        FileAttributes = BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(FileAttributesOffset)),
        SecurityId = value.Length >= Version3Size ? BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(SecurityIdOffset)) : 0,
    };

    /// <summary>Encodes a 72-byte NTFS 3.x $STANDARD_INFORMATION (no owner, quota or USN yet).</summary>
    public static byte[] Encode(long creation, long modification, long mftChange, long access, uint fileAttributes, uint securityId)
    {
        byte[] value = new byte[Version3Size];
        Span<byte> v = value;
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(CreationOffset), creation);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(ModificationOffset), modification);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(MftChangeOffset), mftChange);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(AccessOffset), access);
        BinaryPrimitives.WriteUInt32LittleEndian(v.Slice(FileAttributesOffset), fileAttributes);
        BinaryPrimitives.WriteUInt32LittleEndian(v.Slice(OwnerIdOffset), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(v.Slice(SecurityIdOffset), securityId);
        return value;
    }

    /// <summary>Sets the modification and MFT-change times of an encoded value in place.</summary>
    public static void SetModificationTimes(Span<byte> value, long fileTime)
    {
        BinaryPrimitives.WriteInt64LittleEndian(value.Slice(ModificationOffset), fileTime);
        BinaryPrimitives.WriteInt64LittleEndian(value.Slice(MftChangeOffset), fileTime);
    }
}
