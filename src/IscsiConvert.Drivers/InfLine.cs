using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>One entry of an INF section, after string substitution: <c>key = value, value, …</c> or just values.</summary>
public sealed class InfLine
{
    internal InfLine(int lineNumber, string? key, IReadOnlyList<string> values, string text, string? rawKey, string rawText)
    {
        LineNumber = lineNumber;
        Key = key;
        Values = values;
        Text = text;
        RawKey = rawKey;
        RawText = rawText;
    }

    /// <summary>The key as written, before string substitution (<c>%Desc%</c>), or null when the entry has none.</summary>
    public string? RawKey { get; }

    /// <summary><see cref="Text"/> as written, before string substitution: how Windows keeps <c>%token%</c> references (a package's Descriptors, a service's DisplayName).</summary>
    public string RawText { get; }

    /// <summary>The 1-based line number where the entry starts.</summary>
    public int LineNumber { get; }

    /// <summary>The text left of '=', or null when the entry has none.</summary>
    public string? Key { get; }

    /// <summary>The comma-separated fields right of '=' (or of the whole entry), unquoted and trimmed.</summary>
    public IReadOnlyList<string> Values { get; }

    /// <summary>Everything right of '=' as one string (commas kept): how [Strings] values are read.</summary>
    public string Text { get; }

    /// <summary>The field at <paramref name="index"/>, or "" when the entry is shorter.</summary>
    public string this[int index] => index >= 0 && index < Values.Count ? Values[index] : string.Empty;

    /// <summary>Whether the key equals <paramref name="name"/> (INF keys are case-insensitive).</summary>
    public bool KeyIs(string name) => Key is not null && string.Equals(Key, name, System.StringComparison.OrdinalIgnoreCase);
}
