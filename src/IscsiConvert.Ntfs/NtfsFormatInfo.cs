namespace IscsiConvert.Ntfs;

/// <summary>What a format made (or, from <see cref="NtfsFormatter.Plan"/>, would make).</summary>
public sealed class NtfsFormatInfo
{
    internal NtfsFormatInfo()
    {
    }

    /// <summary>Bytes per cluster.</summary>
    public long ClusterSize { get; internal set; }

    /// <summary>Bytes per sector.</summary>
    public int BytesPerSector { get; internal set; }

    /// <summary>Bytes per MFT record.</summary>
    public int MftRecordSize { get; internal set; }

    /// <summary>Clusters in the volume.</summary>
    public long TotalClusters { get; internal set; }

    /// <summary>Clusters left free for files.</summary>
    public long FreeClusters { get; internal set; }

    /// <summary>Bytes of $LogFile.</summary>
    public long LogFileSize { get; internal set; }

    /// <summary>The volume serial number.</summary>
    public ulong SerialNumber { get; internal set; }

    /// <summary>The volume label.</summary>
    public string Label { get; internal set; } = string.Empty;

    /// <inheritdoc/>
    public override string ToString() =>
        $"NTFS 3.1, {TotalClusters} clusters of {ClusterSize} bytes ({FreeClusters} free), {BytesPerSector}-byte sectors, {MftRecordSize}-byte MFT records, serial {SerialNumber:X16}, label \"{Label}\"";
}
