using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Core.Tests;

/// <summary>
/// The architecture, checked from the project files: higher layers use lower ones, never the reverse, and the format
/// layers (Storage, Ntfs, Registry, Drivers) do not see each other except Ntfs → Storage for the stream type.
/// </summary>
public class LayeringTests
{
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["IscsiConvert.Core"] = Array.Empty<string>(),
        ["IscsiConvert.Storage"] = new[] { "IscsiConvert.Core" },
        ["IscsiConvert.Ntfs"] = new[] { "IscsiConvert.Core", "IscsiConvert.Storage" },
        ["IscsiConvert.Registry"] = new[] { "IscsiConvert.Core" },
        ["IscsiConvert.Drivers"] = new[] { "IscsiConvert.Core" },
        ["IscsiConvert.Windows"] = new[] { "IscsiConvert.Core", "IscsiConvert.Storage", "IscsiConvert.Ntfs", "IscsiConvert.Registry", "IscsiConvert.Drivers" },
        ["IscsiConvert.Cli"] = new[] { "IscsiConvert.Core", "IscsiConvert.Storage", "IscsiConvert.Ntfs", "IscsiConvert.Registry", "IscsiConvert.Drivers", "IscsiConvert.Windows" },
    };

    public static IEnumerable<object[]> SourceProjects() =>
        Directory.GetFiles(Path.Combine(TestData.RepoRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => new object[] { Path.GetFileNameWithoutExtension(p) });

    [Theory]
    [MemberData(nameof(SourceProjects))]
    public void Project_references_only_lower_layers(string project)
    {
        Assert.True(Allowed.ContainsKey(project), $"{project} is not in the layering table; add it with its allowed references");
        string path = Directory.GetFiles(Path.Combine(TestData.RepoRoot, "src"), project + ".csproj", SearchOption.AllDirectories).Single();
        var references = XDocument.Load(path).Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value))
            .ToList();
        foreach (string reference in references)
        {
            Assert.True(Allowed[project].Contains(reference), $"{project} must not reference {reference}");
        }
    }

    [Fact]
    public void Libraries_target_netstandard2_0_and_net10_0()
    {
        foreach (string path in Directory.GetFiles(Path.Combine(TestData.RepoRoot, "src"), "*.csproj", SearchOption.AllDirectories))
        {
            XDocument doc = XDocument.Load(path);
            if (doc.Descendants("IsLibrary").Any(e => e.Value == "true"))
            {
                string tfms = doc.Descendants("TargetFrameworks").Single().Value;
                Assert.Equal("netstandard2.0;net10.0", tfms);
            }
        }
    }
}
