namespace IscsiConvert.Storage;

/// <summary>How an image is opened.</summary>
public enum DiskAccess
{
    /// <summary>Read only: not a byte of any file is changed, not even to replay a log (that happens in memory).</summary>
    ReadOnly,

    /// <summary>Read and write; the image is locked against other writers while it is open.</summary>
    ReadWrite,
}
