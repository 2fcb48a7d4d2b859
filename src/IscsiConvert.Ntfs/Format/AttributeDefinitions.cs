using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// The $AttrDef table (MFT record 4): one 160-byte definition per attribute type, then a zeroed end entry, 2560 bytes
/// in all. The values are those of NTFS 3.1 as Windows XP and later write them (Linux-NTFS documentation, "File -
/// $AttrDef"; the same values appear in the $AttrDef of Windows-formatted volumes).
/// </summary>
internal static class AttributeDefinitions
{
    public const int EntrySize = 0xA0;
    public const int TableSize = 2560;

    private const int NameOffset = 0x00;
    private const int TypeOffset = 0x80;
    private const int FlagsOffset = 0x8C;
    private const int MinSizeOffset = 0x90;
    private const int MaxSizeOffset = 0x98;
    private const int MaxNameChars = 64;

    /// <summary>Flag: the attribute can be indexed ($FILE_NAME).</summary>
    public const uint FlagIndexed = 0x02;

    /// <summary>Flag: the attribute is always resident.</summary>
    public const uint FlagResident = 0x40;

    /// <summary>Flag: the attribute may be non-resident.</summary>
    public const uint FlagNonResident = 0x80;

    private const long NoLimit = -1;

    private static readonly (string Name, uint Type, uint Flags, long Min, long Max)[] Definitions =
    {
        ("$STANDARD_INFORMATION", AttributeType.StandardInformation, FlagResident, 0x30, 0x48),
        ("$ATTRIBUTE_LIST", AttributeType.AttributeList, FlagNonResident, 0, NoLimit),
        ("$FILE_NAME", AttributeType.FileName, FlagResident | FlagIndexed, 0x44, 0x242),
        ("$OBJECT_ID", AttributeType.ObjectId, FlagResident, 0, 0x100),
        ("$SECURITY_DESCRIPTOR", AttributeType.SecurityDescriptor, FlagNonResident, 0, NoLimit),
        ("$VOLUME_NAME", AttributeType.VolumeName, FlagResident, 2, 0x100),
        ("$VOLUME_INFORMATION", AttributeType.VolumeInformation, FlagResident, 0x0C, 0x0C),
        ("$DATA", AttributeType.Data, 0, 0, NoLimit),
        ("$INDEX_ROOT", AttributeType.IndexRoot, FlagResident, 0, NoLimit),
        ("$INDEX_ALLOCATION", AttributeType.IndexAllocation, FlagNonResident, 0, NoLimit),
        ("$BITMAP", AttributeType.Bitmap, FlagNonResident, 0, NoLimit),
        ("$REPARSE_POINT", AttributeType.ReparsePoint, FlagNonResident, 0, 0x4000),
        ("$EA_INFORMATION", AttributeType.EaInformation, FlagResident, 8, 8),
        ("$EA", AttributeType.Ea, 0, 0, 0x10000),
        ("$LOGGED_UTILITY_STREAM", AttributeType.LoggedUtilityStream, FlagNonResident, 0, 0x10000),
    };

    /// <summary>The table as stored in $AttrDef:$DATA.</summary>
    public static byte[] Encode()
    {
        byte[] table = new byte[TableSize];
        for (int i = 0; i < Definitions.Length; i++)
        {
            (string name, uint type, uint flags, long min, long max) = Definitions[i];
            Span<byte> e = table.AsSpan(i * EntrySize, EntrySize);
            for (int c = 0; c < name.Length && c < MaxNameChars; c++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(e.Slice(NameOffset + (2 * c)), name[c]);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(TypeOffset), type);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(FlagsOffset), flags);
            BinaryPrimitives.WriteInt64LittleEndian(e.Slice(MinSizeOffset), min);
            BinaryPrimitives.WriteInt64LittleEndian(e.Slice(MaxSizeOffset), max);
        }
        return table;
    }
}
