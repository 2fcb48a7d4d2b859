using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>A $FILE_NAME value (also the key of $I30 index entries): parent directory, name, namespace and a copy of the times.</summary>
internal sealed class FileNameAttribute
{
    private const int ParentOffset = 0x00;
    private const int CreationOffset = 0x08;
    private const int ModificationOffset = 0x10;
    private const int MftChangeOffset = 0x18;
    private const int AccessOffset = 0x20;
    private const int AllocatedSizeOffset = 0x28;
    private const int DataSizeOffset = 0x30;
    private const int ReparseOffset = 0x3C;
    private const int FileAttributesOffset = 0x38;
    private const int NameLengthOffset = 0x40;
    private const int NamespaceOffset = 0x41;
    private const int NameOffset = 0x42;

    public const byte NamespacePosix = 0;
    public const byte NamespaceWin32 = 1;
    public const byte NamespaceDos = 2;
    public const byte NamespaceWin32AndDos = 3;

    public long ParentRecordNumber { get; private set; }

    public long CreationTime { get; private set; }

    public long ModificationTime { get; private set; }

    public long MftChangeTime { get; private set; }

    public long AccessTime { get; private set; }

    public long DataSize { get; private set; }

    public uint FileAttributes { get; private set; }

    public byte Namespace { get; private set; }

    public string Name { get; private set; } = string.Empty;

    public static FileNameAttribute? TryReadFrom(ReadOnlySpan<byte> value)
    {
        if (value.Length < NameOffset)
        {
            return null;
        }
        int nameLength = value[NameLengthOffset];
        if (NameOffset + (2 * nameLength) > value.Length)
        {
            return null;
        }
        return new FileNameAttribute
        {
            ParentRecordNumber = (long)(BinaryPrimitives.ReadUInt64LittleEndian(value.Slice(ParentOffset)) & 0xFFFF_FFFF_FFFFUL),
            CreationTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(CreationOffset)),
            ModificationTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(ModificationOffset)),
            MftChangeTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(MftChangeOffset)),
            AccessTime = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(AccessOffset)),
            DataSize = BinaryPrimitives.ReadInt64LittleEndian(value.Slice(DataSizeOffset)),
            FileAttributes = BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(FileAttributesOffset)),
            Namespace = value[NamespaceOffset],
            Name = AttributeRecord.DecodeName(value.Slice(NameOffset, 2 * nameLength)),
        };
    }

    /// <summary>
    /// Encodes a $FILE_NAME value. The sizes and times are a copy Windows refreshes only when the name changes or the
    /// directory entry is updated; <paramref name="parentReference"/> is the parent's full reference (with sequence).
    /// </summary>
    public static byte[] Encode(ulong parentReference, string name, byte nameSpace, long creation, long modification, long mftChange,
        long access, long allocatedSize, long dataSize, uint fileAttributes, uint reparseTag = 0)
    {
        if (name.Length is 0 or > 255)
        {
            throw new ArgumentException("An NTFS name has 1 to 255 UTF-16 code units.", nameof(name));
        }
        byte[] value = new byte[NameOffset + (2 * name.Length)];
        Span<byte> v = value;
        BinaryPrimitives.WriteUInt64LittleEndian(v.Slice(ParentOffset), parentReference);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(CreationOffset), creation);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(ModificationOffset), modification);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(MftChangeOffset), mftChange);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(AccessOffset), access);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(AllocatedSizeOffset), allocatedSize);
        BinaryPrimitives.WriteInt64LittleEndian(v.Slice(DataSizeOffset), dataSize);
        BinaryPrimitives.WriteUInt32LittleEndian(v.Slice(FileAttributesOffset), fileAttributes);
        BinaryPrimitives.WriteUInt32LittleEndian(v.Slice(ReparseOffset), reparseTag);
        v[NameLengthOffset] = (byte)name.Length;
        v[NamespaceOffset] = nameSpace;
        for (int i = 0; i < name.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(v.Slice(NameOffset + (2 * i)), name[i]);
        }
        return value;
    }
}
