namespace IscsiConvert.Registry.Format;

/// <summary>Field offsets of a key node ("nk") inside its cell data, and its flags.</summary>
internal static class KeyNode
{
    public const ushort Signature = 0x6B6E; // "nk"
    public const int SignatureOffset = 0;
    public const int FlagsOffset = 2;
    public const int LastWriteOffset = 4;
    public const int AccessBitsOffset = 12;
    public const int ParentOffset = 16;
    public const int SubkeyCountOffset = 20;
    public const int VolatileSubkeyCountOffset = 24;
    public const int SubkeyListOffset = 28;
    public const int VolatileSubkeyListOffset = 32;
    public const int ValueCountOffset = 36;
    public const int ValueListOffset = 40;
    public const int SecurityOffset = 44;
    public const int ClassOffset = 48;
    public const int MaxSubkeyNameOffset = 52;
    public const int MaxSubkeyClassOffset = 56;
    public const int MaxValueNameOffset = 60;
    public const int MaxValueDataOffset = 64;
    public const int WorkVarOffset = 68;
    public const int NameLengthOffset = 72;
    public const int ClassLengthOffset = 74;
    public const int NameOffset = 76;

    public const ushort FlagVolatile = 0x0001;
    public const ushort FlagHiveExit = 0x0002;
    public const ushort FlagHiveEntry = 0x0004;
    public const ushort FlagNoDelete = 0x0008;
    public const ushort FlagSymLink = 0x0010;
    public const ushort FlagCompressedName = 0x0020;

    /// <summary>"No cell": the value of an offset field that points nowhere.</summary>
    public const int NoCell = -1;
}

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

/// <summary>Big data ("db"): a value's data split into segments of at most 16344 bytes (hive version 1.4 and later).</summary>
internal static class BigData
{
    public const ushort Signature = 0x6264; // "db"
    public const int SegmentCountOffset = 2;
    public const int SegmentListOffset = 4;
    public const int HeaderSize = 8;
    public const int MaxSegmentSize = 16344;
}

/// <summary>A security cell ("sk"): a shared, reference-counted security descriptor in a doubly linked list.</summary>
internal static class SecurityCell
{
    public const ushort Signature = 0x6B73; // "sk"
    public const int FlinkOffset = 4;
    public const int BlinkOffset = 8;
    public const int ReferenceCountOffset = 12;
    public const int DescriptorSizeOffset = 16;
    public const int DescriptorOffset = 20;
}

/// <summary>Subkey lists: index leaf "li", fast leaf "lf", hash leaf "lh", and the index root "ri" over leaves.</summary>
internal static class SubkeyList
{
    public const ushort IndexLeaf = 0x696C; // "li"
    public const ushort FastLeaf = 0x666C;  // "lf"
    public const ushort HashLeaf = 0x686C;  // "lh"
    public const ushort IndexRoot = 0x6972; // "ri"
    public const int CountOffset = 2;
    public const int EntriesOffset = 4;

    /// <summary>Leaves longer than this are split under an index root when we rewrite a list.</summary>
    public const int MaxLeafEntries = 500;
}
