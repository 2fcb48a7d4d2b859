using System;
using System.Buffers.Binary;
using System.Text;

namespace IscsiConvert.Storage.Vhd;

/// <summary>
/// The 1024-byte dynamic disk header ("cxsparse") of dynamic and differencing VHDs: where the BAT is, how many
/// entries it has, the block size, and for differencing disks the parent's identity and locators. Big-endian.
/// </summary>
internal sealed class VhdDynamicHeader
{
    public const int Size = 1024;
    public const int LocatorCount = 8;

    /// <summary>The default block size: 2 MiB (4096 sectors).</summary>
    public const uint DefaultBlockSize = 2 * 1024 * 1024;

    /// <summary>The largest block size accepted (and created): 256 MiB. Larger values are taken as corruption.</summary>
    public const uint MaxBlockSize = 256 * 1024 * 1024;

    /// <summary>The parent name field holds 256 UTF-16 code units.</summary>
    public const int ParentNameBytes = 512;

    private const int CookieOffset = 0;
    private const int DataOffsetOffset = 8;
    private const int TableOffsetOffset = 16;
    private const int VersionOffset = 24;
    private const int MaxTableEntriesOffset = 28;
    private const int BlockSizeOffset = 32;
    internal const int ChecksumOffset = 36;
    private const int ParentUniqueIdOffset = 40;
    private const int ParentTimestampOffset = 56;
    private const int ParentNameOffset = 64;
    private const int LocatorsOffset = 576;

    /// <summary>"cxsparse".</summary>
    public static ReadOnlySpan<byte> Cookie => "cxsparse"u8;

    public ulong TableOffset { get; set; }

    public uint HeaderVersion { get; set; } = VhdFooter.Version1;

    public uint MaxTableEntries { get; set; }

    public uint BlockSize { get; set; } = DefaultBlockSize;

    public uint Checksum { get; private set; }

    public Guid ParentUniqueId { get; set; }

    /// <summary>The parent footer's timestamp when this disk was created (seconds since 2000-01-01 UTC).</summary>
    public uint ParentTimestamp { get; set; }

    /// <summary>The parent's name (Windows writes its full path), UTF-16 big-endian on disk.</summary>
    public string ParentName { get; set; } = string.Empty;

    public VhdParentLocator[] Locators { get; } = new VhdParentLocator[LocatorCount];

    /// <summary>Bytes of the sector bitmap in front of each block's data: one bit per sector, padded to whole sectors.</summary>
    public int BitmapSize => BitmapSizeFor(BlockSize);

    public static int BitmapSizeFor(uint blockSize) => (int)((blockSize / 512 / 8 + 511) / 512 * 512);

    /// <summary>Parses and validates in the order cookie, version, checksum, field values.</summary>
    public static VhdDynamicHeader ReadFrom(ReadOnlySpan<byte> source, long fileOffset, string? path)
    {
        const string structure = "dynamic header";
        if (source.Length < Size || !source.Slice(CookieOffset, 8).SequenceEqual(Cookie))
        {
            throw new CorruptDataException(VhdFields.FormatName, structure, fileOffset, "the cookie is not \"cxsparse\"", path);
        }
        source = source.Slice(0, Size);
        uint version = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(VersionOffset));
        if (version >> 16 != 1)
        {
            throw new UnsupportedFormatException(
                $"VHD dynamic header at offset 0x{fileOffset:X} has version {version >> 16}.{version & 0xFFFF}; only version 1.x is supported", path);
        }
        uint stored = VhdFields.ReadVerifiedChecksum(source, ChecksumOffset, structure, fileOffset, path);
        var header = new VhdDynamicHeader
        {
            TableOffset = BinaryPrimitives.ReadUInt64BigEndian(source.Slice(TableOffsetOffset)),
            HeaderVersion = version,
            MaxTableEntries = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(MaxTableEntriesOffset)),
            BlockSize = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(BlockSizeOffset)),
            Checksum = stored,
            ParentUniqueId = VhdFields.ReadGuid(source.Slice(ParentUniqueIdOffset)),
            ParentTimestamp = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(ParentTimestampOffset)),
            ParentName = Encoding.BigEndianUnicode.GetString(source.Slice(ParentNameOffset, ParentNameBytes).ToArray()).Split('\0')[0],
        };
        uint bs = header.BlockSize;
        if (bs < 512 || bs > MaxBlockSize || (bs & (bs - 1)) != 0)
        {
            throw new CorruptDataException(VhdFields.FormatName, structure, fileOffset + BlockSizeOffset,
                $"block size {bs} is not a power of two between 512 and {MaxBlockSize}", path);
        }
        for (int i = 0; i < LocatorCount; i++)
        {
            header.Locators[i] = VhdParentLocator.ReadFrom(source.Slice(LocatorsOffset + i * VhdParentLocator.Size));
        }
        return header;
    }

    /// <summary>Writes the 1024 bytes with a fresh checksum.</summary>
    public void WriteTo(Span<byte> destination)
    {
        Span<byte> d = destination.Slice(0, Size);
        d.Clear();
        Cookie.CopyTo(d);
        BinaryPrimitives.WriteUInt64BigEndian(d.Slice(DataOffsetOffset), ulong.MaxValue); // unused: no next structure
        BinaryPrimitives.WriteUInt64BigEndian(d.Slice(TableOffsetOffset), TableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(VersionOffset), HeaderVersion);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(MaxTableEntriesOffset), MaxTableEntries);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(BlockSizeOffset), BlockSize);
        VhdFields.WriteGuid(ParentUniqueId, d.Slice(ParentUniqueIdOffset));
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(ParentTimestampOffset), ParentTimestamp);
        byte[] name = Encoding.BigEndianUnicode.GetBytes(ParentName);
        if (name.Length > ParentNameBytes)
        {
            throw new ArgumentException("The parent name is longer than 256 UTF-16 code units.");
        }
        name.CopyTo(d.Slice(ParentNameOffset));
        for (int i = 0; i < LocatorCount; i++)
        {
            Locators[i].WriteTo(d.Slice(LocatorsOffset + i * VhdParentLocator.Size));
        }
        Checksum = VhdFields.Checksum(d, ChecksumOffset);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(ChecksumOffset), Checksum);
    }
}
