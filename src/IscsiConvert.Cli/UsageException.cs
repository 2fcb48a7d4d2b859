using System;
using System.CommandLine;

namespace IscsiConvert.Cli;

/// <summary>
/// A bad option value or a missing choice found after parsing (a size that is not a size, an unknown format or
/// Windows version, a partition the image does not have): exit code 2, like the parser's own errors.
/// </summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Option values the commands share, parsed so that a bad value is a usage error.</summary>
internal static class OptionValues
{
    /// <summary>A Windows version for --os (win7-x64, win10-x64, …).</summary>
    public static Drivers.TargetOs TargetOs(string name, string option = "--os")
    {
        try
        {
            return Drivers.TargetOs.Parse(name);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"{option}: {CliApp.WithoutParameterName(ex)}", ex);
        }
    }
}
