namespace IscsiConvert.Registry;

/// <summary>
/// The format of the transaction log that <see cref="RegistryHive.Save(System.IO.Stream, TransactionLogFormat)"/>
/// writes before it changes a hive in place. Use the one the Windows that will load the hive writes and reads.
/// </summary>
public enum TransactionLogFormat
{
    /// <summary>
    /// The new format of Windows 8.1 and later: a copy of the base block (file type 6) followed by one "HvLE" log entry
    /// holding the dirty pages, checked by its Marvin32 hashes.
    /// </summary>
    New,

    /// <summary>
    /// The old format of Windows XP to Windows 8: a copy of the base block (file type 1), a "DIRT" bitmap of dirty
    /// 512-byte pages, then those pages. Windows applies it only when its timestamp equals the primary file's.
    /// </summary>
    Old,
}
