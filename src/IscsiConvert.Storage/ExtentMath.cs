using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage;

/// <summary>Small operations on ordered lists of extents.</summary>
internal static class ExtentMath
{
    /// <summary>Joins touching or overlapping extents of an ascending sequence.</summary>
    public static IEnumerable<StreamExtent> Merge(IEnumerable<StreamExtent> ascending)
    {
        bool have = false;
        long start = 0, end = 0;
        foreach (StreamExtent e in ascending)
        {
            if (e.Length == 0)
            {
                continue;
            }
            if (have && e.Start <= end)
            {
                end = Math.Max(end, e.End);
                continue;
            }
            if (have)
            {
                yield return new StreamExtent(start, end - start);
            }
            have = true;
            start = e.Start;
            end = e.End;
        }
        if (have)
        {
            yield return new StreamExtent(start, end - start);
        }
    }

    /// <summary>The union of two ascending extent sequences, ascending and merged.</summary>
    public static IEnumerable<StreamExtent> Union(IEnumerable<StreamExtent> a, IEnumerable<StreamExtent> b)
    {
        var all = new List<StreamExtent>(a);
        all.AddRange(b);
        all.Sort((x, y) => x.Start.CompareTo(y.Start));
        return Merge(all);
    }

    /// <summary>Total bytes in a sequence of extents.</summary>
    public static long Sum(IEnumerable<StreamExtent> extents)
    {
        long total = 0;
        foreach (StreamExtent e in extents)
        {
            total += e.Length;
        }
        return total;
    }
}
