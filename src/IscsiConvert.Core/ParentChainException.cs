using System;

namespace IscsiConvert;

/// <summary>
/// A differencing image's chain of parents cannot be followed: a parent is missing, does not match the identifier
/// the child expects, or the chain loops back on itself.
/// </summary>
public sealed class ParentChainException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    public ParentChainException(string message, string? filePath = null, Exception? innerException = null)
        : base(WithFile(message, filePath), filePath, innerException)
    {
    }
}
