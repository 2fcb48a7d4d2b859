using System;
using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>A section of an INF file. Sections with the same name (case-insensitive) are merged, their lines in file order.</summary>
public sealed class InfSection
{
    private readonly List<InfLine> _lines = new();

    internal InfSection(string name, int lineNumber)
    {
        Name = name;
        LineNumber = lineNumber;
    }

    /// <summary>The name as first written.</summary>
    public string Name { get; }

    /// <summary>The line of the first header of this section.</summary>
    public int LineNumber { get; }

    /// <summary>The entries.</summary>
    public IReadOnlyList<InfLine> Lines => _lines;

    internal void Add(InfLine line) => _lines.Add(line);

    /// <summary>The entries whose key is <paramref name="key"/>.</summary>
    public IEnumerable<InfLine> WithKey(string key)
    {
        foreach (InfLine line in _lines)
        {
            if (line.KeyIs(key))
            {
                yield return line;
            }
        }
    }

    /// <summary>The first value of the last entry with key <paramref name="key"/> (setup takes the last), or null.</summary>
    public string? GetValue(string key)
    {
        string? result = null;
        foreach (InfLine line in _lines)
        {
            if (line.KeyIs(key))
            {
                result = line[0];
            }
        }
        return result;
    }

    /// <summary>All values of every entry with key <paramref name="key"/>, in order (e.g. every section of several CopyFiles lines).</summary>
    public IReadOnlyList<string> GetList(string key)
    {
        var list = new List<string>();
        foreach (InfLine line in WithKey(key))
        {
            foreach (string v in line.Values)
            {
                if (v.Length > 0)
                {
                    list.Add(v);
                }
            }
        }
        return list;
    }

    internal static StringComparer NameComparer => StringComparer.OrdinalIgnoreCase;
}
