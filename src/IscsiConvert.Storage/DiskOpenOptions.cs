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

    /// <summary>
    /// The parent of a differencing image, used instead of the paths stored in it (the parent was moved or renamed).
    /// Applies to the opened image's own parent; the parent's parents are found as usual. The format's own checks
    /// (parent identifier, content ID) still apply. Null (the default): the stored paths. Given for an image that is
    /// not a differencing image, the open fails with an <see cref="System.ArgumentException"/> rather than ignore it.
    /// </summary>
    public string? ParentPath { get; set; }

    /// <summary>
    /// For reporting (`disk info`, as `qemu-img info` does): a QCOW2 overlay or VHD differencing disk whose parent
    /// cannot be found still opens, read-only, with <see cref="VirtualDisk.MissingParentPath"/> set and no parent;
    /// reads where the parent would supply data return zeros, so the content is not the disk's. VHDX and VMDK still throw
    /// <see cref="ParentChainException"/>, as does any other parent problem (wrong identifier, loop). Read-only opens only.
    /// </summary>
    public bool AllowMissingParent { get; set; }
}
