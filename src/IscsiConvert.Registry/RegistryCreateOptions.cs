using System;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Registry;

/// <summary>How to create a new, empty hive with <see cref="RegistryHive.Create(string, RegistryCreateOptions?)"/>.</summary>
public sealed class RegistryCreateOptions
{
    /// <summary>
    /// The name of the root key (default "ROOT", the name Windows 10 gives the roots of NTUSER.DAT and SECURITY).
    /// Windows never shows it: a loaded hive's root takes the name of the key it is mounted on. 1 to 255 characters,
    /// no backslash.
    /// </summary>
    public string RootName { get; set; } = "ROOT";

    /// <summary>
    /// The file name kept in the base block for debugging (at most its last 31 characters are stored). Null: the
    /// file's name for <see cref="RegistryHive.Create(string, RegistryCreateOptions?)"/>, empty for a stream.
    /// </summary>
    public string? FileName { get; set; }

    /// <summary>The clock for key timestamps and the base block's time of last write.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where creating and saving report what they did.</summary>
    public ILogger? Logger { get; set; }
}
