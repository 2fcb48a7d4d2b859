using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Ntfs;

/// <summary>A file or directory of an NTFS volume, as reached through one of its names.</summary>
public sealed class NtfsEntry
{
    internal NtfsEntry(string name, string path)
    {
        Name = name;
        Path = path;
    }

    /// <summary>The name by which the entry was reached (the Win32 name, not the 8.3 alias).</summary>
    public string Name { get; }

    /// <summary>The full path from the root, with backslashes, starting with a backslash.</summary>
    public string Path { get; }

    /// <summary>True for a directory.</summary>
    public bool IsDirectory { get; internal set; }

    /// <summary>Length of the unnamed data stream in bytes (0 for directories).</summary>
    public long Size { get; internal set; }

    /// <summary>The MFT record number (the "inode").</summary>
    public long MftRecordNumber { get; internal set; }

    /// <summary>The MFT record's sequence number (with the record number, the file reference).</summary>
    public int SequenceNumber { get; internal set; }

    /// <summary>Creation time (UTC), from $STANDARD_INFORMATION.</summary>
    public DateTime CreationTimeUtc { get; internal set; }

    /// <summary>Last write time (UTC), from $STANDARD_INFORMATION.</summary>
    public DateTime LastWriteTimeUtc { get; internal set; }

    /// <summary>Time the MFT record last changed (UTC), from $STANDARD_INFORMATION.</summary>
    public DateTime MftChangeTimeUtc { get; internal set; }

    /// <summary>Last access time (UTC), from $STANDARD_INFORMATION.</summary>
    public DateTime LastAccessTimeUtc { get; internal set; }

    /// <summary>The DOS file attribute flags (read-only, hidden, system, archive, compressed, sparse, reparse point …).</summary>
    public FileAttributes Attributes { get; internal set; }

    /// <summary>The number of (non-8.3) names the file has in directories: more than 1 for hard-linked files.</summary>
    public int HardLinkCount { get; internal set; }

    /// <summary>The 8.3 alias, when the file has one distinct from its long name.</summary>
    public string? ShortName { get; internal set; }

    /// <summary>True when the unnamed data stream is LZNT1-compressed.</summary>
    public bool IsCompressed { get; internal set; }

    /// <summary>The security id ($Secure key) from $STANDARD_INFORMATION; 0 when the file has its own descriptor or none.</summary>
    public uint SecurityId { get; internal set; }

    /// <summary>The reparse tag when the entry is a reparse point (0xA0000003 junction, 0xA000000C symbolic link, …), else null.</summary>
    public uint? ReparseTag { get; internal set; }

    /// <summary>The target of a junction or symbolic link, as Windows prints it; null otherwise.</summary>
    public string? ReparseTarget { get; internal set; }

    /// <summary>The named data streams.</summary>
    public IReadOnlyList<NtfsStreamInfo> AlternateStreams { get; internal set; } = Array.Empty<NtfsStreamInfo>();

    /// <inheritdoc/>
    public override string ToString() => Path;
}
