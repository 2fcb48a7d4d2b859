using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Runs the independent tools our output is checked against (qemu-img, ntfs-3g, sleuthkit, hivex, …).
/// A missing tool skips the test on a developer's machine but fails it in CI (CI=true), so an oracle can never
/// silently stop checking.
/// </summary>
public static class Oracle
{
    /// <summary>True when running under CI, where every oracle and every test file is mandatory.</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns the full path of <paramref name="tool"/>, or skips (fails in CI) when it is not installed.</summary>
    public static string Require(string tool)
    {
        string? path = Find(tool);
        if (path is null)
        {
            MissingPrerequisite($"the oracle tool '{tool}' is not installed (apt-get install it; .ci/run does)");
        }
        return path!;
    }

    /// <summary>Skips the test, or fails it under CI.</summary>
    public static void MissingPrerequisite(string what)
    {
        if (InCi)
        {
            Assert.Fail($"CI requires {what}");
        }
        Assert.Skip($"Skipped: {what}");
    }

    /// <summary>Finds a program on PATH.</summary>
    public static string? Find(string tool)
    {
        string[] dirs = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator);
        foreach (string dir in dirs)
        {
            if (dir.Length == 0)
            {
                continue;
            }
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Runs a tool and returns what it did; the tool must be installed (see <see cref="Require"/>).</summary>
    public static ToolResult Run(string tool, params string[] arguments) => RunIn(null, tool, arguments);

    /// <summary>Runs a tool in a working directory.</summary>
    public static ToolResult RunIn(string? workingDirectory, string tool, params string[] arguments) => RunCore(workingDirectory, null, tool, arguments);

    /// <summary>Runs a tool with <paramref name="input"/> on its standard input (sfdisk scripts and the like).</summary>
    public static ToolResult RunWithInput(string tool, string input, params string[] arguments) => RunCore(null, input, tool, arguments);

    private static ToolResult RunCore(string? workingDirectory, string? input, string tool, string[] arguments)
    {
        string path = Require(tool);
        var psi = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["LC_ALL"] = "C";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}");
        if (input is not null)
        {
            process.StandardInput.Write(input);
        }
        process.StandardInput.Close();
        var stderrTask = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(" ", arguments)} did not finish in 5 minutes");
        }
        return new ToolResult(tool, arguments, process.ExitCode, stdout, stderrTask.GetAwaiter().GetResult());
    }

    /// <summary>Runs a tool and fails the test unless it exits with 0.</summary>
    public static string RunChecked(string tool, params string[] arguments)
    {
        ToolResult r = Run(tool, arguments);
        Assert.True(r.ExitCode == 0, $"{r.CommandLine} exited {r.ExitCode}:\n{r.StdOut}\n{r.StdErr}");
        return r.StdOut;
    }
}

/// <summary>What a tool run printed and returned.</summary>
public sealed record ToolResult(string Tool, IReadOnlyList<string> Arguments, int ExitCode, string StdOut, string StdErr)
{
    /// <summary>The command line, for messages.</summary>
    public string CommandLine => $"{Tool} {string.Join(" ", Arguments)}";
}
