using System;

namespace IscsiConvert.Windows;

/// <summary>
/// The image does not say which Windows it holds (no SOFTWARE hive, or no version or processor architecture in it), and
/// matching INFs needs that: name the target explicitly (<see cref="IscsiBoot.ForTarget"/>, the CLI's <c>--os</c>).
/// Nothing was written.
/// </summary>
public sealed class WindowsVersionUnknownException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    public WindowsVersionUnknownException(string message, string? filePath = null, Exception? innerException = null)
        : base(WithFile(message, filePath), filePath, innerException)
    {
    }
}
