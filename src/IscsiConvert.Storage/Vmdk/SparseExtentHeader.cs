using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>
/// The 512-byte header of a hosted sparse extent ("KDMV", VMware Virtual Disk Format 1.1 §"Hosted Sparse Extent
/// Header"). All sizes and offsets are in 512-byte sectors, little-endian. A streamOptimized file repeats it in its
/// footer, where <see cref="GrainDirectoryOffset"/> holds the real value instead of <see cref="GrainDirectoryAtEnd"/>.
/// </summary>
internal sealed class SparseExtentHeader
{
    public const int Size = 512;
    public const uint Magic = 0x564D444B; // "KDMV" read as a little-endian uint32
    public const ulong GrainDirectoryAtEnd = ulong.MaxValue;

    public const uint FlagValidNewLineTest = 1u << 0;
    public const uint FlagRedundantGrainTable = 1u << 1;
    public const uint FlagZeroedGrainEntries = 1u << 2;
    public const uint FlagCompressedGrains = 1u << 16;
    public const uint FlagMarkers = 1u << 17;

    public const ushort CompressionNone = 0;
    public const ushort CompressionDeflate = 1;

    private const int MagicOffset = 0;
    private const int VersionOffset = 4;
    private const int FlagsOffset = 8;
    private const int CapacityOffset = 12;
    private const int GrainSizeOffset = 20;
    private const int DescriptorOffsetOffset = 28;
    private const int DescriptorSizeOffset = 36;
    private const int GtesPerGtOffset = 44;
    private const int RgdOffsetOffset = 48;
    private const int GdOffsetOffset = 56;
    private const int OverheadOffset = 64;
    private const int UncleanShutdownOffset = 72;
    private const int SingleEndLineCharOffset = 73;
    private const int NonEndLineCharOffset = 74;
    private const int DoubleEndLineChar1Offset = 75;
    private const int DoubleEndLineChar2Offset = 76;
    private const int CompressAlgorithmOffset = 77;

    public uint Version { get; set; } = 1;

    public uint Flags { get; set; } = FlagValidNewLineTest | FlagRedundantGrainTable;

    /// <summary>The extent's size in sectors.</summary>
    public ulong Capacity { get; set; }

    /// <summary>Sectors per grain.</summary>
    public ulong GrainSize { get; set; } = 128;

    public ulong DescriptorOffset { get; set; }

    public ulong DescriptorSize { get; set; }

    public uint GtesPerGt { get; set; } = 512;

    public ulong RedundantGrainDirectoryOffset { get; set; }

    public ulong GrainDirectoryOffset { get; set; }

    /// <summary>Sectors before the first grain (header, descriptor, directories and preallocated tables).</summary>
    public ulong Overhead { get; set; }

    public bool UncleanShutdown { get; set; }

    public ushort CompressAlgorithm { get; set; }

    /// <summary>The four bytes that detect FTP text-mode corruption: '\n', ' ', '\r', '\n'.</summary>
    public bool NewLineCharactersIntact { get; private set; } = true;

    public bool HasRedundantGrainTable => (Flags & FlagRedundantGrainTable) != 0;

    public bool HasZeroedGrainEntries => (Flags & FlagZeroedGrainEntries) != 0;

    public bool HasCompressedGrains => (Flags & FlagCompressedGrains) != 0;

    public bool HasMarkers => (Flags & FlagMarkers) != 0;

    /// <summary>True when the first four bytes are "KDMV".</summary>
    public static bool HasMagic(ReadOnlySpan<byte> data) =>
        data.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(data) == Magic;

    /// <summary>Parses the fields; the caller validates them (see <see cref="SparseExtent"/>).</summary>
    public static SparseExtentHeader ReadFrom(ReadOnlySpan<byte> data)
    {
        if (data.Length < Size)
        {
            throw new ArgumentException("A sparse extent header is 512 bytes.", nameof(data));
        }
        return new SparseExtentHeader
        {
            Version = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(VersionOffset)),
            Flags = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(FlagsOffset)),
            Capacity = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(CapacityOffset)),
            GrainSize = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(GrainSizeOffset)),
            DescriptorOffset = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(DescriptorOffsetOffset)),
            DescriptorSize = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(DescriptorSizeOffset)),
            GtesPerGt = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(GtesPerGtOffset)),
            RedundantGrainDirectoryOffset = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(RgdOffsetOffset)),
            GrainDirectoryOffset = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(GdOffsetOffset)),
            Overhead = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(OverheadOffset)),
            UncleanShutdown = data[UncleanShutdownOffset] != 0,
            NewLineCharactersIntact = data[SingleEndLineCharOffset] == (byte)'\n'
                && data[NonEndLineCharOffset] == (byte)' '
                && data[DoubleEndLineChar1Offset] == (byte)'\r'
                && data[DoubleEndLineChar2Offset] == (byte)'\n',
            CompressAlgorithm = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(CompressAlgorithmOffset)),
        };
    }

    /// <summary>Writes the 512-byte header, padding included.</summary>
    public void WriteTo(Span<byte> data)
    {
        if (data.Length < Size)
        {
            throw new ArgumentException("A sparse extent header is 512 bytes.", nameof(data));
        }
        data.Slice(0, Size).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(MagicOffset), Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(VersionOffset), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(FlagsOffset), Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(CapacityOffset), Capacity);
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(GrainSizeOffset), GrainSize);
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(DescriptorOffsetOffset), DescriptorOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(DescriptorSizeOffset), DescriptorSize);
        BinaryPrimitives.WriteUInt32LittleEndian(data.Slice(GtesPerGtOffset), GtesPerGt);
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(RgdOffsetOffset), RedundantGrainDirectoryOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(GdOffsetOffset), GrainDirectoryOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(data.Slice(OverheadOffset), Overhead);
        data[UncleanShutdownOffset] = UncleanShutdown ? (byte)1 : (byte)0;
        data[SingleEndLineCharOffset] = (byte)'\n';
        data[NonEndLineCharOffset] = (byte)' ';
        data[DoubleEndLineChar1Offset] = (byte)'\r';
        data[DoubleEndLineChar2Offset] = (byte)'\n';
        BinaryPrimitives.WriteUInt16LittleEndian(data.Slice(CompressAlgorithmOffset), CompressAlgorithm);
    }

    public SparseExtentHeader Clone() => (SparseExtentHeader)MemberwiseClone();
}
