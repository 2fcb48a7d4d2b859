namespace IscsiConvert.Storage.Vhdx;

/// <summary>States of a payload block's BAT entry.</summary>
internal enum PayloadBlockState
{
    NotPresent = 0,
    Undefined = 1,
    Zero = 2,
    Unmapped = 3,
    FullyPresent = 6,
    PartiallyPresent = 7,
}

/// <summary>States of a sector bitmap block's BAT entry.</summary>
internal enum SectorBitmapState
{
    NotPresent = 0,
    Present = 6,
}

/// <summary>A 64-bit BAT entry: the state in bits 0-2, reserved bits 3-19, the file offset in MiB in bits 20-63.</summary>
internal static class VhdxBatEntry
{
    private const ulong StateMask = 0x7;
    private const ulong ReservedMask = 0xFFFF8;
    private const int OffsetShift = 20;

    public static int State(ulong entry) => (int)(entry & StateMask);

    /// <summary>The file offset in bytes (the field counts MiB, so shifting by 20 gives bytes directly).</summary>
    public static long FileOffset(ulong entry) => (long)(entry >> OffsetShift << OffsetShift);

    public static bool ReservedBitsSet(ulong entry) => (entry & ReservedMask) != 0;

    public static ulong Make(int state, long fileOffset) => ((ulong)fileOffset & ~((1UL << OffsetShift) - 1)) | (uint)state;
}
