namespace IscsiConvert.Ntfs;

/// <summary>A named data stream (alternate data stream) of a file: "file:name" in Windows.</summary>
public sealed class NtfsStreamInfo
{
    /// <summary>Creates the description.</summary>
    public NtfsStreamInfo(string name, long length)
    {
        Name = name;
        Length = length;
    }

    /// <summary>The stream name.</summary>
    public string Name { get; }

    /// <summary>The stream's length in bytes.</summary>
    public long Length { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Length} bytes)";
}
