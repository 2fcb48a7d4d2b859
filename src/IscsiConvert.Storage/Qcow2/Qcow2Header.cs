using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// The QCOW2 file header at offset 0 (qemu docs/interop/qcow2.txt, "Header"): 72 bytes in version 2, at least 104
/// (qemu writes 112, with the compression type) in version 3. All numbers are big-endian.
/// </summary>
internal sealed class Qcow2Header
{
    public const string FormatName = "QCOW2";
    public const uint Magic = 0x514649FB; // "QFI\xfb"

    public const int MagicOffset = 0;
    public const int VersionOffset = 4;
    public const int BackingFileOffsetOffset = 8;
    public const int BackingFileSizeOffset = 16;
    public const int ClusterBitsOffset = 20;
    public const int SizeOffset = 24;
    public const int CryptMethodOffset = 32;
    public const int L1SizeOffset = 36;
    public const int L1TableOffsetOffset = 40;
    public const int RefcountTableOffsetOffset = 48;
    public const int RefcountTableClustersOffset = 56;
    public const int SnapshotCountOffset = 60;
    public const int SnapshotsOffsetOffset = 64;
    public const int IncompatibleFeaturesOffset = 72;
    public const int CompatibleFeaturesOffset = 80;
    public const int AutoclearFeaturesOffset = 88;
    public const int RefcountOrderOffset = 96;
    public const int HeaderLengthOffset = 100;
    public const int CompressionTypeOffset = 104;

    public const int V2Length = 72;
    public const int V3MinimumLength = 104;

    /// <summary>The header length we write for version 3: the compression type byte padded to a multiple of 8, as qemu does.</summary>
    public const int V3WrittenLength = 112;

    /// <summary>qemu refuses clusters above 2 MiB; so do we (and 512 bytes is the format's minimum).</summary>
    public const int MinClusterBits = 9;
    public const int MaxClusterBits = 21;

    /// <summary>The longest backing file name the format allows.</summary>
    public const int MaxBackingFileNameLength = 1023;

    public const ulong IncompatibleDirty = 1UL << 0;
    public const ulong IncompatibleCorrupt = 1UL << 1;
    public const ulong IncompatibleExternalData = 1UL << 2;
    public const ulong IncompatibleCompressionType = 1UL << 3;
    public const ulong IncompatibleExtendedL2 = 1UL << 4;
    public const ulong CompatibleLazyRefcounts = 1UL << 0;

    public const byte CompressionZlib = 0;
    public const byte CompressionZstd = 1;

    public uint Version { get; set; }

    public long BackingFileOffset { get; set; }

    public int BackingFileSize { get; set; }

    public int ClusterBits { get; set; }

    public long Size { get; set; }

    public uint CryptMethod { get; set; }

    public uint L1Size { get; set; }

    public long L1TableOffset { get; set; }

    public long RefcountTableOffset { get; set; }

    public uint RefcountTableClusters { get; set; }

    public uint SnapshotCount { get; set; }

    public long SnapshotsOffset { get; set; }

    public ulong IncompatibleFeatures { get; set; }

    public ulong CompatibleFeatures { get; set; }

    public ulong AutoclearFeatures { get; set; }

    public int RefcountOrder { get; set; } = 4;

    public int HeaderLength { get; set; } = V2Length;

    public byte CompressionType { get; set; }

    public long ClusterSize => 1L << ClusterBits;

    /// <summary>
    /// Parses the header from the start of the file. Checks, in order, the magic, the version, the header length and
    /// the fields that need no other structure (cluster size, refcount order, feature bits are judged by the caller).
    /// </summary>
    public static Qcow2Header ReadFrom(ReadOnlySpan<byte> data, string? path)
    {
        if (data.Length < V2Length)
        {
            throw Corrupt(0, $"the file holds {data.Length} bytes, fewer than the {V2Length}-byte header", path);
        }
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(MagicOffset));
        if (magic != Magic)
        {
            throw Corrupt(MagicOffset, $"magic is 0x{magic:X8}, expected 0x{Magic:X8} (\"QFI\\xfb\")", path);
        }
        var h = new Qcow2Header { Version = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(VersionOffset)) };
        if (h.Version != 2 && h.Version != 3)
        {
            throw new UnsupportedFormatException($"QCOW version {h.Version} is not supported (only versions 2 and 3)", path);
        }
        if (h.Version >= 3)
        {
            if (data.Length < V3MinimumLength)
            {
                throw Corrupt(0, $"the file holds {data.Length} bytes, fewer than the {V3MinimumLength}-byte version 3 header", path);
            }
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(HeaderLengthOffset));
            if (length < V3MinimumLength || length % 8 != 0)
            {
                throw Corrupt(HeaderLengthOffset, $"header_length is {length}; version 3 needs a multiple of 8 of at least {V3MinimumLength}", path);
            }
            h.HeaderLength = (int)Math.Min(length, int.MaxValue);
            h.IncompatibleFeatures = BinaryPrimitives.ReadUInt64BigEndian(data.Slice(IncompatibleFeaturesOffset));
            h.CompatibleFeatures = BinaryPrimitives.ReadUInt64BigEndian(data.Slice(CompatibleFeaturesOffset));
            h.AutoclearFeatures = BinaryPrimitives.ReadUInt64BigEndian(data.Slice(AutoclearFeaturesOffset));
            uint order = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(RefcountOrderOffset));
            if (order > 6)
            {
                throw Corrupt(RefcountOrderOffset, $"refcount_order is {order}; at most 6 (64-bit refcounts) is allowed", path);
            }
            h.RefcountOrder = (int)order;
            // The compression type is present only if the header reaches it; absent means zlib.
            h.CompressionType = h.HeaderLength > CompressionTypeOffset && data.Length > CompressionTypeOffset ? data[CompressionTypeOffset] : CompressionZlib;
        }
        uint clusterBits = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(ClusterBitsOffset));
        if (clusterBits < MinClusterBits || clusterBits > 63)
        {
            throw Corrupt(ClusterBitsOffset, $"cluster_bits is {clusterBits}; the format needs at least {MinClusterBits}", path);
        }
        if (clusterBits > MaxClusterBits)
        {
            throw new UnsupportedFormatException($"QCOW2 clusters of 2^{clusterBits} bytes are not supported (at most 2 MiB, as in qemu)", path);
        }
        h.ClusterBits = (int)clusterBits;
        if (h.HeaderLength > h.ClusterSize)
        {
            throw Corrupt(HeaderLengthOffset, $"header_length {h.HeaderLength} is larger than the {h.ClusterSize}-byte first cluster", path);
        }
        h.BackingFileOffset = ReadOffset(data, BackingFileOffsetOffset, "backing_file_offset", path);
        h.BackingFileSize = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data.Slice(BackingFileSizeOffset)), int.MaxValue);
        h.Size = ReadOffset(data, SizeOffset, "size", path);
        h.CryptMethod = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(CryptMethodOffset));
        h.L1Size = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(L1SizeOffset));
        h.L1TableOffset = ReadOffset(data, L1TableOffsetOffset, "l1_table_offset", path);
        h.RefcountTableOffset = ReadOffset(data, RefcountTableOffsetOffset, "refcount_table_offset", path);
        h.RefcountTableClusters = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(RefcountTableClustersOffset));
        h.SnapshotCount = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(SnapshotCountOffset));
        h.SnapshotsOffset = ReadOffset(data, SnapshotsOffsetOffset, "snapshots_offset", path);
        return h;
    }

    /// <summary>Writes the header (<see cref="HeaderLength"/> bytes; padding zeroed).</summary>
    public void WriteTo(Span<byte> data)
    {
        data.Slice(0, HeaderLength).Clear();
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(MagicOffset), Magic);
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(VersionOffset), Version);
        BinaryPrimitives.WriteInt64BigEndian(data.Slice(BackingFileOffsetOffset), BackingFileOffset);
        BinaryPrimitives.WriteInt32BigEndian(data.Slice(BackingFileSizeOffset), BackingFileSize);
        BinaryPrimitives.WriteInt32BigEndian(data.Slice(ClusterBitsOffset), ClusterBits);
        BinaryPrimitives.WriteInt64BigEndian(data.Slice(SizeOffset), Size);
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(CryptMethodOffset), CryptMethod);
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(L1SizeOffset), L1Size);
        BinaryPrimitives.WriteInt64BigEndian(data.Slice(L1TableOffsetOffset), L1TableOffset);
        BinaryPrimitives.WriteInt64BigEndian(data.Slice(RefcountTableOffsetOffset), RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(RefcountTableClustersOffset), RefcountTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(SnapshotCountOffset), SnapshotCount);
        BinaryPrimitives.WriteInt64BigEndian(data.Slice(SnapshotsOffsetOffset), SnapshotsOffset);
        if (Version >= 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(data.Slice(IncompatibleFeaturesOffset), IncompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(data.Slice(CompatibleFeaturesOffset), CompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(data.Slice(AutoclearFeaturesOffset), AutoclearFeatures);
            BinaryPrimitives.WriteInt32BigEndian(data.Slice(RefcountOrderOffset), RefcountOrder);
            BinaryPrimitives.WriteInt32BigEndian(data.Slice(HeaderLengthOffset), HeaderLength);
            if (HeaderLength > CompressionTypeOffset)
            {
                data[CompressionTypeOffset] = CompressionType;
            }
        }
    }

    internal static CorruptDataException Corrupt(long offset, string problem, string? path) =>
        new(FormatName, "header", offset, problem, path);

    /// <summary>Reads a 64-bit offset or size; values with the top bit set cannot be file offsets.</summary>
    private static long ReadOffset(ReadOnlySpan<byte> data, int at, string field, string? path)
    {
        ulong v = BinaryPrimitives.ReadUInt64BigEndian(data.Slice(at));
        if (v > long.MaxValue / 2)
        {
            throw Corrupt(at, $"{field} is 0x{v:X16}, beyond any possible file or disk", path);
        }
        return (long)v;
    }
}
