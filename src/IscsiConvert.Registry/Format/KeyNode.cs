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
