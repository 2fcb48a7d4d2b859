namespace IscsiConvert.Ntfs;

/// <summary>How <see cref="NtfsVolume.Open"/> treats the volume stream.</summary>
public sealed class NtfsOpenOptions
{
    /// <summary>The image file, named in error messages (the stream itself has no name).</summary>
    public string? FilePath { get; set; }

    /// <summary>
    /// Follow junctions and symbolic links while resolving paths (default: off; they are reported as entries with a
    /// <see cref="NtfsEntry.ReparseTarget"/>). A target with a drive letter ("C:\Users") is taken as a path on this
    /// volume; relative symbolic links resolve against their folder; targets on other volumes raise IOException.
    /// </summary>
    public bool FollowJunctions { get; set; }

    /// <summary>Keep the stream open when the volume is disposed (default: the volume disposes it).</summary>
    public bool LeaveOpen { get; set; }

    /// <summary>
    /// Open for writing (default: read-only). The volume is checked first (<see cref="NtfsVolume.CheckWritable"/>):
    /// a dirty, uncleanly shut down or hibernated volume is refused. Changes are held in memory and written by
    /// <see cref="NtfsVolume.Flush"/>; disposing without flushing drops them.
    /// </summary>
    public bool Writable { get; set; }

    /// <summary>The clock for the timestamps of created and changed files (default: the system clock).</summary>
    public System.TimeProvider? TimeProvider { get; set; }
}
