using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// Finds the active sequence of a log per [MS-VHDX] 2.3.3 and turns it into the ordered writes that replay it.
/// A sequence is a run of valid entries, each directly after the previous one with a sequence number one higher; it
/// is complete when the Tail of its last entry (the head) points at one of its entries. Of all complete sequences
/// found while scanning the whole circular log, the one whose head has the highest sequence number is active, and
/// replay applies its entries from that tail to the head. An invalid entry simply ends a sequence.
/// </summary>
internal sealed class VhdxLogReplay
{
    /// <summary>Valid entries never overlap, so an honest scan checksums each byte about once (twice where a run wraps).</summary>
    private const int MaxScanFactor = 4;

    private VhdxLogReplay(IReadOnlyList<VhdxLogEntry> entries)
    {
        Entries = entries;
        var writes = new List<VhdxLogWrite>();
        foreach (VhdxLogEntry e in entries)
        {
            writes.AddRange(e.Writes);
        }
        Writes = writes;
    }

    /// <summary>The entries of the active sequence, tail first; empty when the log holds nothing to replay.</summary>
    public IReadOnlyList<VhdxLogEntry> Entries { get; }

    /// <summary>The writes to apply, in order (later ones win).</summary>
    public IReadOnlyList<VhdxLogWrite> Writes { get; }

    public VhdxLogEntry? Head => Entries.Count == 0 ? null : Entries[Entries.Count - 1];

    /// <summary>Scans <paramref name="log"/> (the whole log region) for the active sequence of log <paramref name="logGuid"/>.</summary>
    /// <exception cref="System.IO.InvalidDataException">The scan exceeded its work bound (only a crafted log does that).</exception>
    public static VhdxLogReplay Find(byte[] log, Guid logGuid)
    {
        List<VhdxLogEntry>? best = null;
        long checksummed = 0;
        long start = 0;
        while (start < log.Length)
        {
            var run = new List<VhdxLogEntry>();
            long at = start;
            long covered = 0;
            while (covered < log.Length)
            {
                VhdxLogEntry? e = VhdxLogEntry.TryRead(log, at, logGuid, ref checksummed);
                if (checksummed > MaxScanFactor * (long)log.Length)
                {
                    throw new System.IO.InvalidDataException($"scanning the log checksummed more than {MaxScanFactor} times its length");
                }
                if (e is null || (run.Count > 0 && e.SequenceNumber != run[run.Count - 1].SequenceNumber + 1) || covered + e.EntryLength > log.Length)
                {
                    break;
                }
                run.Add(e);
                covered += e.EntryLength;
                at = (at + e.EntryLength) % log.Length;
            }
            if (run.Count == 0)
            {
                start += VhdxLogEntry.SectorSize;
                continue;
            }
            VhdxLogEntry head = run[run.Count - 1];
            int tailIndex = run.FindIndex(e => e.LogOffset == head.Tail);
            if (tailIndex >= 0 && (best is null || head.SequenceNumber > best[best.Count - 1].SequenceNumber))
            {
                best = run.GetRange(tailIndex, run.Count - tailIndex);
            }
            // Continue after this run; a run that wrapped around the end has covered the rest of the log.
            long next = start + covered;
            if (next <= start)
            {
                break;
            }
            start = next;
        }
        return new VhdxLogReplay(best ?? new List<VhdxLogEntry>());
    }
}
