namespace IscsiConvert.Registry.Format;

/// <summary>Field offsets of a value key ("vk") inside its cell data.</summary>
internal static class ValueKey
{
    public const ushort Signature = 0x6B76; // "vk"
    public const int NameLengthOffset = 2;
    public const int DataSizeOffset = 4;
    public const int DataOffsetOffset = 8;
    public const int TypeOffset = 12;
    public const int FlagsOffset = 16;
    public const int NameOffset = 20;
    public const ushort FlagCompressedName = 0x0001;

    /// <summary>Set in the data size when the data (4 bytes or less) sits in the data offset field itself.</summary>
    public const uint InlineDataFlag = 0x80000000;
}
