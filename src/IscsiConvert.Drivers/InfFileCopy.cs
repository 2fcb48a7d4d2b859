namespace IscsiConvert.Drivers;

/// <summary>One file a CopyFiles directive copies.</summary>
public sealed class InfFileCopy
{
    internal InfFileCopy(string fileName, string sourceName, string? section, int flags, int? dirId, string subdirectory, string? destinationDirectory)
    {
        FileName = fileName;
        SourceName = sourceName;
        Section = section;
        Flags = flags;
        DirId = dirId;
        Subdirectory = subdirectory;
        DestinationDirectory = destinationDirectory;
    }

    /// <summary>The name at the destination.</summary>
    public string FileName { get; }

    /// <summary>The name in the package (the source name when the line renames, else the destination name).</summary>
    public string SourceName { get; }

    /// <summary>The file-list section, or null for a CopyFiles=@file entry.</summary>
    public string? Section { get; }

    /// <summary>The COPYFLG_* flags.</summary>
    public int Flags { get; }

    /// <summary>The destination dirid from [DestinationDirs] (11 when nothing is given), or null when it is not a number.</summary>
    public int? DirId { get; }

    /// <summary>The subdirectory below the dirid, "" for none.</summary>
    public string Subdirectory { get; }

    /// <summary>The destination folder on the Windows volume, such as \Windows\System32\drivers, or null for a dirid we cannot place.</summary>
    public string? DestinationDirectory { get; }

    /// <summary>Where in the package the file is: SourceDisksNames path and SourceDisksFiles subdirectory ("" = the INF's folder).</summary>
    public string SourcePath { get; internal set; } = string.Empty;

    /// <summary>The full destination path, or null.</summary>
    public string? DestinationPath => DestinationDirectory is null ? null : DestinationDirectory.TrimEnd('\\') + "\\" + FileName;
}
