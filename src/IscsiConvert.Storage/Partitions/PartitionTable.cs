using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IscsiConvert.Shared;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions.Gpt;
using IscsiConvert.Storage.Partitions.Mbr;

namespace IscsiConvert.Storage.Partitions;

/// <summary>
/// The MBR or GPT partition table of a disk: read it with <see cref="Read(VirtualDisk)"/> or
/// <see cref="TryRead(SparseStream, int)"/>, open partitions as streams, or create a new table on an empty disk and add
/// partitions to it.
/// </summary>
public sealed class PartitionTable
{
    private readonly SparseStream _disk;
    private Func<Guid> _newIdentifier;
    private GptTable? _gpt;
    private MbrSector? _mbr;

    private PartitionTable(SparseStream disk, int sectorSize, Func<Guid>? newIdentifier)
    {
        _disk = disk;
        SectorSize = sectorSize;
        _newIdentifier = newIdentifier ?? IdentifierSource.Random;
        Partitions = Array.Empty<PartitionInfo>();
        Warnings = Array.Empty<string>();
    }

    /// <summary>MBR or GPT.</summary>
    public PartitionScheme Scheme { get; private set; }

    /// <summary>The logical sector size the table was read with; LBAs count these.</summary>
    public int SectorSize { get; }

    /// <summary>The GPT disk GUID, or null on MBR.</summary>
    public Guid? DiskGuid { get; private set; }

    /// <summary>The MBR disk signature (offset 440), or null on GPT.</summary>
    public uint? DiskSignature { get; private set; }

    /// <summary>The first sector a partition may use (GPT: from the header; MBR: 1).</summary>
    public long FirstUsableSector { get; private set; }

    /// <summary>The last sector a partition may use (GPT: from the header; MBR: the disk's last sector, at most 2^32 - 1).</summary>
    public long LastUsableSector { get; private set; }

    /// <summary>The partitions in table order (GPT: by slot; MBR: primary slots, then logical partitions along the EBR chain).</summary>
    public IReadOnlyList<PartitionInfo> Partitions { get; private set; }

    /// <summary>Problems that did not stop the reading, such as a corrupt primary GPT replaced by its backup.</summary>
    public IReadOnlyList<string> Warnings { get; private set; }

    /// <summary>
    /// Reads the partition table of a virtual disk with its logical sector size; null when the disk has none (blank, or
    /// a bare file system). Throws <see cref="CorruptDataException"/> naming the file when the table is unusable.
    /// </summary>
    public static PartitionTable? Read(VirtualDisk disk)
    {
        if (disk is null)
        {
            throw new ArgumentNullException(nameof(disk));
        }
        try
        {
            return TryRead(disk.Content, disk.LogicalSectorSize);
        }
        catch (CorruptDataException ex) when (disk.FilePath is not null && ex.FilePath is null)
        {
            throw ex.WithFilePath(disk.FilePath);
        }
    }

    /// <summary>
    /// Reads the partition table of <paramref name="disk"/> with <paramref name="sectorSize"/>-byte logical sectors
    /// (512 or 4096); null when there is none. Throws <see cref="CorruptDataException"/> when the table is unusable.
    /// </summary>
    public static PartitionTable? TryRead(SparseStream disk, int sectorSize)
    {
        if (disk is null)
        {
            throw new ArgumentNullException(nameof(disk));
        }
        CheckSectorSize(sectorSize);
        var table = new PartitionTable(disk, sectorSize, null);
        return table.Load() ? table : null;
    }

    /// <summary>Writes a new, empty GPT (protective MBR, both headers and entry arrays for 128 entries) over <paramref name="disk"/>'s first and last sectors.</summary>
    public static PartitionTable CreateGpt(SparseStream disk, int sectorSize, Func<Guid> newIdentifier)
    {
        if (disk is null)
        {
            throw new ArgumentNullException(nameof(disk));
        }
        if (newIdentifier is null)
        {
            throw new ArgumentNullException(nameof(newIdentifier));
        }
        CheckSectorSize(sectorSize);
        GptHeader layout = GptWriter.NewLayout(disk.Length / sectorSize, sectorSize, newIdentifier());
        GptWriter.WriteProtectiveMbr(disk, sectorSize);
        GptWriter.Write(disk, sectorSize, layout, new byte[layout.EntryCount * layout.EntrySize]);
        return Reload(disk, sectorSize, newIdentifier);
    }

    /// <summary>Writes a new, empty MBR with <paramref name="diskSignature"/> over <paramref name="disk"/>'s first sector.</summary>
    public static PartitionTable CreateMbr(SparseStream disk, int sectorSize, uint diskSignature)
    {
        if (disk is null)
        {
            throw new ArgumentNullException(nameof(disk));
        }
        CheckSectorSize(sectorSize);
        if (disk.Length < 2L * sectorSize)
        {
            throw new ArgumentException("The disk is too small for a partition table.", nameof(disk));
        }
        byte[] sector = new byte[MbrSector.Size];
        new MbrSector(diskSignature, new MbrEntry[MbrSector.EntryCount], true).WriteTo(sector, writeDiskSignature: true);
        disk.WriteAt(0, sector);
        return Reload(disk, sectorSize, null);
    }

    /// <summary>
    /// Adds a partition in the first free slot and writes the table (GPT: both copies, backup first). Returns the new
    /// partition; <see cref="Partitions"/> is re-read from the disk.
    /// </summary>
    public PartitionInfo AddPartition(NewPartition partition)
    {
        if (partition is null)
        {
            throw new ArgumentNullException(nameof(partition));
        }
        if (!_disk.CanWrite)
        {
            throw new NotSupportedException("The disk was opened read-only.");
        }
        var used = Partitions.Select(p => (p.FirstSector, p.FirstSector + p.SectorCount - 1));
        var (first, last) = FreeSpace.Allocate(used, FirstUsableSector, LastUsableSector, SectorSize, partition.Start, partition.Length);
        int index;
        if (_gpt is { } gpt)
        {
            index = AddGptEntry(gpt, partition, first, last);
        }
        else
        {
            index = AddMbrEntry(_mbr!, partition, first, last);
        }
        if (!Load())
        {
            throw new InvalidOperationException("The partition table vanished while it was being written.");
        }
        return Partitions.First(p => p.Index == index);
    }

    /// <summary>Opens a partition of this table as a window on the disk.</summary>
    public SparseStream Open(PartitionInfo partition)
    {
        if (partition is null)
        {
            throw new ArgumentNullException(nameof(partition));
        }
        if (!partition.BelongsTo(this))
        {
            throw new ArgumentException("The partition belongs to another table.", nameof(partition));
        }
        if (partition.Start > _disk.Length - partition.Length)
        {
            throw new CorruptDataException(Scheme == PartitionScheme.Gpt ? GptReader.FormatName : MbrReader.FormatName,
                "partition " + partition.Index.ToString(CultureInfo.InvariantCulture), partition.Start,
                string.Format(CultureInfo.InvariantCulture, "the partition ({0} bytes) ends past the end of the disk ({1} bytes)", partition.Length, _disk.Length));
        }
        return new StreamWindow(_disk, partition.Start, partition.Length);
    }

    /// <inheritdoc/>
    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} with {1} partition(s)", Scheme, Partitions.Count);

    private static PartitionTable Reload(SparseStream disk, int sectorSize, Func<Guid>? newIdentifier)
    {
        var table = new PartitionTable(disk, sectorSize, newIdentifier);
        if (!table.Load())
        {
            throw new InvalidOperationException("The new partition table could not be read back.");
        }
        return table;
    }

    private static void CheckSectorSize(int sectorSize)
    {
        if (sectorSize < 512 || sectorSize > 4096 || (sectorSize & (sectorSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sectorSize), "The logical sector size must be 512, 1024, 2048 or 4096.");
        }
    }

    /// <summary>Reads the table from the disk into this object; false when there is none.</summary>
    private bool Load()
    {
        if (_disk.Length < 2L * SectorSize)
        {
            return false;
        }
        byte[] sector0 = new byte[MbrSector.Size];
        if (_disk.ReadAtMost(0, sector0) != sector0.Length)
        {
            return false;
        }
        MbrSector mbr = MbrSector.ReadFrom(sector0);
        // 0x55AA alone does not make an MBR: volume boot records of FAT, NTFS and friends end with it too.
        if (!mbr.HasBootSignature || !mbr.HasPlausibleEntries() || FileSystemProbe.DetectBootSector(sector0) is not null)
        {
            return false;
        }
        var warnings = new List<string>();
        List<RawPartition> raw;
        long totalSectors = _disk.Length / SectorSize;
        if (mbr.Entries.Any(e => e.Type == 0xEE))
        {
            GptTable gpt = GptReader.Read(_disk, SectorSize, warnings);
            Scheme = PartitionScheme.Gpt;
            _gpt = gpt;
            _mbr = null;
            DiskGuid = gpt.Header.DiskGuid;
            DiskSignature = null;
            FirstUsableSector = gpt.Header.FirstUsableLba;
            LastUsableSector = gpt.Header.LastUsableLba;
            raw = gpt.Partitions;
        }
        else
        {
            raw = MbrReader.Read(_disk, SectorSize, mbr, warnings);
            Scheme = PartitionScheme.Mbr;
            _gpt = null;
            _mbr = mbr;
            DiskGuid = null;
            DiskSignature = mbr.DiskSignature;
            FirstUsableSector = 1;
            LastUsableSector = Math.Min(totalSectors, 1L << 32) - 1;
        }
        Partitions = raw.Select(r => new PartitionInfo(this, r)).ToList();
        Warnings = warnings;
        return true;
    }

    private int AddGptEntry(GptTable gpt, NewPartition spec, long first, long last)
    {
        byte[] array = (byte[])gpt.EntryArray.Clone();
        int entrySize = (int)gpt.Header.EntrySize;
        int slot = -1;
        for (int i = 0; i < gpt.Header.EntryCount; i++)
        {
            if (GptEntry.ReadFrom(array.AsSpan(i * entrySize, GptEntry.Size)).IsUnused)
            {
                slot = i;
                break;
            }
        }
        if (slot < 0)
        {
            throw new InvalidOperationException("Every GPT entry is in use.");
        }
        var entry = new GptEntry
        {
            TypeGuid = spec.TypeGuid ?? PartitionTypes.GptTypeFor(spec.Kind),
            UniqueGuid = spec.UniqueGuid ?? _newIdentifier(),
            FirstLba = first,
            LastLba = last,
            Attributes = spec.Attributes | (spec.Bootable ? GptAttributes.LegacyBiosBootable : 0),
            Name = spec.Name ?? string.Empty,
        };
        if (entry.TypeGuid == Guid.Empty)
        {
            throw new ArgumentException("The zero GUID marks an unused entry; it cannot be a partition type.");
        }
        array.AsSpan(slot * entrySize, entrySize).Clear();
        entry.WriteTo(array.AsSpan(slot * entrySize, GptEntry.Size));
        GptWriter.Write(_disk, SectorSize, gpt.Header, array);
        return slot + 1;
    }

    private int AddMbrEntry(MbrSector mbr, NewPartition spec, long first, long last)
    {
        int slot = Array.FindIndex(mbr.Entries, e => e.IsEmpty);
        if (slot < 0)
        {
            throw new InvalidOperationException("All four primary MBR entries are in use.");
        }
        byte type = spec.MbrType ?? PartitionTypes.MbrTypeFor(spec.Kind);
        if (type == 0)
        {
            throw new ArgumentException("Type 0 marks an unused entry; it cannot be a partition type.");
        }
        var entries = (MbrEntry[])mbr.Entries.Clone();
        entries[slot] = new MbrEntry(spec.Bootable ? MbrEntry.ActiveFlag : (byte)0, type, (uint)first, checked((uint)(last - first + 1)));
        byte[] sector = new byte[MbrSector.Size];
        _disk.ReadAtMost(0, sector);
        new MbrSector(mbr.DiskSignature, entries, true).WriteTo(sector, writeDiskSignature: false);
        _disk.WriteAt(0, sector);
        return slot + 1;
    }
}
