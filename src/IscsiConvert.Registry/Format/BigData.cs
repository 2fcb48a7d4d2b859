namespace IscsiConvert.Registry.Format;

/// <summary>Big data ("db"): a value's data split into segments of at most 16344 bytes (hive version 1.4 and later).</summary>
internal static class BigData
{
    public const ushort Signature = 0x6264; // "db"
    public const int SegmentCountOffset = 2;
    public const int SegmentListOffset = 4;
    public const int HeaderSize = 8;
    public const int MaxSegmentSize = 16344;
}
