namespace IscsiConvert.Storage.Partitions;

/// <summary>The kind of partition table on a disk.</summary>
public enum PartitionScheme
{
    /// <summary>A master boot record: four primary entries, optionally an extended partition with logical ones.</summary>
    Mbr = 0,

    /// <summary>A GUID partition table (behind a protective MBR), with a backup copy at the end of the disk.</summary>
    Gpt = 1,
}
