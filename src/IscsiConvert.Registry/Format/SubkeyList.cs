namespace IscsiConvert.Registry.Format;

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
