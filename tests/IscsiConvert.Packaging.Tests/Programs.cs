using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Packaging.Tests;

/// <summary>
/// Runs dotnet, installed tools and scripts as a user's shell would: in a working folder, with extra environment
/// variables, with a time limit. Child builds get no build servers, so nothing outlives the command and holds its
/// output open.
/// </summary>
internal static class Programs
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    public static ToolResult Dotnet(string workingDirectory, params string[] arguments) => Run(workingDirectory, null, "dotnet", arguments);

    public static ToolResult Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, string program, params string[] arguments)
    {
        var psi = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        // The test host runs inside `dotnet test`, whose MSBuild variables would steer a child build; a user's shell has none.
        foreach (string name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly", "VSTEST_HOST_DEBUG" })
        {
            psi.Environment.Remove(name);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["UseSharedCompilation"] = "false";
        foreach (KeyValuePair<string, string> pair in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[pair.Key] = pair.Value;
        }
        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(" ", arguments)} did not finish in {Limit.TotalMinutes} minutes:\n{stdout}\n{stderr}");
        }
        process.WaitForExit();
        lock (stdout)
        {
            lock (stderr)
            {
                return new ToolResult(program, arguments, process.ExitCode, stdout.ToString(), stderr.ToString());
            }
        }
    }

    public static string Checked(ToolResult r)
    {
        Assert.True(r.ExitCode == 0, $"{r.CommandLine} exited {r.ExitCode}:\n{r.StdOut}\n{r.StdErr}");
        return r.StdOut;
    }

    /// <summary>The user's NuGet global packages folder (where third-party packages were restored for this build).</summary>
    public static string UserPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}
