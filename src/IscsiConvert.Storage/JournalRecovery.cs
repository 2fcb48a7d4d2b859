namespace IscsiConvert.Storage;

/// <summary>What <see cref="DiskImage.Recover"/> found beside an image (docs/formats/journal.md).</summary>
public enum JournalRecovery
{
    /// <summary>No write journal: the last write to the image through IscsiConvert finished (or there was none).</summary>
    None,

    /// <summary>A journal of a write that stopped before its commit point: the image was never touched; the journal was deleted.</summary>
    Discarded,

    /// <summary>A journal of a committed write that stopped while being copied in: the copy was finished and the journal deleted.</summary>
    Finished,
}
