using System;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Where a new volume's metadata goes: the geometry (sector, cluster, record sizes; sectors and clusters) and one
/// contiguous extent per system file, allocated front to back from cluster 0. Pure arithmetic, no I/O, so that a dry
/// run and the size check see exactly what a format would write.
/// </summary>
internal sealed class FormatLayout
{
    public const int IndexRecordSize = 4096;
    public const int BootBytes = 8192;
    public const int UpCaseBytes = 65536 * 2;
    public const int AttrDefBytes = 2560;
    public const long MaxClusters = uint.MaxValue;

    // The first MFT records: 0..15 are the system files (12..15 reserved), 16..23 free, 24..26 $Quota, $ObjId, $Reparse.
    public const int MinMftRecords = 64;
    private const long MinLogBytes = 256 * 1024;
    private const long MaxLogBytes = 64L * 1024 * 1024;

    private long _next;

    private FormatLayout()
    {
    }

    public int BytesPerSector { get; private set; }

    public long ClusterSize { get; private set; }

    public int MftRecordSize { get; private set; }

    public long TotalSectors { get; private set; }

    public long TotalClusters { get; private set; }

    public int MftRecords { get; private set; }

    /// <summary>Records copied to $MFTMirr: four, or a whole cluster's worth when a cluster holds more.</summary>
    public int MirrorRecords { get; private set; }

    public long BitmapBytes { get; private set; }

    /// <summary>Bytes of $MFT's $BITMAP: a bit per record, in whole 8-byte words.</summary>
    public long MftBitmapBytes => ((MftRecords + 63L) / 64) * 8;

    public long LogFileBytes { get; private set; }

    public long SdsBytes { get; private set; }

    public Extent Boot { get; private set; }

    public Extent Mft { get; private set; }

    public Extent MftBitmap { get; private set; }

    public Extent Mirror { get; private set; }

    public Extent AttrDef { get; private set; }

    public Extent RootIndex { get; private set; }

    public Extent Bitmap { get; private set; }

    public Extent UpCase { get; private set; }

    public Extent Sds { get; private set; }

    public Extent LogFile { get; private set; }

    /// <summary>Clusters the metadata takes (all of it lies below this cluster).</summary>
    public long UsedClusters => _next;

    /// <summary>Clusters left for files.</summary>
    public long FreeClusters => TotalClusters - _next;

    /// <summary>The cluster size Windows picks for NTFS: 4 KiB up to 16 TiB, doubling with every doubling above, to 2 MiB.</summary>
    public static long DefaultClusterSize(long volumeBytes, int bytesPerSector)
    {
        long cluster = 4096;
        long limit = 16L << 40;
        while (volumeBytes > limit && cluster < 2 * 1024 * 1024)
        {
            cluster *= 2;
            limit *= 2;
        }
        return Math.Max(cluster, bytesPerSector);
    }

    /// <summary>Lays a volume of <paramref name="volumeBytes"/> out, or returns why it cannot be.</summary>
    public static FormatLayout? TryCreate(long volumeBytes, int bytesPerSector, long clusterSize, long sdsBytes, out string? problem)
    {
        var layout = new FormatLayout
        {
            BytesPerSector = bytesPerSector,
            ClusterSize = clusterSize,
            MftRecordSize = bytesPerSector == 4096 ? 4096 : 1024,
            SdsBytes = sdsBytes,
        };

        // The last sector holds the backup boot sector, outside the volume's sectors, as Windows places it.
        layout.TotalSectors = (volumeBytes / bytesPerSector) - 1;
        layout.TotalClusters = layout.TotalSectors <= 0 ? 0 : layout.TotalSectors * bytesPerSector / clusterSize;
        if (layout.TotalClusters > MaxClusters)
        {
            problem = $"{layout.TotalClusters} clusters of {clusterSize} bytes are more than NTFS addresses ({MaxClusters}); use larger clusters";
            return null;
        }
        layout.MirrorRecords = (int)Math.Max(4, clusterSize / layout.MftRecordSize);
        layout.MftRecords = Math.Max(MinMftRecords, layout.MirrorRecords);
        layout.BitmapBytes = ((layout.TotalClusters + 63) / 64) * 8;
        long log = Math.Min(MaxLogBytes, Math.Max(MinLogBytes, volumeBytes / 64));
        layout.LogFileBytes = layout.RoundUp(log);

        layout.Boot = layout.Allocate(BootBytes);
        layout.Mft = layout.Allocate((long)layout.MftRecords * layout.MftRecordSize);
        layout.MftBitmap = layout.Allocate(layout.MftBitmapBytes);
        layout.Mirror = layout.Allocate((long)layout.MirrorRecords * layout.MftRecordSize);
        layout.AttrDef = layout.Allocate(AttrDefBytes);
        layout.RootIndex = layout.Allocate(IndexRecordSize);
        layout.Bitmap = layout.Allocate(layout.BitmapBytes);
        layout.UpCase = layout.Allocate(UpCaseBytes);
        layout.Sds = layout.Allocate(sdsBytes);
        layout.LogFile = layout.Allocate(layout.LogFileBytes);
        if (layout._next > layout.TotalClusters)
        {
            problem = $"the metadata needs {layout._next} clusters of {clusterSize} bytes, but the volume has {layout.TotalClusters}";
            return null;
        }
        problem = null;
        return layout;
    }

    /// <summary>Bytes rounded up to whole clusters.</summary>
    public long RoundUp(long bytes) => (bytes + ClusterSize - 1) / ClusterSize * ClusterSize;

    private Extent Allocate(long bytes)
    {
        long clusters = (bytes + ClusterSize - 1) / ClusterSize;
        var extent = new Extent(_next, clusters);
        _next += clusters;
        return extent;
    }

    /// <summary>A contiguous run of clusters.</summary>
    internal readonly struct Extent
    {
        public Extent(long lcn, long clusters)
        {
            Lcn = lcn;
            Clusters = clusters;
        }

        public long Lcn { get; }

        public long Clusters { get; }
    }
}
