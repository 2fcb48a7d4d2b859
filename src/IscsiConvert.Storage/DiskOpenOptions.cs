using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Storage;

/// <summary>How <see cref="DiskImage.Open(string, DiskOpenOptions)"/> opens an image.</summary>
public sealed class DiskOpenOptions
{
    /// <summary>Read-only (the default) or read-write. Parents of a differencing disk are always opened read-only.</summary>
    public DiskAccess Access { get; set; } = DiskAccess.ReadOnly;

    /// <summary>Where structure decisions (log replay, parent resolution) are logged.</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;
}
