using System;

namespace IscsiConvert.Storage.Partitions;

/// <summary>What to add with <see cref="PartitionTable.AddPartition(NewPartition)"/>.</summary>
public sealed class NewPartition
{
    /// <summary>The partition's purpose; chooses the type when <see cref="TypeGuid"/> / <see cref="MbrType"/> is not given.</summary>
    public PartitionKind Kind { get; set; } = PartitionKind.BasicData;

    /// <summary>An explicit GPT type GUID.</summary>
    public Guid? TypeGuid { get; set; }

    /// <summary>An explicit MBR type byte.</summary>
    public byte? MbrType { get; set; }

    /// <summary>The size in bytes, rounded up to whole sectors; 0 takes the rest of the free space it starts in.</summary>
    public long Length { get; set; }

    /// <summary>The byte offset, a multiple of the sector size; 0 picks the first free 1 MiB boundary with room.</summary>
    public long Start { get; set; }

    /// <summary>The GPT partition name (at most 36 UTF-16 code units).</summary>
    public string? Name { get; set; }

    /// <summary>The GPT unique GUID; when null the table's identifier source makes one.</summary>
    public Guid? UniqueGuid { get; set; }

    /// <summary>MBR: set the active flag. GPT: set the legacy BIOS bootable attribute.</summary>
    public bool Bootable { get; set; }

    /// <summary>Further GPT attribute bits.</summary>
    public ulong Attributes { get; set; }

    /// <summary>A partition of a kind and size.</summary>
    public static NewPartition Of(PartitionKind kind, long length, string? name = null) => new() { Kind = kind, Length = length, Name = name };
}
