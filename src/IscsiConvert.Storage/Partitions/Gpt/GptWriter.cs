using System;
using IscsiConvert.Shared;
using IscsiConvert.Storage.Partitions.Mbr;

namespace IscsiConvert.Storage.Partitions.Gpt;

/// <summary>Writes a complete GPT: protective MBR, both entry arrays and both headers with their CRCs.</summary>
internal static class GptWriter
{
    public const uint DefaultEntryCount = 128;

    /// <summary>The primary header of a new, empty GPT filling a disk of <paramref name="totalSectors"/> sectors.</summary>
    public static GptHeader NewLayout(long totalSectors, int sectorSize, Guid diskGuid)
    {
        long arraySectors = ArraySectors(DefaultEntryCount, GptEntry.Size, sectorSize);
        var h = new GptHeader
        {
            MyLba = 1,
            AlternateLba = totalSectors - 1,
            FirstUsableLba = 2 + arraySectors,
            LastUsableLba = totalSectors - 2 - arraySectors,
            DiskGuid = diskGuid,
            EntriesLba = 2,
            EntryCount = DefaultEntryCount,
            EntrySize = GptEntry.Size,
        };
        if (h.LastUsableLba < h.FirstUsableLba)
        {
            throw new ArgumentException($"A disk of {totalSectors} sectors is too small for a GPT.");
        }
        return h;
    }

    public static long ArraySectors(uint entryCount, uint entrySize, int sectorSize) =>
        ((entryCount * (long)entrySize) + sectorSize - 1) / sectorSize;

    /// <summary>
    /// Writes both copies from <paramref name="layout"/> (any copy's header: only the shared fields are used) and
    /// <paramref name="entryArray"/>. The backup is written first, so that an interruption leaves the old primary intact.
    /// </summary>
    public static void Write(SparseStream disk, int sectorSize, GptHeader layout, byte[] entryArray)
    {
        long totalSectors = disk.Length / sectorSize;
        long arraySectors = ArraySectors(layout.EntryCount, layout.EntrySize, sectorSize);
        uint entriesCrc = Crc32.Compute(entryArray);

        GptHeader primary = layout.Clone();
        primary.MyLba = 1;
        primary.AlternateLba = totalSectors - 1;
        primary.EntriesLba = layout.MyLba == 1 ? layout.EntriesLba : 2;
        primary.EntriesCrc = entriesCrc;

        GptHeader backup = primary.Clone();
        backup.MyLba = totalSectors - 1;
        backup.AlternateLba = 1;
        backup.EntriesLba = totalSectors - 1 - arraySectors;

        if (primary.EntriesLba + arraySectors > primary.FirstUsableLba || backup.EntriesLba <= primary.LastUsableLba)
        {
            throw new UnsafeToWriteException("The GPT's entry arrays would overlap its usable sectors at their standard places; the table was not written.");
        }

        byte[] padded = new byte[arraySectors * sectorSize];
        entryArray.CopyTo(padded, 0);
        byte[] sector = new byte[sectorSize];

        disk.WriteAt(backup.EntriesLba * sectorSize, padded);
        backup.WriteTo(sector);
        disk.WriteAt(backup.MyLba * sectorSize, sector);

        disk.WriteAt(primary.EntriesLba * sectorSize, padded);
        primary.WriteTo(sector);
        disk.WriteAt(primary.MyLba * sectorSize, sector);
    }

    /// <summary>Writes a protective MBR: one 0xEE entry covering the disk (capped at 2^32 - 1 sectors), keeping any boot code.</summary>
    public static void WriteProtectiveMbr(SparseStream disk, int sectorSize)
    {
        long totalSectors = disk.Length / sectorSize;
        byte[] sector = new byte[MbrSector.Size];
        disk.ReadAtMost(0, sector);
        var entries = new MbrEntry[MbrSector.EntryCount];
        entries[0] = new MbrEntry(0, 0xEE, 1, (uint)Math.Min(totalSectors - 1, uint.MaxValue));
        new MbrSector(0, entries, true).WriteTo(sector, writeDiskSignature: true);
        disk.WriteAt(0, sector);
    }
}
