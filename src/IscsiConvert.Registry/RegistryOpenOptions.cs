using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Registry;

/// <summary>How to open a hive.</summary>
public sealed class RegistryOpenOptions
{
    /// <summary>Allow edits and <see cref="RegistryHive.Save"/>. A read-only open never changes a byte of any file.</summary>
    public bool Writable { get; set; }

    /// <summary>
    /// Replay the transaction logs of a dirty hive in memory (default true). For a path, the logs are the files beside it
    /// named HIVE.LOG, HIVE.LOG1 and HIVE.LOG2 (any case); for a stream, pass them in <see cref="LogStreams"/>.
    /// </summary>
    public bool RecoverFromLogs { get; set; } = true;

    /// <summary>
    /// Let <see cref="RegistryHive.Save"/> write a hive that was dirty and that no transaction log could recover (default
    /// false: refused). It is saved clean, as it was read plus the edits — what Windows itself loads from a dirty hive
    /// without logs. Whatever the missing logs held is lost, so callers allow this only when there are no logs to lose
    /// or the user said so.
    /// </summary>
    public bool SaveDirtyWithoutRecovery { get; set; }

    /// <summary>The transaction logs of a hive opened from a stream, in order (.LOG1 before .LOG2).</summary>
    public IList<Stream> LogStreams { get; } = new List<Stream>();

    /// <summary>The clock for key timestamps and the base block's time of last write.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where recovery and saving report what they did.</summary>
    public ILogger? Logger { get; set; }
}
