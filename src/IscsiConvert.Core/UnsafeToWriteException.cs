using System;

namespace IscsiConvert;

/// <summary>
/// A write was refused because the target is not in a state that can be proven clean: a dirty or hibernated volume,
/// an image that another process has open, a hive whose logs cannot be replayed. Nothing was written.
/// </summary>
public sealed class UnsafeToWriteException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeToWriteException(string message, string? filePath = null, Exception? innerException = null)
        : base(WithFile(message, filePath), filePath, innerException)
    {
    }
}
