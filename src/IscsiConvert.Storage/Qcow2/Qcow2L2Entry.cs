namespace IscsiConvert.Storage.Qcow2;

/// <summary>What a guest cluster maps to, decoded from its 64-bit L2 table entry.</summary>
internal enum Qcow2ClusterKind
{
    /// <summary>Not in this file: read from the backing file, or zeros.</summary>
    Unallocated,

    /// <summary>Reads as zeros (version 3, bit 0); a host offset may still be reserved (preallocated).</summary>
    Zero,

    /// <summary>Stored uncompressed at a cluster-aligned host offset.</summary>
    Standard,

    /// <summary>Stored deflate-compressed at an unaligned host offset, spanning whole 512-byte sectors.</summary>
    Compressed,
}

/// <summary>
/// An L2 table entry (qcow2.txt "Cluster mapping"): bit 63 "copied" (refcount exactly one), bit 62 compressed,
/// then either a standard descriptor (bit 0 zero flag, bits 9-55 host offset) or a compressed descriptor (host offset
/// in the low x = 62 - (cluster_bits - 8) bits, additional 512-byte sector count above it).
/// </summary>
internal readonly struct Qcow2L2Entry
{
    public const ulong CopiedFlag = 1UL << 63;
    public const ulong CompressedFlag = 1UL << 62;
    public const ulong ZeroFlag = 1UL;

    /// <summary>Bits 9-55: a cluster-aligned host offset in L1, L2 and refcount table entries.</summary>
    public const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00UL;

    /// <summary>Reserved bits of a standard descriptor (1-8 and 56-61).</summary>
    private const ulong StandardReserved = 0x3F00_0000_0000_01FEUL;

    /// <summary>The unit of the compressed size field.</summary>
    public const int CompressedSectorSize = 512;

    private Qcow2L2Entry(Qcow2ClusterKind kind, long hostOffset, long compressedLength)
    {
        Kind = kind;
        HostOffset = hostOffset;
        CompressedLength = compressedLength;
    }

    public Qcow2ClusterKind Kind { get; }

    /// <summary>The host offset: cluster-aligned for standard/zero clusters (0 = none), any byte for compressed ones.</summary>
    public long HostOffset { get; }

    /// <summary>For compressed clusters: the bytes from <see cref="HostOffset"/> to the end of the last sector used.</summary>
    public long CompressedLength { get; }

    /// <summary>
    /// Decodes an entry, or returns null with <paramref name="problem"/> set when reserved bits are set or the
    /// combination of flags is impossible.
    /// </summary>
    public static Qcow2L2Entry? Decode(ulong raw, int clusterBits, bool version3, out string? problem)
    {
        problem = null;
        if ((raw & CompressedFlag) != 0)
        {
            if ((raw & CopiedFlag) != 0)
            {
                problem = "a compressed cluster has the copied flag set";
                return null;
            }
            int x = 62 - (clusterBits - 8);
            ulong offset = raw & ((1UL << x) - 1);
            ulong additionalSectors = (raw >> x) & ((1UL << (clusterBits - 8)) - 1);
            long length = (long)((additionalSectors + 1) * CompressedSectorSize) - (long)(offset & (CompressedSectorSize - 1));
            if (offset > (1UL << 56))
            {
                problem = $"the compressed cluster offset 0x{offset:X} is beyond 2^56";
                return null;
            }
            return new Qcow2L2Entry(Qcow2ClusterKind.Compressed, (long)offset, length);
        }
        ulong reserved = raw & (version3 ? StandardReserved : StandardReserved | ZeroFlag);
        if (reserved != 0)
        {
            problem = $"reserved bits 0x{reserved:X16} are set";
            return null;
        }
        long host = (long)(raw & OffsetMask);
        if (version3 && (raw & ZeroFlag) != 0)
        {
            return new Qcow2L2Entry(Qcow2ClusterKind.Zero, host, 0);
        }
        if (host == 0)
        {
            if ((raw & CopiedFlag) != 0)
            {
                problem = "host offset 0 with the copied flag (only valid with an external data file)";
                return null;
            }
            return new Qcow2L2Entry(Qcow2ClusterKind.Unallocated, 0, 0);
        }
        return new Qcow2L2Entry(Qcow2ClusterKind.Standard, host, 0);
    }

    /// <summary>A standard entry for a cluster at <paramref name="hostOffset"/> whose refcount is one.</summary>
    public static ulong StandardCopied(long hostOffset) => ((ulong)hostOffset & OffsetMask) | CopiedFlag;
}
