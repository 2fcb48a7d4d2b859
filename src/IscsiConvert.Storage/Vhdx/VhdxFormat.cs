using System;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>Fixed figures of [MS-VHDX]: where the structures live, their sizes, the identifiers of regions and metadata items.</summary>
internal static class VhdxFormat
{
    /// <summary>The name used in exception messages.</summary>
    public const string Name = "VHDX";

    public const long KiB = 1024;
    public const long MiB = 1024 * 1024;

    /// <summary>The file type identifier, both headers and both region tables live in the first MiB ("header section").</summary>
    public const long HeaderSectionSize = MiB;
    public const long FileIdentifierOffset = 0;
    public const long Header1Offset = 64 * KiB;
    public const long Header2Offset = 128 * KiB;
    public const long RegionTable1Offset = 192 * KiB;
    public const long RegionTable2Offset = 256 * KiB;

    /// <summary>Regions, the log, payload and bitmap blocks are all aligned to and sized in whole MiB.</summary>
    public const long RegionAlignment = MiB;

    public const long MinBlockSize = MiB;
    public const long MaxBlockSize = 256 * MiB;

    /// <summary>The largest virtual disk the format allows (64 TiB).</summary>
    public const long MaxVirtualDiskSize = 64L * 1024 * 1024 * MiB;

    /// <summary>A sector bitmap block is 1 MiB and covers 2^23 logical sectors.</summary>
    public const long SectorBitmapBlockSize = MiB;
    public const long SectorsPerBitmapBlock = 1L << 23;

    public static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");

    public static readonly Guid FileParametersItem = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    public static readonly Guid VirtualDiskSizeItem = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    public static readonly Guid VirtualDiskIdItem = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    public static readonly Guid LogicalSectorSizeItem = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    public static readonly Guid PhysicalSectorSizeItem = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    public static readonly Guid ParentLocatorItem = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

    /// <summary>The only parent locator type defined: a VHDX parent.</summary>
    public static readonly Guid VhdxParentLocatorType = new("B04AEFB7-D19E-4A81-B789-25B8E9445913");

    /// <summary>Reads a GUID in the little-endian layout [MS-DTYP] uses (the same as <see cref="Guid.ToByteArray"/>).</summary>
    public static Guid ReadGuid(ReadOnlySpan<byte> source) => new(source.Slice(0, 16).ToArray());

    /// <summary>Writes a GUID in the layout <see cref="ReadGuid"/> reads.</summary>
    public static void WriteGuid(Guid value, Span<byte> destination) => value.ToByteArray().CopyTo(destination);

    /// <summary>Rounds up to a multiple of <paramref name="alignment"/> (a power of two).</summary>
    public static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);

    public static bool IsPowerOfTwo(long value) => value > 0 && (value & (value - 1)) == 0;

    /// <summary>CRC-32C of <paramref name="block"/> with its checksum field (bytes 4..7, in every checksummed VHDX structure) taken as zero.</summary>
    public static uint Checksum(ReadOnlySpan<byte> block)
    {
        Span<byte> zero = stackalloc byte[4];
        uint crc = Crc32C.Append(0xFFFFFFFFu, block.Slice(0, 4));
        crc = Crc32C.Append(crc, zero);
        crc = Crc32C.Append(crc, block.Slice(8));
        return ~crc;
    }
}
