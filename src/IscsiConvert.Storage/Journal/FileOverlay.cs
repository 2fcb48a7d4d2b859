using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Storage.Journal;

/// <summary>
/// What one image file looks like inside a write transaction: the ranges written since it began (each pointing at its
/// bytes in the <see cref="ImageJournal"/>, never held in memory), the length as set, and the file itself underneath,
/// which is not touched until the commit. Reads see the overlaid ranges first, then the file.
/// </summary>
internal sealed class FileOverlay
{
    // Non-overlapping, ascending by Start.
    private readonly List<Segment> _segments = new();

    public FileOverlay(string path, long originalLength)
    {
        Path = path;
        OriginalLength = originalLength;
        Length = originalLength;
        ZeroFrom = originalLength;
    }

    public string Path { get; }

    /// <summary>The file's length when the transaction began (the file keeps it until the commit).</summary>
    public long OriginalLength { get; }

    /// <summary>The length as the transaction sees it.</summary>
    public long Length { get; private set; }

    /// <summary>The lowest length the transaction cut the file to: the file's bytes from here on read as zeros (a file
    /// cut and grown again holds zeros there), unless a range overlays them.</summary>
    public long ZeroFrom { get; private set; }

    /// <summary>True once anything was written or the length set.</summary>
    public bool Touched { get; private set; }

    public IReadOnlyList<Segment> Segments => _segments;

    public void Write(long position, long journalPosition, int length)
    {
        Touched = true;
        if (length == 0)
        {
            return;
        }
        Cut(position, position + length);
        int at = FirstEndingAfter(position);
        _segments.Insert(at, new Segment(position, length, journalPosition));
        MergeAround(at);
        Length = Math.Max(Length, position + length);
    }

    public void SetLength(long length)
    {
        Touched = true;
        if (length < Length)
        {
            Cut(length, long.MaxValue);
            ZeroFrom = Math.Min(ZeroFrom, length);
        }
        Length = length;
    }

    /// <summary>Reads at <paramref name="position"/> as the transaction sees the file; returns the bytes read (fewer only at the end).</summary>
    public int Read(long position, Span<byte> buffer, Stream file, ImageJournal journal)
    {
        if (position >= Length)
        {
            return 0;
        }
        int count = (int)Math.Min(buffer.Length, Length - position);
        long end = position + count;
        long cur = position;
        int i = FirstEndingAfter(position);
        while (cur < end)
        {
            Span<byte> dest = buffer.Slice((int)(cur - position));
            if (i < _segments.Count && _segments[i].Start <= cur)
            {
                Segment s = _segments[i];
                int n = (int)(Math.Min(s.End, end) - cur);
                journal.ReadAt(s.JournalPosition + (cur - s.Start), dest.Slice(0, n));
                cur += n;
                i++;
                continue;
            }
            long gapEnd = i < _segments.Count ? Math.Min(_segments[i].Start, end) : end;
            ReadBase(cur, dest.Slice(0, (int)(gapEnd - cur)), file);
            cur = gapEnd;
        }
        return count;
    }

    /// <summary>The file's own bytes under the overlay: as they were, zeros past <see cref="ZeroFrom"/> and past its end.</summary>
    private void ReadBase(long position, Span<byte> buffer, Stream file)
    {
        long fileEnd = Math.Min(ZeroFrom, OriginalLength);
        int fromFile = (int)Math.Max(0, Math.Min(buffer.Length, fileEnd - position));
        int n = fromFile > 0 ? file.ReadAtMost(position, buffer.Slice(0, fromFile)) : 0;
        buffer.Slice(n).Clear();
    }

    /// <summary>The parts of [0, min(<see cref="OriginalLength"/>, <see cref="Length"/>)) past <see cref="ZeroFrom"/>
    /// that no range covers: they must become zeros in the file at the commit.</summary>
    public IEnumerable<(long Start, long Length)> ZeroGaps()
    {
        long end = Math.Min(OriginalLength, Length);
        long cur = ZeroFrom;
        foreach (Segment s in _segments.ToArray())
        {
            if (cur >= end)
            {
                yield break;
            }
            if (s.End <= cur)
            {
                continue;
            }
            if (s.Start > cur)
            {
                long stop = Math.Min(s.Start, end);
                yield return (cur, stop - cur);
            }
            cur = Math.Max(cur, s.End);
        }
        if (cur < end)
        {
            yield return (cur, end - cur);
        }
    }

    private int FirstEndingAfter(long position)
    {
        int lo = 0, hi = _segments.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (_segments[mid].End <= position)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    // Removes [start, end) from the segments, trimming or splitting those that straddle it.
    private void Cut(long start, long end)
    {
        int i = FirstEndingAfter(start);
        while (i < _segments.Count && _segments[i].Start < end)
        {
            Segment s = _segments[i];
            _segments.RemoveAt(i);
            if (s.Start < start)
            {
                _segments.Insert(i, new Segment(s.Start, start - s.Start, s.JournalPosition));
                i++;
            }
            if (s.End > end)
            {
                _segments.Insert(i, new Segment(end, s.End - end, s.JournalPosition + (end - s.Start)));
                i++;
            }
        }
    }

    // Sequential writes append to the journal back to back: one segment for them keeps the index small.
    private void MergeAround(int at)
    {
        if (at + 1 < _segments.Count && Contiguous(_segments[at], _segments[at + 1]))
        {
            _segments[at] = new Segment(_segments[at].Start, _segments[at].Length + _segments[at + 1].Length, _segments[at].JournalPosition);
            _segments.RemoveAt(at + 1);
        }
        if (at > 0 && Contiguous(_segments[at - 1], _segments[at]))
        {
            _segments[at - 1] = new Segment(_segments[at - 1].Start, _segments[at - 1].Length + _segments[at].Length, _segments[at - 1].JournalPosition);
            _segments.RemoveAt(at);
        }
    }

    private static bool Contiguous(Segment a, Segment b) =>
        a.End == b.Start && a.JournalPosition + a.Length == b.JournalPosition;

    /// <summary>File bytes [Start, Start + Length) are the journal's bytes from <see cref="JournalPosition"/>.</summary>
    internal readonly record struct Segment(long Start, long Length, long JournalPosition)
    {
        public long End => Start + Length;
    }
}
