using System;

namespace IscsiConvert.Storage.Partitions;

/// <summary>A partition as a table reader found it, in sectors, before it becomes a public <see cref="PartitionInfo"/>.</summary>
internal sealed class RawPartition
{
    public int Index { get; set; }

    public long FirstSector { get; set; }

    public long SectorCount { get; set; }

    public byte? MbrType { get; set; }

    public Guid? TypeGuid { get; set; }

    public Guid? UniqueGuid { get; set; }

    public string? Name { get; set; }

    public ulong Attributes { get; set; }

    public bool Bootable { get; set; }

    public bool IsLogical { get; set; }

    public long LastSector => FirstSector + SectorCount - 1;
}
