using System;
using System.Globalization;

namespace IscsiConvert.Drivers;

/// <summary>
/// An INF file cannot be read: bad text (binary data, an unterminated quoted string, a line or file over the limits)
/// or a structure setup would refuse. The message names the file and the line.
/// </summary>
public sealed class InfParseException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="fileName">The INF file (a path or a name given by the caller).</param>
    /// <param name="line">The 1-based line number, or 0 when the problem is not on one line.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The lower-level error, if any.</param>
    public InfParseException(string fileName, int line, string problem, Exception? innerException = null)
        : base(Compose(fileName, line, problem), fileName, innerException)
    {
        FileName = fileName;
        Line = line;
        Problem = problem;
    }

    /// <summary>The INF file.</summary>
    public string FileName { get; }

    /// <summary>The 1-based line number, or 0 when the problem is not on one line.</summary>
    public int Line { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }

    private static string Compose(string fileName, int line, string problem) =>
        line > 0
            ? string.Format(CultureInfo.InvariantCulture, "INF '{0}' line {1}: {2}", fileName, line, problem)
            : string.Format(CultureInfo.InvariantCulture, "INF '{0}': {1}", fileName, problem);
}
