using System;
using System.Collections.Generic;
using System.Globalization;

namespace IscsiConvert.Storage.Partitions;

/// <summary>Finds room for a new partition among the existing ones, aligned as Windows and Linux align (1 MiB).</summary>
internal static class FreeSpace
{
    public const long AlignmentBytes = 1L << 20;

    /// <summary>Returns the first and last sector of the new partition, or throws <see cref="ArgumentException"/> when it does not fit.</summary>
    public static (long First, long Last) Allocate(IEnumerable<(long First, long Last)> used, long firstUsable, long lastUsable, int sectorSize, long startBytes, long lengthBytes)
    {
        if (startBytes < 0 || lengthBytes < 0 || startBytes % sectorSize != 0)
        {
            throw new ArgumentException("Start must be a non-negative multiple of the sector size and Length non-negative.");
        }
        long align = Math.Max(1, AlignmentBytes / sectorSize);
        long count = (lengthBytes + sectorSize - 1) / sectorSize;
        var taken = new List<(long First, long Last)>(used);
        taken.Sort((a, b) => a.First.CompareTo(b.First));

        // Free gaps between the used ranges, inside the usable area.
        var gaps = new List<(long First, long Last)>();
        long cursor = firstUsable;
        foreach (var (first, last) in taken)
        {
            if (first > cursor)
            {
                gaps.Add((cursor, Math.Min(first - 1, lastUsable)));
            }
            cursor = Math.Max(cursor, last + 1);
        }
        if (cursor <= lastUsable)
        {
            gaps.Add((cursor, lastUsable));
        }

        foreach (var (gapFirst, gapLast) in gaps)
        {
            long first;
            if (startBytes != 0)
            {
                first = startBytes / sectorSize;
                if (first < gapFirst || first > gapLast)
                {
                    continue;
                }
            }
            else
            {
                first = (gapFirst + align - 1) / align * align;
                if (first > gapLast)
                {
                    continue;
                }
            }
            if (count == 0)
            {
                // The rest of the gap, ending on an alignment boundary when there is room for that.
                long end = ((gapLast + 1) / align * align) - 1;
                return (first, end >= first ? end : gapLast);
            }
            if (first + count - 1 <= gapLast)
            {
                return (first, first + count - 1);
            }
        }
        throw new ArgumentException(string.Format(CultureInfo.InvariantCulture,
            "No free space for a partition of {0} bytes{1} (usable sectors {2}..{3}).", lengthBytes, startBytes != 0 ? " at " + startBytes.ToString(CultureInfo.InvariantCulture) : string.Empty, firstUsable, lastUsable));
    }
}
