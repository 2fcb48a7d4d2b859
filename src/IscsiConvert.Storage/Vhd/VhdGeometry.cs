using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Vhd;

/// <summary>
/// The cylinder/head/sector geometry in the VHD footer (offset 56: cylinders 16 bits, heads 8, sectors per track 8),
/// and the two rules built on it: how a size becomes a geometry when an image is created, and which of geometry or
/// "current size" gives the virtual size when one is read.
/// </summary>
internal readonly struct VhdGeometry : IEquatable<VhdGeometry>
{
    /// <summary>The largest geometry the field can hold: 65535 cylinders, 16 heads, 255 sectors per track (about 127 GiB).</summary>
    public static readonly VhdGeometry Max = new(65535, 16, 255);

    public VhdGeometry(int cylinders, int heads, int sectorsPerTrack)
    {
        Cylinders = cylinders;
        Heads = heads;
        SectorsPerTrack = sectorsPerTrack;
    }

    public int Cylinders { get; }

    public int Heads { get; }

    public int SectorsPerTrack { get; }

    /// <summary>Cylinders × heads × sectors per track.</summary>
    public long TotalSectors => (long)Cylinders * Heads * SectorsPerTrack;

    public static VhdGeometry ReadFrom(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt16BigEndian(source), source[2], source[3]);

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)Cylinders);
        destination[2] = (byte)Heads;
        destination[3] = (byte)SectorsPerTrack;
    }

    /// <summary>
    /// The geometry for a disk of <paramref name="totalSectors"/> sectors, by the algorithm in the appendix of
    /// Microsoft's VHD specification. It rounds down, so the geometry may describe fewer sectors than asked for.
    /// </summary>
    public static VhdGeometry FromTotalSectors(long totalSectors)
    {
        long maxSectors = Max.TotalSectors;
        if (totalSectors > maxSectors)
        {
            totalSectors = maxSectors;
        }
        long sectorsPerTrack;
        long heads;
        long cylinderTimesHeads;
        if (totalSectors >= 65535L * 16 * 63)
        {
            sectorsPerTrack = 255;
            heads = 16;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
        }
        else
        {
            sectorsPerTrack = 17;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
            heads = (cylinderTimesHeads + 1023) / 1024;
            if (heads < 4)
            {
                heads = 4;
            }
            if (cylinderTimesHeads >= heads * 1024 || heads > 16)
            {
                sectorsPerTrack = 31;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
            if (cylinderTimesHeads >= heads * 1024)
            {
                sectorsPerTrack = 63;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
        }
        return new VhdGeometry((int)(cylinderTimesHeads / heads), (int)heads, (int)sectorsPerTrack);
    }

    /// <summary>
    /// The geometry and byte size of a new image that holds at least <paramref name="requestedBytes"/>.
    /// Below the largest geometry the size is rounded up to the first whole geometry, so that readers that take the
    /// size from the geometry (Virtual PC, qemu for most creators) and readers that take it from "current size"
    /// (Hyper-V) see the same disk; this is also what `qemu-img create -f vpc` does. Above it, the geometry is the
    /// maximum, which every reader (qemu included) takes to mean "use current size", and the size is whole sectors.
    /// </summary>
    public static (VhdGeometry Geometry, long SizeBytes) ForNewDisk(long requestedBytes)
    {
        long wanted = (requestedBytes + 511) / 512;
        if (wanted <= Max.TotalSectors)
        {
            // The geometry of t sectors describes at most t sectors and grows by at most one cylinder (≤ 16 × 255
            // sectors) at a time, so a short search upwards finds the first whole geometry that is large enough.
            for (long t = wanted; t <= wanted + 65536; t++)
            {
                VhdGeometry g = FromTotalSectors(t);
                if (g.TotalSectors >= wanted)
                {
                    return (g, g.TotalSectors * 512);
                }
            }
        }
        return (Max, wanted * 512);
    }

    /// <summary>
    /// The geometry to record for an image whose size is fixed by something else (a differencing disk takes its
    /// parent's size): the spec's geometry when it describes exactly that size, otherwise the maximum geometry, which
    /// tells readers to use "current size" instead.
    /// </summary>
    public static VhdGeometry ForExactSize(long sizeBytes)
    {
        if (sizeBytes % 512 == 0)
        {
            VhdGeometry g = FromTotalSectors(sizeBytes / 512);
            if (g.TotalSectors * 512 == sizeBytes)
            {
                return g;
            }
        }
        return Max;
    }

    public bool Equals(VhdGeometry other) =>
        Cylinders == other.Cylinders && Heads == other.Heads && SectorsPerTrack == other.SectorsPerTrack;

    public override bool Equals(object? obj) => obj is VhdGeometry other && Equals(other);

    public override int GetHashCode() => (Cylinders, Heads, SectorsPerTrack).GetHashCode();

    public override string ToString() => $"{Cylinders}/{Heads}/{SectorsPerTrack}";
}
