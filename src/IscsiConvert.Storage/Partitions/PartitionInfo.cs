using System;
using System.Globalization;

namespace IscsiConvert.Storage.Partitions;

/// <summary>One partition of a <see cref="PartitionTable"/>: where it is, what type it has, and a way to open it.</summary>
public sealed class PartitionInfo
{
    private readonly PartitionTable _table;

    internal PartitionInfo(PartitionTable table, RawPartition raw)
    {
        _table = table;
        Index = raw.Index;
        FirstSector = raw.FirstSector;
        SectorCount = raw.SectorCount;
        Start = raw.FirstSector * table.SectorSize;
        Length = raw.SectorCount * table.SectorSize;
        MbrType = raw.MbrType;
        TypeGuid = raw.TypeGuid;
        UniqueGuid = raw.UniqueGuid;
        Name = string.IsNullOrEmpty(raw.Name) ? null : raw.Name;
        Attributes = raw.Attributes;
        Bootable = raw.Bootable;
        IsLogical = raw.IsLogical;
        (Kind, TypeName) = raw.TypeGuid is { } guid ? PartitionTypes.Describe(guid) : PartitionTypes.Describe(raw.MbrType ?? 0);
    }

    /// <summary>
    /// The partition number as Linux gives it: the GPT entry slot + 1; the MBR slot 1–4 for primary partitions and
    /// 5, 6, … along the EBR chain for logical ones. Numbers may have gaps.
    /// </summary>
    public int Index { get; }

    /// <summary>The table the partition belongs to.</summary>
    public PartitionScheme Scheme => _table.Scheme;

    /// <summary>The first logical sector.</summary>
    public long FirstSector { get; }

    /// <summary>The size in logical sectors.</summary>
    public long SectorCount { get; }

    /// <summary>The byte offset on the disk.</summary>
    public long Start { get; }

    /// <summary>The size in bytes.</summary>
    public long Length { get; }

    /// <summary>The MBR type byte, or null on GPT.</summary>
    public byte? MbrType { get; }

    /// <summary>The GPT partition type GUID, or null on MBR.</summary>
    public Guid? TypeGuid { get; }

    /// <summary>The GPT unique partition GUID, or null on MBR.</summary>
    public Guid? UniqueGuid { get; }

    /// <summary>The GPT partition name, or null when empty or on MBR.</summary>
    public string? Name { get; }

    /// <summary>The GPT attribute bits (bit 0 required, bit 2 legacy BIOS bootable, 60–63 Microsoft's); 0 on MBR.</summary>
    public ulong Attributes { get; }

    /// <summary>MBR: the active flag (0x80). GPT: the legacy BIOS bootable attribute (bit 2).</summary>
    public bool Bootable { get; }

    /// <summary>True for an MBR logical partition inside an extended partition.</summary>
    public bool IsLogical { get; }

    /// <summary>What the partition is for.</summary>
    public PartitionKind Kind { get; }

    /// <summary>A name for the type that a person recognises, such as "EFI system" or "NTFS/exFAT/IFS".</summary>
    public string TypeName { get; }

    /// <summary>The raw type: "0x07" for MBR, the upper-case GUID for GPT.</summary>
    public string TypeCode => TypeGuid is { } g
        ? g.ToString("D").ToUpperInvariant()
        : "0x" + (MbrType ?? 0).ToString("X2", CultureInfo.InvariantCulture);

    /// <summary>Opens the partition as a stream over the disk (writable when the disk is). Disposing it leaves the disk open.</summary>
    public SparseStream Open() => _table.Open(this);

    internal bool BelongsTo(PartitionTable table) => ReferenceEquals(_table, table);

    /// <inheritdoc/>
    public override string ToString() => string.Format(CultureInfo.InvariantCulture,
        "{0} partition {1}: {2} ({3}) at {4}, {5} bytes{6}", Scheme, Index, TypeName, TypeCode, Start, Length, Name is null ? string.Empty : " \"" + Name + "\"");
}
