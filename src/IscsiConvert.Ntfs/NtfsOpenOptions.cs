namespace IscsiConvert.Ntfs;

/// <summary>How <see cref="NtfsVolume.Open"/> treats the volume stream.</summary>
public sealed class NtfsOpenOptions
{
    /// <summary>The image file, named in error messages (the stream itself has no name).</summary>
    public string? FilePath { get; set; }

    /// <summary>Keep the stream open when the volume is disposed (default: the volume disposes it).</summary>
    public bool LeaveOpen { get; set; }
}
