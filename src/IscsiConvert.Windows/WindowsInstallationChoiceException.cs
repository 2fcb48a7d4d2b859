using System;

namespace IscsiConvert.Windows;

/// <summary>
/// The image holds no Windows installation, several and none was chosen, or none on the partition named. Nothing was written.
/// </summary>
public sealed class WindowsInstallationChoiceException : IscsiConvertException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was found and what to do.</param>
    /// <param name="filePath">The image.</param>
    /// <param name="innerException">The cause, if any.</param>
    public WindowsInstallationChoiceException(string message, string? filePath = null, Exception? innerException = null)
        : base(WithFile(message, filePath), filePath, innerException)
    {
    }
}
