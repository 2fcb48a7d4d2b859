using System;
using System.Collections.Generic;
using System.Globalization;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Partitions.Mbr;

/// <summary>Reads the primary entries of an MBR and follows the EBR chain of its extended partition.</summary>
internal static class MbrReader
{
    /// <summary>Logical partitions followed before an EBR chain is taken to be hostile (Linux allows 256 partitions in all).</summary>
    public const int MaxLogicalPartitions = 256;

    public const string FormatName = "MBR";

    /// <summary>Logical partitions are numbered from 5 on, after the four primary slots, as Linux and sfdisk do.</summary>
    public const int FirstLogicalIndex = 5;

    public static List<RawPartition> Read(SparseStream disk, int sectorSize, MbrSector mbr, List<string> warnings)
    {
        long totalSectors = disk.Length / sectorSize;
        var partitions = new List<RawPartition>();
        MbrEntry? extended = null;
        for (int slot = 0; slot < MbrSector.EntryCount; slot++)
        {
            MbrEntry e = mbr.Entries[slot];
            if (e.IsEmpty)
            {
                continue;
            }
            partitions.Add(ToRaw(e, slot + 1, e.FirstLba, isLogical: false));
            if (PartitionTypes.IsExtended(e.Type))
            {
                if (extended is null)
                {
                    extended = e;
                }
                else
                {
                    warnings.Add(string.Format(CultureInfo.InvariantCulture, "MBR entry {0} is a second extended partition; its logical partitions are not read", slot + 1));
                }
            }
        }
        if (extended is { } ext)
        {
            ReadLogical(disk, sectorSize, totalSectors, ext, partitions, warnings);
        }
        CheckBounds(partitions, totalSectors, warnings);
        return partitions;
    }

    private static void ReadLogical(SparseStream disk, int sectorSize, long totalSectors, MbrEntry ext, List<RawPartition> partitions, List<string> warnings)
    {
        long extStart = ext.FirstLba;
        long extEnd = Math.Min(extStart + ext.SectorCount, totalSectors); // exclusive
        var visited = new HashSet<long>();
        byte[] sector = new byte[sectorSize];
        long ebrLba = extStart;
        int index = FirstLogicalIndex;
        while (true)
        {
            long offset = ebrLba * sectorSize;
            string structure = string.Format(CultureInfo.InvariantCulture, "EBR {0}", visited.Count + 1);
            if (visited.Count >= MaxLogicalPartitions)
            {
                throw new CorruptDataException(FormatName, structure, offset, $"the EBR chain has more than {MaxLogicalPartitions} links");
            }
            if (!visited.Add(ebrLba))
            {
                throw new CorruptDataException(FormatName, structure, offset, "the EBR chain loops back to an EBR it already visited");
            }
            if (ebrLba < extStart || ebrLba >= extEnd)
            {
                throw new CorruptDataException(FormatName, structure, offset,
                    string.Format(CultureInfo.InvariantCulture, "the EBR at sector {0} lies outside the extended partition (sectors {1}..{2})", ebrLba, extStart, extEnd - 1));
            }
            if (disk.ReadAtMost(offset, sector) != sectorSize)
            {
                throw new CorruptDataException(FormatName, structure, offset, "the EBR lies past the end of the disk");
            }
            MbrSector ebr = MbrSector.ReadFrom(sector);
            if (!ebr.HasBootSignature)
            {
                // An extended partition without logical ones may hold a blank first EBR: that ends the chain.
                if (ebrLba == extStart && StreamExtensions.IsAllZero(sector))
                {
                    return;
                }
                throw new CorruptDataException(FormatName, structure, offset, "the EBR lacks the 0x55AA signature");
            }
            MbrEntry logical = ebr.Entries[0];
            MbrEntry link = ebr.Entries[1];
            if (!logical.IsEmpty)
            {
                // The logical partition's start is relative to its own EBR.
                RawPartition p = ToRaw(logical, index++, ebrLba + logical.FirstLba, isLogical: true);
                if (p.FirstSector < extStart || p.LastSector >= extStart + ext.SectorCount)
                {
                    warnings.Add(string.Format(CultureInfo.InvariantCulture, "logical partition {0} (sectors {1}..{2}) reaches outside its extended partition", p.Index, p.FirstSector, p.LastSector));
                }
                partitions.Add(p);
            }
            if (link.IsEmpty)
            {
                return;
            }
            if (!PartitionTypes.IsExtended(link.Type))
            {
                warnings.Add(string.Format(CultureInfo.InvariantCulture, "EBR at sector {0} links with type 0x{1:X2}, not an extended type; the chain ends there", ebrLba, link.Type));
                return;
            }
            // The next EBR's start is relative to the start of the outermost extended partition.
            ebrLba = extStart + link.FirstLba;
        }
    }

    private static RawPartition ToRaw(MbrEntry e, int index, long firstSector, bool isLogical) => new()
    {
        Index = index,
        FirstSector = firstSector,
        SectorCount = e.SectorCount,
        MbrType = e.Type,
        Bootable = e.BootIndicator == MbrEntry.ActiveFlag,
        IsLogical = isLogical,
    };

    private static void CheckBounds(List<RawPartition> partitions, long totalSectors, List<string> warnings)
    {
        foreach (RawPartition p in partitions)
        {
            if (p.FirstSector + p.SectorCount > totalSectors)
            {
                warnings.Add(string.Format(CultureInfo.InvariantCulture, "partition {0} (sectors {1}..{2}) ends past the end of the disk ({3} sectors)", p.Index, p.FirstSector, p.LastSector, totalSectors));
            }
        }
        // Primary partitions (and the extended container) must not overlap one another; logical ones sit inside the container.
        var primaries = partitions.FindAll(p => !p.IsLogical);
        primaries.Sort((a, b) => a.FirstSector.CompareTo(b.FirstSector));
        for (int i = 1; i < primaries.Count; i++)
        {
            if (primaries[i].FirstSector <= primaries[i - 1].LastSector)
            {
                warnings.Add(string.Format(CultureInfo.InvariantCulture, "partitions {0} and {1} overlap", primaries[i - 1].Index, primaries[i].Index));
            }
        }
    }
}
