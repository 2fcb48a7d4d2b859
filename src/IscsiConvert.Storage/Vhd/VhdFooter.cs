using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Vhd;

/// <summary>The kinds of VHD (footer field "disk type").</summary>
internal enum VhdDiskType : uint
{
    Fixed = 2,
    Dynamic = 3,
    Differencing = 4,
}

/// <summary>
/// The 512-byte VHD footer ("hard disk footer"): the last sector of every VHD, with a copy in the first sector of
/// dynamic and differencing ones. All fields are big-endian.
/// </summary>
internal sealed class VhdFooter
{
    public const int Size = 512;

    private const int CookieOffset = 0;
    private const int FeaturesOffset = 8;
    private const int VersionOffset = 12;
    private const int DataOffsetOffset = 16;
    private const int TimestampOffset = 24;
    private const int CreatorApplicationOffset = 28;
    private const int CreatorVersionOffset = 32;
    private const int CreatorHostOffset = 36;
    private const int OriginalSizeOffset = 40;
    private const int CurrentSizeOffset = 48;
    private const int GeometryOffset = 56;
    private const int DiskTypeOffset = 60;
    internal const int ChecksumOffset = 64;
    private const int UniqueIdOffset = 68;
    private const int SavedStateOffset = 84;

    /// <summary>"conectix".</summary>
    public static ReadOnlySpan<byte> Cookie => "conectix"u8;

    /// <summary>Bit 1 of "features" is reserved and must always be set.</summary>
    public const uint ReservedFeature = 2;

    /// <summary>Format version 1.0: major in the high 16 bits.</summary>
    public const uint Version1 = 0x00010000;

    /// <summary>"Data offset" of a fixed disk: there is no next structure.</summary>
    public const ulong NoDataOffset = ulong.MaxValue;

    /// <summary>"Wi2k": the creator host is Windows (the only other value the spec names is "Mac ").</summary>
    public static readonly uint HostWindows = VhdFields.FourCC("Wi2k");

    public uint Features { get; set; } = ReservedFeature;

    public uint FormatVersion { get; set; } = Version1;

    /// <summary>File offset of the dynamic header, or <see cref="NoDataOffset"/> for fixed disks.</summary>
    public ulong DataOffset { get; set; } = NoDataOffset;

    /// <summary>Creation time, seconds since 2000-01-01 UTC.</summary>
    public uint Timestamp { get; set; }

    public uint CreatorApplication { get; set; }

    public uint CreatorVersion { get; set; }

    public uint CreatorHost { get; set; } = HostWindows;

    public ulong OriginalSize { get; set; }

    public ulong CurrentSize { get; set; }

    public VhdGeometry Geometry { get; set; }

    public VhdDiskType DiskType { get; set; }

    /// <summary>The checksum stored in the footer (recomputed by <see cref="WriteTo"/>).</summary>
    public uint Checksum { get; private set; }

    public Guid UniqueId { get; set; }

    public byte SavedState { get; set; }

    /// <summary>The creator application as text ("qemu", "win ", "vpc ", …).</summary>
    public string CreatorApplicationText => VhdFields.FourCCText(CreatorApplication);

    /// <summary>True when the sector starts with "conectix" (a footer, possibly damaged).</summary>
    public static bool HasCookie(ReadOnlySpan<byte> sector) => sector.Length >= 8 && sector.Slice(0, 8).SequenceEqual(Cookie);

    /// <summary>
    /// Parses and validates a footer in the order cookie, version, checksum, field values.
    /// <paramref name="fileOffset"/> and <paramref name="structure"/> only name the place in error messages.
    /// </summary>
    public static VhdFooter ReadFrom(ReadOnlySpan<byte> source, long fileOffset, string structure, string? path)
    {
        if (source.Length < Size || !HasCookie(source))
        {
            throw new CorruptDataException(VhdFields.FormatName, structure, fileOffset, "the cookie is not \"conectix\"", path);
        }
        source = source.Slice(0, Size);
        uint version = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(VersionOffset));
        if (version >> 16 != 1)
        {
            throw new UnsupportedFormatException(
                $"VHD {structure} at offset 0x{fileOffset:X} has format version {version >> 16}.{version & 0xFFFF}; only version 1.x is supported",
                path);
        }
        uint stored = VhdFields.ReadVerifiedChecksum(source, ChecksumOffset, structure, fileOffset, path);
        var footer = new VhdFooter
        {
            Features = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(FeaturesOffset)),
            FormatVersion = version,
            DataOffset = BinaryPrimitives.ReadUInt64BigEndian(source.Slice(DataOffsetOffset)),
            Timestamp = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(TimestampOffset)),
            CreatorApplication = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(CreatorApplicationOffset)),
            CreatorVersion = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(CreatorVersionOffset)),
            CreatorHost = BinaryPrimitives.ReadUInt32BigEndian(source.Slice(CreatorHostOffset)),
            OriginalSize = BinaryPrimitives.ReadUInt64BigEndian(source.Slice(OriginalSizeOffset)),
            CurrentSize = BinaryPrimitives.ReadUInt64BigEndian(source.Slice(CurrentSizeOffset)),
            Geometry = VhdGeometry.ReadFrom(source.Slice(GeometryOffset)),
            DiskType = (VhdDiskType)BinaryPrimitives.ReadUInt32BigEndian(source.Slice(DiskTypeOffset)),
            Checksum = stored,
            UniqueId = VhdFields.ReadGuid(source.Slice(UniqueIdOffset)),
            SavedState = source[SavedStateOffset],
        };
        if (footer.DiskType != VhdDiskType.Fixed && footer.DiskType != VhdDiskType.Dynamic && footer.DiskType != VhdDiskType.Differencing)
        {
            throw new CorruptDataException(VhdFields.FormatName, structure, fileOffset + DiskTypeOffset,
                $"disk type {(uint)footer.DiskType} is not fixed (2), dynamic (3) or differencing (4)", path);
        }
        return footer;
    }

    /// <summary>Writes the 512 bytes of the footer with a fresh checksum.</summary>
    public void WriteTo(Span<byte> destination)
    {
        Span<byte> d = destination.Slice(0, Size);
        d.Clear();
        Cookie.CopyTo(d);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(FeaturesOffset), Features);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(VersionOffset), FormatVersion);
        BinaryPrimitives.WriteUInt64BigEndian(d.Slice(DataOffsetOffset), DataOffset);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(TimestampOffset), Timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(CreatorApplicationOffset), CreatorApplication);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(CreatorVersionOffset), CreatorVersion);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(CreatorHostOffset), CreatorHost);
        BinaryPrimitives.WriteUInt64BigEndian(d.Slice(OriginalSizeOffset), OriginalSize);
        BinaryPrimitives.WriteUInt64BigEndian(d.Slice(CurrentSizeOffset), CurrentSize);
        Geometry.WriteTo(d.Slice(GeometryOffset));
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(DiskTypeOffset), (uint)DiskType);
        VhdFields.WriteGuid(UniqueId, d.Slice(UniqueIdOffset));
        d[SavedStateOffset] = SavedState;
        Checksum = VhdFields.Checksum(d, ChecksumOffset);
        BinaryPrimitives.WriteUInt32BigEndian(d.Slice(ChecksumOffset), Checksum);
    }

    /// <summary>
    /// The virtual size in bytes, by the rule qemu applies (checked with `qemu-img info` against images from qemu,
    /// Windows diskpart and our own): Virtual PC and qemu's default creator ("qemu") size the disk by its CHS
    /// geometry; Hyper-V/diskpart ("win "), disk2vhd ("d2v "), XenServer ("tap\0"), XenConverter ("CTXS") and
    /// qemu with force_size ("qem2") use "current size". Whatever the creator, the maximum geometry
    /// (65535/16/255) means the geometry cannot describe the disk, so "current size" is used. Any other creator
    /// (ours, "iscv", included) is taken by geometry; our images keep both fields in agreement, so this only
    /// matters for other tools' images. Partial sectors are dropped.
    /// </summary>
    public long VirtualSize
    {
        get
        {
            string app = CreatorApplicationText;
            bool useCurrentSize = app == "win " || app == "qem2" || app == "d2v " || app == "CTXS" || app == "tap\0"
                || Geometry.Equals(VhdGeometry.Max);
            ulong bytes = useCurrentSize ? CurrentSize / 512 * 512 : (ulong)Geometry.TotalSectors * 512;
            return bytes > long.MaxValue ? long.MaxValue : (long)bytes;
        }
    }
}
