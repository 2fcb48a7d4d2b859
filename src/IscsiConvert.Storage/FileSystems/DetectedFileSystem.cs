namespace IscsiConvert.Storage.FileSystems;

/// <summary>What <see cref="FileSystemProbe"/> recognised: the file system's name and, where it is cheap to read, its label.</summary>
public sealed class DetectedFileSystem
{
    /// <summary>Creates the result.</summary>
    public DetectedFileSystem(string name, string? label)
    {
        Name = name;
        Label = label;
    }

    /// <summary>"NTFS", "FAT12", "FAT16", "FAT32", "exFAT", "ReFS", "BitLocker", "ext2", "ext3", "ext4" or "swap".</summary>
    public string Name { get; }

    /// <summary>The volume label, or null when there is none or it is not read (NTFS keeps it in the MFT).</summary>
    public string? Label { get; }

    /// <inheritdoc/>
    public override string ToString() => Label is null ? Name : $"{Name} \"{Label}\"";
}
