namespace IscsiConvert.Ntfs;

/// <summary>One inconsistency found by <see cref="NtfsVolume.Verify"/>.</summary>
public sealed class NtfsProblem
{
    /// <summary>Creates a problem record.</summary>
    public NtfsProblem(long recordNumber, string message)
    {
        RecordNumber = recordNumber;
        Message = message;
    }

    /// <summary>The MFT record concerned, or -1 for the volume as a whole.</summary>
    public long RecordNumber { get; }

    /// <summary>What is wrong.</summary>
    public string Message { get; }

    /// <inheritdoc />
    public override string ToString() => RecordNumber >= 0 ? $"MFT record {RecordNumber}: {Message}" : Message;
}
