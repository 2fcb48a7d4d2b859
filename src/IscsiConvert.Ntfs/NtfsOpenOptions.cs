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
}
