namespace IscsiConvert.Cli;

/// <summary>
/// What `fs put|mkdir|rm --json` prints: the command, what it did to which path on the volume (<c>created</c>,
/// <c>replaced</c>, <c>exists</c>, <c>deleted</c>), the file's size and MFT record where there is one, and whether it
/// was written (false with --dry-run).
/// </summary>
internal sealed record FsEditReport(string Image, int? Partition, string Command, string Outcome, string Path, long? Size, long? MftRecord, bool DryRun, bool Written)
{
    /// <summary>The text report's line: "created \dir\file (12 bytes, MFT record 64)".</summary>
    public string Describe() => Outcome switch
    {
        "exists" => $"{Path} already exists",
        "deleted" => $"deleted {Path}",
        _ when Size is long size => $"{Outcome} {Path} ({size} bytes, MFT record {MftRecord})",
        _ => $"{Outcome} {Path} (MFT record {MftRecord})",
    };
}

/// <summary>What `disk create --json` prints: the new image, its format, variant and virtual size, and its parent (null unless a differencing image).</summary>
internal sealed record DiskCreateReport(string Output, string Format, string Subformat, long VirtualSize, string? Parent);

/// <summary>
/// What `disk format --json` prints: the partition formatted (null for the whole disk), its size, the file system it
/// held before (null for none), the new NTFS volume's label, cluster size, sector size, clusters and serial number, and
/// whether it was written (false with --dry-run).
/// </summary>
internal sealed record DiskFormatReport(string Image, int? Partition, string Target, long Size, string? PreviousFileSystem, string Label,
    long ClusterSize, int BytesPerSector, long TotalClusters, string SerialNumber, bool DryRun, bool Written);

/// <summary>What `disk recover --json` prints: <c>finished</c>, <c>discarded</c> or <c>none</c> (no interrupted write).</summary>
internal sealed record DiskRecoverReport(string Image, string Outcome);
