using System;
using System.Globalization;

namespace IscsiConvert;

/// <summary>
/// The data does not follow its format: a bad signature or checksum, an offset out of range, an impossible size.
/// The message names the format, the structure and the byte offset where the problem was found.
/// </summary>
public sealed class CorruptDataException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="format">The format being read, such as "VHDX" or "regf".</param>
    /// <param name="structure">The structure that is wrong, such as "header 1" or "BAT entry 17".</param>
    /// <param name="offset">The byte offset of the structure in the file or stream, or -1 when unknown.</param>
    /// <param name="problem">What is wrong, with the expected and actual value where it helps.</param>
    /// <param name="filePath">The file, when known.</param>
    /// <param name="innerException">The lower-level error, if any.</param>
    public CorruptDataException(string format, string structure, long offset, string problem, string? filePath = null, Exception? innerException = null)
        : base(Compose(format, structure, offset, problem, filePath), filePath, innerException)
    {
        Format = format;
        Structure = structure;
        Offset = offset;
        Problem = problem;
    }

    /// <summary>The format being read.</summary>
    public string Format { get; }

    /// <summary>The structure that is wrong.</summary>
    public string Structure { get; }

    /// <summary>The byte offset of the structure, or -1 when unknown.</summary>
    public long Offset { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }

    /// <summary>Returns a copy of this exception that names <paramref name="filePath"/>, for layers that learn the file name only later.</summary>
    public CorruptDataException WithFilePath(string filePath) =>
        new(Format, Structure, Offset, Problem, filePath, InnerException);

    private static string Compose(string format, string structure, long offset, string problem, string? filePath)
    {
        string where = offset >= 0 ? string.Format(CultureInfo.InvariantCulture, " at offset 0x{0:X}", offset) : string.Empty;
        return WithFile($"{format} {structure}{where}: {problem}", filePath);
    }
}
