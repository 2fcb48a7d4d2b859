using System;

namespace IscsiConvert;

/// <summary>
/// The root of every exception that IscsiConvert throws for a problem with the data it was given
/// (as opposed to a programming error, which stays a BCL exception such as <see cref="ArgumentException"/>).
/// Catch this one type to handle every "this image cannot be used" case.
/// </summary>
public abstract class IscsiConvertException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected IscsiConvertException(string message, string? filePath, Exception? innerException)
        : base(message, innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The file the problem was found in, when known.</summary>
    public string? FilePath { get; }

    /// <summary>Appends " in 'file'" to a message when a file is known.</summary>
    protected static string WithFile(string message, string? filePath) =>
        filePath is null ? message : $"{message} (file '{filePath}')";
}
