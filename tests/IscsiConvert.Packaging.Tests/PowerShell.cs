using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using IscsiConvert.Tests;

namespace IscsiConvert.Packaging.Tests;

/// <summary>
/// PowerShell 7 installed as a dotnet tool (PowerShell 7.6.10; 7.7.0 does not install as a tool), kept in the
/// repository's artifacts/ folder so that it is downloaded once per clone, and the module built by eng/build-psmodule.sh.
/// </summary>
internal static class PowerShell
{
    private const string Version = "7.6.10";
    private static readonly object Gate = new();

    /// <summary>The pwsh executable, installing it on first use.</summary>
    public static string Pwsh()
    {
        lock (Gate)
        {
            string dir = Path.Combine(TestData.RepoRoot, "artifacts", "tools", "pwsh-" + Version);
            string pwsh = Path.Combine(dir, "pwsh");
            if (!File.Exists(pwsh))
            {
                Programs.Checked(Programs.Dotnet(TestData.RepoRoot, "tool", "install", "--tool-path", dir, "PowerShell", "--version", Version));
            }
            return pwsh;
        }
    }

    /// <summary>Builds the module folder (IscsiConvert/ with lib/) under <paramref name="directory"/> and returns its path.</summary>
    public static string BuildModule(string directory)
    {
        Pwsh(); // installed before the tests' clocks start
        string configuration = typeof(PowerShell).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        Programs.Checked(Programs.Run(TestData.RepoRoot, null, Path.Combine(TestData.RepoRoot, "eng", "build-psmodule.sh"), directory, configuration));
        return Path.Combine(directory, "IscsiConvert");
    }

    /// <summary>Runs a script file with pwsh, its arguments after it.</summary>
    public static ToolResult RunScript(string workingDirectory, string script, params string[] arguments)
    {
        var args = new List<string> { "-NoProfile", "-NonInteractive", "-File", script };
        args.AddRange(arguments);
        return Programs.Run(workingDirectory, null, Pwsh(), args.ToArray());
    }
}

/// <summary>The module built once by eng/build-psmodule.sh for the tests of one class.</summary>
public sealed class BuiltModule : IDisposable
{
    private readonly TempDir _dir = new();

    public BuiltModule()
    {
        Folder = PowerShell.BuildModule(_dir.Path);
    }

    /// <summary>The module folder: IscsiConvert.psd1, IscsiConvert.psm1 and lib/.</summary>
    public string Folder { get; }

    public void Dispose() => _dir.Dispose();
}
