using System;
using System.Buffers.Binary;
using System.Globalization;

namespace IscsiConvert.Ntfs.Format;

/// <summary>The NTFS boot sector (volume header): geometry and where the MFT lives.</summary>
internal sealed class NtfsBootSector
{
    public const int Size = 512;

    private const int OemIdOffset = 0x03;
    private const int BytesPerSectorOffset = 0x0B;
    private const int SectorsPerClusterOffset = 0x0D;
    private const int TotalSectorsOffset = 0x28;
    private const int MftLcnOffset = 0x30;
    private const int MftMirrLcnOffset = 0x38;
    private const int MftRecordSizeOffset = 0x40;
    private const int IndexRecordSizeOffset = 0x44;
    private const int SerialNumberOffset = 0x48;
    private const int BootSignatureOffset = 0x1FE;
    private const int JumpOffset = 0x00;
    private const int MediaDescriptorOffset = 0x15;
    private const int SectorsPerTrackOffset = 0x18;
    private const int HeadsOffset = 0x1A;
    private const int HiddenSectorsOffset = 0x1C;
    private const int PhysicalDriveOffset = 0x24;
    private const int ExtendedBootSignatureOffset = 0x26;
    private const int BootCodeOffset = 0x54;

    // The x86 jump over the BIOS parameter block to the boot code at 0x54, as every NTFS boot sector starts.
    private static readonly byte[] Jump = { 0xEB, 0x52, 0x90 };

    // The volume is not bootable by itself (the BOOTMGR loader that Windows puts in $Boot is Microsoft's code): the
    // boot code asks the BIOS to try the next boot device (int 18h) and halts if that returns.
    private static readonly byte[] NotBootableCode = { 0xCD, 0x18, 0xFA, 0xF4, 0xEB, 0xFD };

    private static readonly byte[] OemId = { (byte)'N', (byte)'T', (byte)'F', (byte)'S', (byte)' ', (byte)' ', (byte)' ', (byte)' ' };

    // Windows formats clusters of up to 2 MiB; anything larger is not a volume Windows made.
    private const long MaxClusterSize = 2L * 1024 * 1024;

    // MFT records are 1 KiB (4 KiB on 4Kn disks); index records 4 KiB. 64 KiB bounds both generously.
    private const int MaxRecordSize = 64 * 1024;

    public int BytesPerSector { get; private set; }

    public long ClusterSize { get; private set; }

    public long TotalSectors { get; private set; }

    public long TotalClusters => TotalSectors * BytesPerSector / ClusterSize;

    public long MftLcn { get; private set; }

    public long MftMirrLcn { get; private set; }

    public int MftRecordSize { get; private set; }

    public int IndexRecordSize { get; private set; }

    public ulong SerialNumber { get; private set; }

    /// <summary>True when the first sector carries the NTFS OEM id (used to tell a volume from something else before parsing).</summary>
    public static bool HasSignature(ReadOnlySpan<byte> sector) =>
        sector.Length >= OemIdOffset + OemId.Length && sector.Slice(OemIdOffset, OemId.Length).SequenceEqual(OemId);

    public static NtfsBootSector ReadFrom(ReadOnlySpan<byte> sector, long volumeLength, string? filePath)
    {
        if (sector.Length < Size)
        {
            throw Corrupt(0, $"the volume is {volumeLength} bytes, too small for a boot sector", filePath);
        }
        if (!HasSignature(sector))
        {
            throw new UnsupportedFormatException("Not an NTFS volume: the boot sector does not carry the \"NTFS    \" OEM id.", filePath);
        }
        var boot = new NtfsBootSector();
        int bytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(sector.Slice(BytesPerSectorOffset));
        if (bytesPerSector < 256 || bytesPerSector > 4096 || (bytesPerSector & (bytesPerSector - 1)) != 0)
        {
            throw Corrupt(BytesPerSectorOffset, $"bytes per sector is {bytesPerSector}; expected a power of two from 256 to 4096", filePath);
        }
        boot.BytesPerSector = bytesPerSector;

        // Values up to 128 are a sector count; larger values are a negative exponent: 2^(256 - value) sectors.
        byte spc = sector[SectorsPerClusterOffset];
        long sectorsPerCluster;
        if (spc == 0)
        {
            throw Corrupt(SectorsPerClusterOffset, "sectors per cluster is 0", filePath);
        }
        else if (spc <= 0x80)
        {
            if ((spc & (spc - 1)) != 0)
            {
                throw Corrupt(SectorsPerClusterOffset, $"sectors per cluster is {spc}, not a power of two", filePath);
            }
            sectorsPerCluster = spc;
        }
        else
        {
            int exponent = 256 - spc;
            if (exponent > 20)
            {
                throw Corrupt(SectorsPerClusterOffset, $"sectors per cluster is 2^{exponent}, too large", filePath);
            }
            sectorsPerCluster = 1L << exponent;
        }
        boot.ClusterSize = sectorsPerCluster * bytesPerSector;
        if (boot.ClusterSize > MaxClusterSize)
        {
            throw Corrupt(SectorsPerClusterOffset, $"the cluster size is {boot.ClusterSize} bytes; at most {MaxClusterSize} is supported", filePath);
        }

        long totalSectors = BinaryPrimitives.ReadInt64LittleEndian(sector.Slice(TotalSectorsOffset));
        if (totalSectors <= 0 || totalSectors > volumeLength / bytesPerSector)
        {
            throw Corrupt(TotalSectorsOffset, string.Format(CultureInfo.InvariantCulture,
                "the volume claims {0} sectors but the partition holds {1}", totalSectors, volumeLength / bytesPerSector), filePath);
        }
        boot.TotalSectors = totalSectors;
        boot.MftRecordSize = RecordSize(sector[MftRecordSizeOffset], boot.ClusterSize, MftRecordSizeOffset, "MFT record size", filePath);
        if (boot.MftRecordSize < bytesPerSector)
        {
            throw Corrupt(MftRecordSizeOffset, $"the MFT record size {boot.MftRecordSize} is smaller than a sector", filePath);
        }
        boot.IndexRecordSize = RecordSize(sector[IndexRecordSizeOffset], boot.ClusterSize, IndexRecordSizeOffset, "index record size", filePath);
        boot.MftLcn = BinaryPrimitives.ReadInt64LittleEndian(sector.Slice(MftLcnOffset));
        boot.MftMirrLcn = BinaryPrimitives.ReadInt64LittleEndian(sector.Slice(MftMirrLcnOffset));
        long clusters = boot.TotalClusters;
        if (boot.MftLcn <= 0 || boot.MftLcn >= clusters)
        {
            throw Corrupt(MftLcnOffset, $"the $MFT cluster {boot.MftLcn} lies outside the volume's {clusters} clusters", filePath);
        }
        if (boot.MftMirrLcn <= 0 || boot.MftMirrLcn >= clusters)
        {
            throw Corrupt(MftMirrLcnOffset, $"the $MFTMirr cluster {boot.MftMirrLcn} lies outside the volume's {clusters} clusters", filePath);
        }
        boot.SerialNumber = BinaryPrimitives.ReadUInt64LittleEndian(sector.Slice(SerialNumberOffset));
        return boot;
    }

    /// <summary>
    /// Encodes a boot sector (512 bytes; on 4Kn volumes the first 512 bytes of the 4096-byte sector). The BIOS
    /// parameter block carries what Windows writes: media 0xF8, drive 0x80, the partition's first LBA as hidden sectors,
    /// and on a partition 63 sectors per track and 255 heads.
    /// </summary>
    public static byte[] Encode(int bytesPerSector, long clusterSize, long totalSectors, long mftLcn, long mftMirrLcn,
        int mftRecordSize, int indexRecordSize, ulong serialNumber, uint hiddenSectors)
    {
        byte[] sector = new byte[Size];
        Span<byte> s = sector;
        Jump.CopyTo(s.Slice(JumpOffset));
        OemId.CopyTo(s.Slice(OemIdOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(BytesPerSectorOffset), (ushort)bytesPerSector);
        long sectorsPerCluster = clusterSize / bytesPerSector;
        s[SectorsPerClusterOffset] = sectorsPerCluster <= 0x80 ? (byte)sectorsPerCluster : (byte)(256 - Log2(sectorsPerCluster));
        s[MediaDescriptorOffset] = 0xF8;
        // A partition gets the 63-sector, 255-head translation geometry; a bare volume (no partition, hidden sectors
        // 0, as Windows formats a disk without a partition table) gets none.
        if (hiddenSectors != 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(SectorsPerTrackOffset), 63);
            BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(HeadsOffset), 255);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(HiddenSectorsOffset), hiddenSectors);
        s[PhysicalDriveOffset] = 0x80;
        s[ExtendedBootSignatureOffset] = 0x80;
        BinaryPrimitives.WriteInt64LittleEndian(s.Slice(TotalSectorsOffset), totalSectors);
        BinaryPrimitives.WriteInt64LittleEndian(s.Slice(MftLcnOffset), mftLcn);
        BinaryPrimitives.WriteInt64LittleEndian(s.Slice(MftMirrLcnOffset), mftMirrLcn);
        s[MftRecordSizeOffset] = EncodeRecordSize(mftRecordSize, clusterSize);
        s[IndexRecordSizeOffset] = EncodeRecordSize(indexRecordSize, clusterSize);
        BinaryPrimitives.WriteUInt64LittleEndian(s.Slice(SerialNumberOffset), serialNumber);
        NotBootableCode.CopyTo(s.Slice(BootCodeOffset));
        s[BootSignatureOffset] = 0x55;
        s[BootSignatureOffset + 1] = 0xAA;
        return sector;
    }

    /// <summary>The "clusters per record" byte: a cluster count when a record spans whole clusters, else -log2(bytes).</summary>
    public static byte EncodeRecordSize(int recordSize, long clusterSize) =>
        recordSize >= clusterSize ? (byte)(recordSize / clusterSize) : unchecked((byte)(sbyte)-Log2(recordSize));

    private static int Log2(long value)
    {
        int log = 0;
        while ((1L << log) < value)
        {
            log++;
        }
        return log;
    }

    // Positive: a number of clusters; negative: 2^-value bytes (used when a record is smaller than a cluster).
    private static int RecordSize(byte raw, long clusterSize, int offset, string what, string? filePath)
    {
        long size;
        sbyte value = unchecked((sbyte)raw);
        if (value > 0)
        {
            size = value * clusterSize;
        }
        else if (value < 0 && value >= -31)
        {
            size = 1L << -value;
        }
        else
        {
            throw Corrupt(offset, $"the {what} field is {value}", filePath);
        }
        if (size < 256 || size > MaxRecordSize)
        {
            throw Corrupt(offset, $"the {what} is {size} bytes; expected 256 to {MaxRecordSize}", filePath);
        }
        return (int)size;
    }

    private static CorruptDataException Corrupt(long offset, string problem, string? filePath) =>
        new("NTFS", "boot sector", offset, problem, filePath);
}
