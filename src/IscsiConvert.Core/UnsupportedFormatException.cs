using System;

namespace IscsiConvert;

/// <summary>
/// The data is valid, or at least recognisable, but uses a format, version or feature that IscsiConvert does not handle
/// (an unknown file type, a VMDK variant, an encrypted QCOW2, an NTFS 1.x volume).
/// </summary>
public sealed class UnsupportedFormatException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    public UnsupportedFormatException(string message, string? filePath = null, Exception? innerException = null)
        : base(WithFile(message, filePath), filePath, innerException)
    {
    }
}
