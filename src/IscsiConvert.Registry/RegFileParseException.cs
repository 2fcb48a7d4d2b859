using System;
using System.Globalization;

namespace IscsiConvert.Registry;

/// <summary>
/// A .reg file cannot be read: no regedit header, a malformed key or value line, bad hex data, a key outside the root
/// prefix. The message names the file, the line and the column; nothing has been applied to any hive.
/// </summary>
public sealed class RegFileParseException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="fileName">The .reg file (a path, or a name the caller gave for a stream).</param>
    /// <param name="line">The 1-based line number.</param>
    /// <param name="column">The 1-based column (in characters) where the problem starts.</param>
    /// <param name="problem">What is wrong.</param>
    public RegFileParseException(string fileName, int line, int column, string problem)
        : base(string.Format(CultureInfo.InvariantCulture, "{0}({1},{2}): {3}", fileName, line, column, problem), fileName, null)
    {
        FileName = fileName;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The .reg file.</summary>
    public string FileName { get; }

    /// <summary>The 1-based line number.</summary>
    public int Line { get; }

    /// <summary>The 1-based column.</summary>
    public int Column { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}
