using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Packaging.Tests;

/// <summary>
/// The CI recipe docs/recipes/ci/prepare-image.sh run end to end with the tool built from this repository: a golden
/// image is prepared to a copy with a JSON report; a hibernated one fails the step with exit code 3 and nothing written.
/// </summary>
public sealed class CiRecipeTests
{
    private static string Script => Path.Combine(TestData.RepoRoot, "docs", "recipes", "ci", "prepare-image.sh");

    [Fact]
    public void PreparesACopyAndArchivesTheReport()
    {
        using var tmp = new TempDir();
        string golden = SampleImage.Create(tmp.File("golden.img"));
        string output = tmp.File("iscsi.img");

        ToolResult r = RunRecipe(tmp, golden, output);

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(tmp.File("artifacts/report.json")));
        Assert.Equal("prepared", report.RootElement.GetProperty("status").GetString());
        Assert.Equal(0, report.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal(JsonValueKind.Object, report.RootElement.GetProperty("before").GetProperty("installations")[0].ValueKind);
        Assert.Equal(JsonValueKind.Object, report.RootElement.GetProperty("after").GetProperty("installations")[0].ValueKind);
        Assert.False(File.Exists(output + ".partial"));
        SampleImage.AssertUnprepared(tmp, golden);
        SampleImage.AssertPrepared(tmp, output);
    }

    [Fact]
    public void AHibernatedImageFailsTheStepWithExitCode3AndNothingWritten()
    {
        using var tmp = new TempDir();
        string golden = SampleImage.Create(tmp.File("golden.img"), hibernated: true);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(golden)));
        string output = tmp.File("iscsi.img");

        ToolResult r = RunRecipe(tmp, golden, output);

        Assert.True(r.ExitCode == 3, r.StdOut + r.StdErr);
        Assert.Contains("::error title=iscsi-convert prepare (refused, exit 3)::error:", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("hibernation", r.StdOut, StringComparison.Ordinal);
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(tmp.File("artifacts/report.json")));
        Assert.Equal("refused", report.RootElement.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, report.RootElement.GetProperty("after").ValueKind);
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(output + ".partial"));
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(golden))));
    }

    private static ToolResult RunRecipe(TempDir tmp, string golden, string output)
    {
        // The tool as the recipe finds it on a build agent: an `iscsi-convert` command; here the repository's build.
        string configuration = typeof(CiRecipeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        string dll = Path.Combine(TestData.RepoRoot, "src", "IscsiConvert.Cli", "bin", configuration, "net10.0", "iscsi-convert.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        string wrapper = tmp.File("iscsi-convert");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec dotnet \"{dll}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var env = new Dictionary<string, string> { ["ISCSI_CONVERT"] = wrapper, ["ARTIFACTS"] = tmp.File("artifacts") };
        return Programs.Run(tmp.Path, env, Script, golden, output, SampleImage.BootNic);
    }
}
