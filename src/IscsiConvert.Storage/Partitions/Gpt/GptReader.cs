using System;
using System.Collections.Generic;
using System.Globalization;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Partitions.Gpt;

/// <summary>A GPT as read from one of its two copies.</summary>
internal sealed class GptTable
{
    public GptTable(GptHeader header, byte[] entryArray, List<RawPartition> partitions)
    {
        Header = header;
        EntryArray = entryArray;
        Partitions = partitions;
    }

    public GptHeader Header { get; }

    /// <summary>The whole entry array, EntryCount × EntrySize bytes.</summary>
    public byte[] EntryArray { get; }

    public List<RawPartition> Partitions { get; }

    public bool IsBackup => Header.MyLba != 1;
}

/// <summary>
/// Reads and validates both GPT copies: signature, revision, header size, header CRC, location, then bounds, then the
/// entry array's CRC, then each entry. A bad primary with a good backup is a warning; both bad is an error.
/// </summary>
internal static class GptReader
{
    public const string FormatName = "GPT";

    /// <summary>Entries accepted in one array (the usual count is 128); beyond this the header is taken to be hostile.</summary>
    public const uint MaxEntryCount = 65536;

    /// <summary>The largest entry array read into memory.</summary>
    public const long MaxArrayBytes = 16L << 20;

    /// <summary>The largest entry size accepted (the specification allows 128 × 2^n).</summary>
    public const uint MaxEntrySize = 4096;

    public static GptTable Read(SparseStream disk, int sectorSize, List<string> warnings)
    {
        long totalSectors = disk.Length / sectorSize;
        GptTable? primary = TryLoad(disk, sectorSize, 1, totalSectors, "primary", out Problem? primaryProblem);
        long backupLba = totalSectors - 1;
        if (primary is not null && primary.Header.AlternateLba != backupLba)
        {
            warnings.Add(string.Format(CultureInfo.InvariantCulture,
                "the primary GPT header places the backup at sector {0}, not at the last sector {1} (was the disk resized?)", primary.Header.AlternateLba, backupLba));
            if (primary.Header.AlternateLba > 1 && primary.Header.AlternateLba < totalSectors)
            {
                backupLba = primary.Header.AlternateLba;
            }
        }
        GptTable? backup = TryLoad(disk, sectorSize, backupLba, totalSectors, "backup", out Problem? backupProblem);
        if (primary is not null)
        {
            if (backup is null)
            {
                warnings.Add($"the backup GPT is unusable ({backupProblem}); the primary is used");
            }
            else if (backup.Header.EntriesCrc != primary.Header.EntriesCrc || backup.Header.DiskGuid != primary.Header.DiskGuid)
            {
                warnings.Add("the backup GPT differs from the primary; the primary is used");
            }
            return primary;
        }
        if (backup is not null)
        {
            warnings.Add($"the primary GPT is unusable ({primaryProblem}); the backup at sector {backupLba.ToString(CultureInfo.InvariantCulture)} is used");
            return backup;
        }
        throw new CorruptDataException(FormatName, primaryProblem!.Structure, primaryProblem.Offset,
            $"{primaryProblem.Text}; the backup is unusable too ({backupProblem}){OtherSectorSizeHint(disk, sectorSize)}");
    }

    /// <summary>A hint when the header sits where another logical sector size would put it (a 4Kn disk read as 512e, or the reverse).</summary>
    private static string OtherSectorSizeHint(SparseStream disk, int sectorSize)
    {
        int other = sectorSize == 512 ? 4096 : 512;
        byte[] signature = new byte[8];
        return disk.ReadAtMost(other, signature) == signature.Length && signature.AsSpan().SequenceEqual(GptHeader.Signature)
            ? string.Format(CultureInfo.InvariantCulture, "; a GPT header was found at byte {0}: the disk seems to have {0}-byte logical sectors", other)
            : string.Empty;
    }

    private static GptTable? TryLoad(SparseStream disk, int sectorSize, long lba, long totalSectors, string copy, out Problem? problem)
    {
        string headerName = copy + " header";
        long headerOffset = lba * sectorSize;
        problem = null;
        byte[] sector = new byte[sectorSize];
        if (lba >= totalSectors || disk.ReadAtMost(headerOffset, sector) != sectorSize)
        {
            problem = new Problem(headerName, headerOffset, "lies past the end of the disk");
            return null;
        }
        GptHeader h = GptHeader.ReadFrom(sector);
        string? headerProblem = CheckHeader(h, sector, lba, totalSectors, sectorSize);
        if (headerProblem is not null)
        {
            problem = new Problem(headerName, headerOffset, headerProblem);
            return null;
        }

        string arrayName = copy + " partition entry array";
        long arrayOffset = h.EntriesLba * sectorSize;
        byte[] array = new byte[checked((int)(h.EntryCount * (long)h.EntrySize))];
        if (disk.ReadAtMost(arrayOffset, array) != array.Length)
        {
            problem = new Problem(arrayName, arrayOffset, "lies past the end of the disk");
            return null;
        }
        uint crc = Crc32.Compute(array);
        if (crc != h.EntriesCrc)
        {
            problem = new Problem(arrayName, arrayOffset, $"CRC-32 mismatch: header says 0x{h.EntriesCrc:X8}, the array has 0x{crc:X8}");
            return null;
        }

        var partitions = new List<RawPartition>();
        for (int i = 0; i < h.EntryCount; i++)
        {
            GptEntry e = GptEntry.ReadFrom(array.AsSpan(i * (int)h.EntrySize, GptEntry.Size));
            if (e.IsUnused)
            {
                continue;
            }
            long entryOffset = arrayOffset + (i * (long)h.EntrySize);
            if (e.FirstLba > e.LastLba || e.FirstLba < h.FirstUsableLba || e.LastLba > h.LastUsableLba)
            {
                problem = new Problem(string.Format(CultureInfo.InvariantCulture, "{0} partition entry {1}", copy, i + 1), entryOffset,
                    string.Format(CultureInfo.InvariantCulture, "sectors {0}..{1} are not inside the usable range {2}..{3}", e.FirstLba, e.LastLba, h.FirstUsableLba, h.LastUsableLba));
                return null;
            }
            partitions.Add(new RawPartition
            {
                Index = i + 1,
                FirstSector = e.FirstLba,
                SectorCount = e.LastLba - e.FirstLba + 1,
                TypeGuid = e.TypeGuid,
                UniqueGuid = e.UniqueGuid,
                Name = e.Name,
                Attributes = e.Attributes,
                Bootable = (e.Attributes & GptAttributes.LegacyBiosBootable) != 0,
            });
        }
        var sorted = new List<RawPartition>(partitions);
        sorted.Sort((a, b) => a.FirstSector.CompareTo(b.FirstSector));
        for (int i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].FirstSector <= sorted[i - 1].LastSector)
            {
                problem = new Problem(string.Format(CultureInfo.InvariantCulture, "{0} partition entry {1}", copy, sorted[i].Index),
                    arrayOffset + ((sorted[i].Index - 1) * (long)h.EntrySize),
                    string.Format(CultureInfo.InvariantCulture, "partition {0} (sectors {1}..{2}) overlaps partition {3} (sectors {4}..{5})",
                        sorted[i].Index, sorted[i].FirstSector, sorted[i].LastSector, sorted[i - 1].Index, sorted[i - 1].FirstSector, sorted[i - 1].LastSector));
                return null;
            }
        }
        return new GptTable(h, array, partitions);
    }

    private static string? CheckHeader(GptHeader h, byte[] sector, long lba, long totalSectors, int sectorSize)
    {
        if (!h.HasSignature)
        {
            return $"no \"EFI PART\" signature (found 0x{h.RawSignature:X16})";
        }
        if (h.Revision >> 16 != 1)
        {
            return $"unsupported revision 0x{h.Revision:X8} (expected 1.x, 0x00010000)";
        }
        if (h.HeaderSize < GptHeader.Size || h.HeaderSize > sectorSize)
        {
            return $"header size {h.HeaderSize} is not between {GptHeader.Size} and the sector size {sectorSize}";
        }
        uint crc = GptHeader.ComputeCrc(sector, (int)h.HeaderSize);
        if (crc != h.HeaderCrc)
        {
            return $"header CRC-32 mismatch: stored 0x{h.HeaderCrc:X8}, computed 0x{crc:X8}";
        }
        var inv = CultureInfo.InvariantCulture;
        if (h.MyLba != lba)
        {
            return string.Format(inv, "the header says it is at sector {0}, but it was read from sector {1}", h.MyLba, lba);
        }
        if (h.FirstUsableLba < 2 || h.LastUsableLba < h.FirstUsableLba || h.LastUsableLba >= totalSectors)
        {
            return string.Format(inv, "usable sectors {0}..{1} do not fit a disk of {2} sectors", h.FirstUsableLba, h.LastUsableLba, totalSectors);
        }
        if (h.EntrySize < GptEntry.Size || h.EntrySize % 8 != 0 || h.EntrySize > MaxEntrySize)
        {
            return string.Format(inv, "partition entry size {0} is invalid (a multiple of 8 from {1} to {2} expected)", h.EntrySize, GptEntry.Size, MaxEntrySize);
        }
        long arrayBytes = h.EntryCount * (long)h.EntrySize;
        if (h.EntryCount > MaxEntryCount || arrayBytes > MaxArrayBytes)
        {
            return string.Format(inv, "partition entry count {0} exceeds the limit of {1} entries ({2} bytes)", h.EntryCount, MaxEntryCount, MaxArrayBytes);
        }
        long arraySectors = (arrayBytes + sectorSize - 1) / sectorSize;
        if (h.EntriesLba < 2 || h.EntriesLba > totalSectors - arraySectors)
        {
            return string.Format(inv, "the partition entry array at sector {0} ({1} sectors) does not fit a disk of {2} sectors", h.EntriesLba, arraySectors, totalSectors);
        }
        long arrayEnd = h.EntriesLba + arraySectors; // exclusive
        bool overlapsUsable = h.EntriesLba <= h.LastUsableLba && arrayEnd > h.FirstUsableLba;
        bool overlapsHeader = lba >= h.EntriesLba && lba < arrayEnd;
        if (overlapsUsable || overlapsHeader)
        {
            return string.Format(inv, "the partition entry array (sectors {0}..{1}) overlaps the {2}", h.EntriesLba, arrayEnd - 1, overlapsHeader ? "header" : "usable sectors");
        }
        return null;
    }

    private sealed record Problem(string Structure, long Offset, string Text)
    {
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} at offset 0x{1:X}: {2}", Structure, Offset, Text);
    }
}

/// <summary>GPT partition attribute bits (UEFI specification).</summary>
internal static class GptAttributes
{
    public const ulong RequiredPartition = 1UL << 0;
    public const ulong LegacyBiosBootable = 1UL << 2;
}
