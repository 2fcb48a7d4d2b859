using System;
using System.IO;
using IscsiConvert.Ntfs.Internal;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Ntfs;

/// <summary>
/// Creates a new, empty NTFS 3.1 volume on a stream (a partition, or a bare volume): boot sector and its backup,
/// $MFT with the system files and $MFTMirr, an empty (never used) $LogFile, $Volume, $AttrDef, the root directory,
/// $Bitmap, $Boot, $BadClus, $Secure with default security descriptors, $UpCase, and $Extend with $Quota, $ObjId and
/// $Reparse. The volume is left clean, so that <see cref="NtfsVolume.CheckWritable"/>, ntfs-3g and Windows accept it.
/// </summary>
public static class NtfsFormatter
{
    /// <summary>The longest volume label NTFS keeps.</summary>
    public const int MaxLabelLength = 32;

    /// <summary>
    /// Computes what <see cref="Format"/> would make on a volume of <paramref name="volumeLength"/> bytes, without
    /// writing anything.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, or the volume is too small (the message names the minimum).</exception>
    public static NtfsFormatInfo Plan(long volumeLength, NtfsFormatOptions? options = null)
    {
        options ??= new NtfsFormatOptions();
        Validate(options);
        FormatLayout layout = CreateLayout(volumeLength, options);
        return Describe(layout, options, SerialNumberOf(options));
    }

    /// <summary>
    /// Formats <paramref name="volume"/> (its whole length) as a new NTFS volume. Everything the volume held is lost:
    /// the metadata overwrites the start of the volume and its last sector, and the rest is marked free.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, or the volume is too small (the message names the minimum).</exception>
    public static NtfsFormatInfo Format(Stream volume, NtfsFormatOptions? options = null)
    {
        if (volume is null)
        {
            throw new ArgumentNullException(nameof(volume));
        }
        if (!volume.CanSeek || !volume.CanWrite)
        {
            throw new ArgumentException("The volume stream must be seekable and writable.", nameof(volume));
        }
        options ??= new NtfsFormatOptions();
        Validate(options);
        FormatLayout layout = CreateLayout(volume.Length, options);
        ulong serial = SerialNumberOf(options);
        NtfsFormatInfo info = Describe(layout, options, serial);
        options.Logger.LogInformation("Formatting {Bytes} bytes as NTFS: {Info}", volume.Length, info);
        options.Logger.LogDebug("$MFT at cluster {Mft}, $MFTMirr at {Mirror}, $LogFile {Log} bytes at {LogLcn}",
            layout.Mft.Lcn, layout.Mirror.Lcn, layout.LogFileBytes, layout.LogFile.Lcn);
        new VolumeBuilder(volume, layout, options, serial).Write();
        return info;
    }

    private static void Validate(NtfsFormatOptions options)
    {
        if (options.BytesPerSector is not (512 or 4096))
        {
            throw new ArgumentException($"Bytes per sector must be 512 or 4096, not {options.BytesPerSector}.", nameof(options));
        }
        int c = options.ClusterSize;
        if (c != 0 && (c < 512 || c > 2 * 1024 * 1024 || (c & (c - 1)) != 0 || c < options.BytesPerSector))
        {
            throw new ArgumentException($"The cluster size must be a power of two from {options.BytesPerSector} bytes to 2 MiB, not {c}.", nameof(options));
        }
        if (options.Label is null || options.Label.Length > MaxLabelLength)
        {
            throw new ArgumentException($"The volume label has at most {MaxLabelLength} characters.", nameof(options));
        }
        if (options.HiddenSectors < 0 || options.HiddenSectors > uint.MaxValue)
        {
            throw new ArgumentException($"Hidden sectors (the partition's first LBA) must be 0 to {uint.MaxValue}.", nameof(options));
        }
        if (options.TimeProvider is null || options.NewIdentifier is null || options.Logger is null)
        {
            throw new ArgumentException("TimeProvider, NewIdentifier and Logger must not be null.", nameof(options));
        }
    }

    private static FormatLayout CreateLayout(long volumeLength, NtfsFormatOptions options)
    {
        long cluster = ClusterSizeFor(volumeLength, options);
        FormatLayout? layout = FormatLayout.TryCreate(volumeLength, options.BytesPerSector, cluster, VolumeBuilder.SdsBytes, out string? problem);
        if (layout is null)
        {
            throw new ArgumentException($"The volume ({volumeLength} bytes) cannot hold NTFS with {cluster}-byte clusters: {problem}. " +
                $"The smallest volume for these options is {MinimumSize(options)} bytes.", nameof(volumeLength));
        }
        return layout;
    }

    private static long ClusterSizeFor(long volumeLength, NtfsFormatOptions options) =>
        options.ClusterSize != 0 ? options.ClusterSize : FormatLayout.DefaultClusterSize(volumeLength, options.BytesPerSector);

    /// <summary>The smallest volume (in bytes) that holds NTFS with these options.</summary>
    internal static long MinimumSize(NtfsFormatOptions options)
    {
        long step = options.BytesPerSector;
        long low = 1;
        long high = (1L << 30) / step;
        while (low < high)
        {
            long mid = low + ((high - low) / 2);
            long bytes = mid * step;
            bool fits = FormatLayout.TryCreate(bytes, options.BytesPerSector, ClusterSizeFor(bytes, options), VolumeBuilder.SdsBytes, out _) is not null;
            if (fits)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }
        return low * step;
    }

    private static ulong SerialNumberOf(NtfsFormatOptions options) =>
        options.SerialNumber ?? BitConverter.ToUInt64(options.NewIdentifier().ToByteArray(), 0);

    private static NtfsFormatInfo Describe(FormatLayout layout, NtfsFormatOptions options, ulong serial) => new()
    {
        ClusterSize = layout.ClusterSize,
        BytesPerSector = layout.BytesPerSector,
        MftRecordSize = layout.MftRecordSize,
        TotalClusters = layout.TotalClusters,
        FreeClusters = layout.FreeClusters,
        LogFileSize = layout.LogFileBytes,
        SerialNumber = serial,
        Label = options.Label,
    };
}
