using System;
using IscsiConvert.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Ntfs;

/// <summary>What <see cref="NtfsFormatter.Format"/> makes.</summary>
public sealed class NtfsFormatOptions
{
    /// <summary>The volume label (at most 32 characters), or "" for none.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>Bytes per cluster (a power of two from 512 to 2 MiB, at least a sector), or 0 for the size Windows
    /// picks: 4 KiB up to 16 TiB, then doubling with each doubling of the volume.</summary>
    public int ClusterSize { get; set; }

    /// <summary>Bytes per sector: 512 (default; 1 KiB MFT records) or 4096 (4Kn disks; 4 KiB MFT records).</summary>
    public int BytesPerSector { get; set; } = 512;

    /// <summary>The volume serial number, or null to take one from <see cref="NewIdentifier"/>.</summary>
    public ulong? SerialNumber { get; set; }

    /// <summary>The source of the serial number when <see cref="SerialNumber"/> is null (its first 8 bytes are used);
    /// replace it to make byte-stable volumes.</summary>
    public Func<Guid> NewIdentifier { get; set; } = IdentifierSource.Random;

    /// <summary>The clock for the timestamps of the system files.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The partition's first sector on its disk (the boot sector's "hidden sectors"; Windows needs it to
    /// boot from the volume), or 0 for a bare volume.</summary>
    public long HiddenSectors { get; set; }

    /// <summary>Where the layout decisions are logged.</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;
}
