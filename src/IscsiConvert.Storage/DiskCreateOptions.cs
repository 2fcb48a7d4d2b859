using System;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Storage;

/// <summary>What <see cref="DiskImage.Create(string, DiskCreateOptions)"/> makes.</summary>
public sealed class DiskCreateOptions
{
    /// <summary>The container format. Raw, VHD and VHDX can be created.</summary>
    public DiskFormat Format { get; set; } = DiskFormat.Vhdx;

    /// <summary>The virtual size in bytes. Ignored for differencing disks, which take their parent's.
    /// Some formats round it up (VHD to its CHS geometry, VHDX to whole sectors).</summary>
    public long Capacity { get; set; }

    /// <summary>True to keep <see cref="Capacity"/> exactly (it must be whole 512-byte sectors) where the format
    /// would otherwise round it up: a VHD then records the size in "current size" and, when no CHS geometry
    /// describes it exactly, the maximum geometry, which Hyper-V and qemu take to mean "use current size".
    /// Conversion sets it, so that a GPT's backup header stays on the last sector.</summary>
    public bool ExactCapacity { get; set; }

    /// <summary>True for a fully allocated ("fixed") image; false (the default) for a dynamic, sparse one.</summary>
    public bool Fixed { get; set; }

    /// <summary>The parent image for a differencing disk, or null. Stored as given and also as a path relative to the new image.</summary>
    public string? ParentPath { get; set; }

    /// <summary>The block size for dynamic images in bytes, or 0 for the format's default (VHD 2 MiB, VHDX 32 MiB).</summary>
    public long BlockSize { get; set; }

    /// <summary>The format-specific variant to create, or null for the format's default. VMDK: "monolithicSparse"
    /// (default), "monolithicFlat" (default when <see cref="Fixed"/>), "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
    /// "streamOptimized" (written front to back, as conversion does).</summary>
    public string? Variant { get; set; }

    /// <summary>Bytes per logical sector: 512 (default) or 4096 (VHDX only).</summary>
    public int LogicalSectorSize { get; set; } = 512;

    /// <summary>The clock for timestamps stored in the image; replace it to make byte-stable images in tests.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The source of new unique identifiers (disk, file and data-write GUIDs); replace it to make byte-stable images.</summary>
    public Func<Guid> NewIdentifier { get; set; } = IdentifierSource.Random;

    /// <summary>Where structure decisions are logged.</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>Returns a copy of these options.</summary>
    public DiskCreateOptions Clone() => (DiskCreateOptions)MemberwiseClone();
}
