using System;

namespace IscsiConvert.Cli;

/// <summary>
/// The data is not what the command needs (an image without Windows): exit code 1, with a hint saying what to run next.
/// Thrown by the commands themselves; the libraries' own refusals are <see cref="IscsiConvertException"/>s.
/// </summary>
internal sealed class DataProblemException : Exception
{
    public DataProblemException(string message, string hint)
        : base(message)
    {
        Hint = hint;
    }

    public DataProblemException()
    {
        Hint = string.Empty;
    }

    public DataProblemException(string message)
        : this(message, string.Empty)
    {
    }

    public DataProblemException(string message, Exception innerException)
        : base(message, innerException)
    {
        Hint = string.Empty;
    }

    /// <summary>What to do next.</summary>
    public string Hint { get; }
}
