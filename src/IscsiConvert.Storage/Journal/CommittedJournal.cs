using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Storage.Journal;

/// <summary>
/// The complete journal of a write that was committed but not finished, found by a read-only open
/// (<see cref="ImageJournal.ReadBeside"/>): the files it names are read as the finished write leaves them — its ranges
/// over the files' bytes, its final lengths — without writing anything. A writable open finishes the write for real.
/// </summary>
internal sealed class CommittedJournal
{
    // Overlay segments index journal bytes with an int length; longer ranges are indexed in pieces of this size.
    private const int MaxSegment = 1 << 30;

    private readonly string _journalPath;
    private readonly JournalRecord _record;
    private readonly IReadOnlyList<string> _fullNames;

    public CommittedJournal(string journalPath, JournalRecord record, IReadOnlyList<string> fullNames)
    {
        _journalPath = journalPath;
        _record = record;
        _fullNames = fullNames;
    }

    /// <summary>
    /// <paramref name="file"/> (opened read-only at <paramref name="fullPath"/>) as the finished write leaves it, when the
    /// journal names it: a read-only <see cref="JournaledFileStream"/> that owns <paramref name="file"/> and its own
    /// handle on the journal. Any other file is returned as it is.
    /// </summary>
    public FileStream View(FileStream file, string fullPath)
    {
        int index = -1;
        for (int i = 0; i < _fullNames.Count; i++)
        {
            if (string.Equals(_fullNames[i], fullPath, StringComparison.Ordinal))
            {
                index = i;
            }
        }
        if (index < 0)
        {
            return file;
        }
        // As the replay does: every range over the file as it is now (it may hold some of them already, from a replay
        // cut short), then the final length.
        var overlay = new FileOverlay(fullPath, file.Length);
        foreach (JournalRange r in _record.Ranges)
        {
            if (r.FileIndex != index)
            {
                continue;
            }
            for (long done = 0; done < r.Length; done += MaxSegment)
            {
                overlay.Write(r.Offset + done, r.JournalPosition + done, (int)Math.Min(MaxSegment, r.Length - done));
            }
        }
        overlay.SetLength(_record.Files[index].FinalLength);
        ImageJournal journal;
        try
        {
            journal = ImageJournal.OpenForReading(_journalPath);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        return new JournaledFileStream(file, fullPath, overlay, journal);
    }
}
