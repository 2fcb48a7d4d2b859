using System;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Windows;

/// <summary>How <see cref="WindowsImage.Open"/> works with an image: logging, the clock, the dirty-hive rule.</summary>
public sealed class WindowsImageOptions
{
    /// <summary>Where what happens is logged (opening, the plan's size and warnings, what was written). Default: nowhere.</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The clock: the ImportDate of a package staged on Windows 8 and later, the timestamps of images created for output.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Edit a dirty hive whose transaction logs exist but cannot be applied, as it is (what the logs hold is lost).
    /// Without it such a hive is refused (<see cref="UnsafeToWriteException"/>). Dirty hives without logs are always
    /// edited, with a warning in the plan.
    /// </summary>
    public bool AllowDirtyHive { get; set; }

    /// <summary>
    /// The parent of a differencing image that was moved or renamed, used instead of the paths stored in the image
    /// (<see cref="Storage.DiskOpenOptions.ParentPath"/>); null (the default) to follow the stored paths. Given for an
    /// image that is not a differencing image, <see cref="WindowsImage.Open"/> throws <see cref="System.ArgumentException"/>.
    /// </summary>
    public string? ParentPath { get; set; }
}
