using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.FileSystems;

/// <summary>
/// Recognises a file system from the first few KiB of a volume (a partition or a bare disk) by its signatures, without
/// mounting or walking it.
/// </summary>
public static class FileSystemProbe
{
    // Boot sector (FAT, NTFS, exFAT, ReFS, BitLocker): the OEM ID at offset 3.
    private const int OemIdOffset = 3;
    private const int BootSignatureOffset = 510;

    // FAT BIOS parameter block.
    private const int BytesPerSectorOffset = 11;
    private const int SectorsPerClusterOffset = 13;
    private const int ReservedSectorsOffset = 14;
    private const int FatCountOffset = 16;
    private const int RootEntriesOffset = 17;
    private const int TotalSectors16Offset = 19;
    private const int MediaOffset = 21;
    private const int FatSize16Offset = 22;
    private const int TotalSectors32Offset = 32;
    private const int FatSize32Offset = 36;
    private const int Fat16ExtSignatureOffset = 38;
    private const int Fat16LabelOffset = 43;
    private const int Fat16TypeOffset = 54;
    private const int Fat32ExtSignatureOffset = 66;
    private const int Fat32LabelOffset = 71;
    private const int Fat32TypeOffset = 82;
    private const int FatLabelLength = 11;

    // ext2/3/4 superblock, 1024 bytes into the volume.
    private const int ExtSuperblockOffset = 1024;
    private const int ExtMagicOffset = 0x38;
    private const int ExtCompatOffset = 0x5C;
    private const int ExtIncompatOffset = 0x60;
    private const int ExtRoCompatOffset = 0x64;
    private const int ExtLabelOffset = 0x78;
    private const int ExtLabelLength = 16;
    private const ushort ExtMagic = 0xEF53;
    private const uint ExtCompatHasJournal = 0x4;
    private const uint ExtIncompatJournalDev = 0x8;

    // Features ext3 already had; anything else means ext4 (the same rule blkid applies).
    private const uint Ext3Incompat = 0x2 | 0x4 | 0x10; // filetype, recover, meta_bg
    private const uint Ext3RoCompat = 0x1 | 0x2 | 0x4;  // sparse_super, large_file, btree_dir

    // Linux swap: the signature ends the first page; the label sits in the v1 header after 1 KiB of boot bits.
    private const int SwapLabelOffset = 1024 + 28;
    private const int SwapLabelLength = 16;
    private static readonly int[] SwapPageSizes = { 4096, 8192, 16384, 65536 };

    private const int ProbeBytes = 4096;

    /// <summary>Recognises the file system on <paramref name="volume"/> (read from offset 0, a seekable stream); null when unknown.</summary>
    public static DetectedFileSystem? Detect(Stream volume)
    {
        if (volume is null)
        {
            throw new ArgumentNullException(nameof(volume));
        }
        byte[] head = new byte[ProbeBytes];
        int n = volume.ReadAtMost(0, head);
        ReadOnlySpan<byte> data = head.AsSpan(0, n);

        if (n >= 512 && DetectBootSector(data) is { } boot)
        {
            return boot;
        }
        if (n >= ExtSuperblockOffset + ExtLabelOffset + ExtLabelLength && DetectExt(data.Slice(ExtSuperblockOffset)) is { } ext)
        {
            return ext;
        }
        return DetectSwap(volume, head, n);
    }

    /// <summary>Recognises a volume boot record (NTFS, exFAT, ReFS, BitLocker, FAT); used to tell a bare volume from an MBR.</summary>
    internal static DetectedFileSystem? DetectBootSector(ReadOnlySpan<byte> sector)
    {
        if (sector.Length < 512)
        {
            return null;
        }
        ReadOnlySpan<byte> oem = sector.Slice(OemIdOffset, 8);
        if (oem.SequenceEqual("NTFS    "u8))
        {
            return new DetectedFileSystem("NTFS", null);
        }
        if (oem.SequenceEqual("EXFAT   "u8))
        {
            return new DetectedFileSystem("exFAT", null);
        }
        if (oem.SequenceEqual("-FVE-FS-"u8))
        {
            return new DetectedFileSystem("BitLocker", null);
        }
        if (oem.SequenceEqual("ReFS\0\0\0\0"u8))
        {
            return new DetectedFileSystem("ReFS", null);
        }
        return DetectFat(sector);
    }

    private static DetectedFileSystem? DetectFat(ReadOnlySpan<byte> s)
    {
        if (s[BootSignatureOffset] != 0x55 || s[BootSignatureOffset + 1] != 0xAA)
        {
            return null;
        }
        int bytesPerSector = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(BytesPerSectorOffset));
        int sectorsPerCluster = s[SectorsPerClusterOffset];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(ReservedSectorsOffset));
        int fats = s[FatCountOffset];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(RootEntriesOffset));
        byte media = s[MediaOffset];
        bool sane = bytesPerSector is 512 or 1024 or 2048 or 4096
            && sectorsPerCluster != 0 && (sectorsPerCluster & (sectorsPerCluster - 1)) == 0
            && reserved != 0 && fats is >= 1 and <= 4
            && (media == 0xF0 || media >= 0xF8);
        // The type string is informative only, but requiring one keeps MBR boot code that happens to look like a BPB out.
        bool named = s.Slice(Fat16TypeOffset, 3).SequenceEqual("FAT"u8) || s.Slice(Fat32TypeOffset, 5).SequenceEqual("FAT32"u8);
        if (!sane || !named)
        {
            return null;
        }
        long totalSectors = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(TotalSectors16Offset));
        if (totalSectors == 0)
        {
            totalSectors = BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(TotalSectors32Offset));
        }
        long fatSize = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(FatSize16Offset));
        bool fat32Layout = fatSize == 0;
        if (fat32Layout)
        {
            fatSize = BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(FatSize32Offset));
        }
        long rootSectors = ((rootEntries * 32L) + bytesPerSector - 1) / bytesPerSector;
        long dataSectors = totalSectors - reserved - (fats * fatSize) - rootSectors;
        if (dataSectors <= 0)
        {
            return null;
        }
        // The FAT type follows from the cluster count alone (Microsoft's FAT specification).
        long clusters = dataSectors / sectorsPerCluster;
        string name = clusters < 4085 ? "FAT12" : clusters < 65525 ? "FAT16" : "FAT32";
        int sigOffset = fat32Layout ? Fat32ExtSignatureOffset : Fat16ExtSignatureOffset;
        int labelOffset = fat32Layout ? Fat32LabelOffset : Fat16LabelOffset;
        string? label = null;
        if (s[sigOffset] == 0x29)
        {
            label = Encoding.ASCII.GetString(s.Slice(labelOffset, FatLabelLength).ToArray()).TrimEnd(' ', '\0');
            if (label.Length == 0 || label == "NO NAME")
            {
                label = null;
            }
        }
        return new DetectedFileSystem(name, label);
    }

    private static DetectedFileSystem? DetectExt(ReadOnlySpan<byte> sb)
    {
        if (BinaryPrimitives.ReadUInt16LittleEndian(sb.Slice(ExtMagicOffset)) != ExtMagic)
        {
            return null;
        }
        uint compat = BinaryPrimitives.ReadUInt32LittleEndian(sb.Slice(ExtCompatOffset));
        uint incompat = BinaryPrimitives.ReadUInt32LittleEndian(sb.Slice(ExtIncompatOffset));
        uint roCompat = BinaryPrimitives.ReadUInt32LittleEndian(sb.Slice(ExtRoCompatOffset));
        if ((incompat & ExtIncompatJournalDev) != 0)
        {
            return new DetectedFileSystem("jbd", Label(sb));
        }
        string name = (incompat & ~Ext3Incompat) != 0 || (roCompat & ~Ext3RoCompat) != 0
            ? "ext4"
            : (compat & ExtCompatHasJournal) != 0 ? "ext3" : "ext2";
        return new DetectedFileSystem(name, Label(sb));

        static string? Label(ReadOnlySpan<byte> sb) => Utf8Label(sb.Slice(ExtLabelOffset, ExtLabelLength));
    }

    private static DetectedFileSystem? DetectSwap(Stream volume, byte[] head, int headLength)
    {
        byte[] tail = new byte[10];
        foreach (int page in SwapPageSizes)
        {
            if (volume.ReadAtMost(page - tail.Length, tail) != tail.Length)
            {
                break;
            }
            ReadOnlySpan<byte> sig = tail;
            if (sig.SequenceEqual("SWAPSPACE2"u8) || sig.SequenceEqual("SWAP-SPACE"u8))
            {
                string? label = headLength >= SwapLabelOffset + SwapLabelLength
                    ? Utf8Label(head.AsSpan(SwapLabelOffset, SwapLabelLength))
                    : null;
                return new DetectedFileSystem("swap", sig.SequenceEqual("SWAPSPACE2"u8) ? label : null);
            }
        }
        return null;
    }

    private static string? Utf8Label(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        if (end < 0)
        {
            end = field.Length;
        }
        string label = Encoding.UTF8.GetString(field.Slice(0, end).ToArray());
        return label.Length == 0 ? null : label;
    }
}
