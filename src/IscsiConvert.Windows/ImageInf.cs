using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>Where an INF offered to a device comes from.</summary>
public enum InfOrigin
{
    /// <summary>\Windows\INF of the image: inbox INFs and installed oemNN.inf copies.</summary>
    InfFolder = 0,

    /// <summary>A package folder of the image's driver store (System32\DriverStore\FileRepository).</summary>
    DriverStore = 1,

    /// <summary>A driver package supplied by the caller (not on the image).</summary>
    Supplied = 2,
}

/// <summary>An INF file of the image (or a supplied package) with its parsed text, or why it could not be read.</summary>
public sealed class ImageInf
{
    internal ImageInf(string path, InfOrigin origin, InfFile? inf, string? error)
    {
        Path = path;
        Origin = origin;
        Inf = inf;
        Error = error;
    }

    /// <summary>The path on the volume (\Windows\INF\netkvm.inf), or the host path of a supplied package's INF.</summary>
    public string Path { get; }

    /// <summary>Where the INF is.</summary>
    public InfOrigin Origin { get; }

    /// <summary>The parsed INF, or null when it could not be read (see <see cref="Error"/>).</summary>
    public InfFile? Inf { get; }

    /// <summary>Why the INF could not be read, or null.</summary>
    public string? Error { get; }

    /// <inheritdoc/>
    public override string ToString() => Path;
}
