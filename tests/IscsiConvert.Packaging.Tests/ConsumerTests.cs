using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Packaging.Tests;

/// <summary>
/// The packages used as a user uses them: a new project in a temp folder restores IscsiConvert.Windows from the local
/// feed and prepares a test image through the public API; `dotnet tool install` installs the tool from the feed and
/// runs it. The result on the image is read back by the oracles (ntfscat, hivexget).
/// </summary>
[Collection(LocalFeed.Collection.Name)]
public sealed class ConsumerTests
{
    private readonly LocalFeed _feed;

    public ConsumerTests(LocalFeed feed)
    {
        _feed = feed;
    }

    [Fact]
    public void AConsumerProjectRestoresThePackagesAndPreparesAnImage()
    {
        using var tmp = new TempDir();
        string project = Path.Combine(tmp.Path, "consumer");
        Directory.CreateDirectory(project);
        string source = Path.Combine(AppContext.BaseDirectory, "Consumer");
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"),
            File.ReadAllText(Path.Combine(source, "Consumer.csproj")).Replace("__VERSION__", LocalFeed.Version, StringComparison.Ordinal));
        File.Copy(Path.Combine(source, "Program.cs"), Path.Combine(project, "Program.cs"));
        _feed.WriteNuGetConfig(project);
        // Keep the repository's Directory.Build.* and central package versions out: the temp folder is outside it, and
        // these empty files stop MSBuild looking further up.
        File.WriteAllText(Path.Combine(project, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(project, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(project, "Directory.Packages.props"), "<Project />");
        string image = SampleImage.Create(tmp.File("windows7.img"));

        Programs.Checked(Programs.Dotnet(project, "build", "-nodeReuse:false"));
        string output = Programs.Checked(Programs.Dotnet(project, "run", "--no-build", "--", image, SampleImage.BootNic));

        Assert.Contains("boot start: E1G60", output, StringComparison.Ordinal);
        Assert.Contains(@"Services\E1G60", output, StringComparison.Ordinal);
        SampleImage.AssertPrepared(tmp, image);
        // Every one of our packages came from the local feed (NuGet records the source of each package it extracts).
        foreach (string id in LocalFeed.PackageIds[..^1])
        {
            string metadata = Path.Combine(project, "packages", id.ToLowerInvariant(), LocalFeed.Version, ".nupkg.metadata");
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(metadata));
            Assert.Equal(Path.GetFullPath(_feed.Folder), Path.GetFullPath(doc.RootElement.GetProperty("source").GetString()!));
        }
    }

    [Fact]
    public void TheToolInstallsFromTheFeedAndRuns()
    {
        using var tmp = new TempDir();
        // As a user with no other package source would: only --add-source names where the tool comes from (NuGet
        // refuses --add-source next to package source mapping, so this config has no sources of its own), and a fresh
        // packages folder, so that the tool package must be today's, not one extracted by an earlier run.
        string config = tmp.File("nuget.config");
        File.WriteAllText(config, "<configuration><packageSources><clear /></packageSources></configuration>");
        string tools = Path.Combine(tmp.Path, "tools");
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(tmp.Path, "packages") };
        Programs.Checked(Programs.Run(tmp.Path, env, "dotnet", "tool", "install", "--tool-path", tools, "--configfile", config,
            "--add-source", _feed.Folder, "iscsi-convert", "--version", LocalFeed.Version));
        string tool = Path.Combine(tools, "iscsi-convert");

        string help = Programs.Checked(Programs.Run(tmp.Path, null, tool, "--help"));
        Assert.Contains("prepare", help, StringComparison.Ordinal);
        Assert.Contains("demo", help, StringComparison.Ordinal);

        string demo = Programs.Checked(Programs.Run(tmp.Path, null, tool, "demo"));
        Assert.Contains("Done.", demo, StringComparison.Ordinal);
        Assert.DoesNotMatch(@":\s*NO\b", demo); // each check of the demo prints "yes" or "NO"
    }
}
