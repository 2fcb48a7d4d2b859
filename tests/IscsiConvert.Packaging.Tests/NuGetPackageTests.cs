using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Xml.Linq;
using Xunit;

namespace IscsiConvert.Packaging.Tests;

/// <summary>What is inside each package: both target frameworks with XML docs, symbols, and the metadata a gallery shows.</summary>
[Collection(LocalFeed.Collection.Name)]
public sealed class NuGetPackageTests
{
    private static readonly string[] Libraries = LocalFeed.PackageIds.Where(id => id.StartsWith("IscsiConvert.", StringComparison.Ordinal)).ToArray();

    private readonly LocalFeed _feed;

    public NuGetPackageTests(LocalFeed feed)
    {
        _feed = feed;
    }

    [Fact]
    public void EveryLibraryShipsBothFrameworksWithDocs()
    {
        foreach (string id in Libraries)
        {
            string[] entries = Entries(_feed.Package(id));
            foreach (string tfm in new[] { "netstandard2.0", "net10.0" })
            {
                Assert.Contains($"lib/{tfm}/{id}.dll", entries);
                Assert.Contains($"lib/{tfm}/{id}.xml", entries);
            }
            string[] symbols = Entries(_feed.SymbolPackage(id));
            Assert.Contains($"lib/netstandard2.0/{id}.pdb", symbols);
            Assert.Contains($"lib/net10.0/{id}.pdb", symbols);
        }
    }

    [Fact]
    public void EveryPackageHasTheGalleryMetadataAndTheOneVersion()
    {
        foreach (string id in LocalFeed.PackageIds)
        {
            string[] entries = Entries(_feed.Package(id));
            Assert.Contains("README.md", entries);
            Assert.Contains("icon.png", entries);
            XElement metadata = Nuspec(_feed.Package(id));
            XNamespace ns = metadata.Name.Namespace;
            Assert.Equal(id, metadata.Element(ns + "id")!.Value);
            Assert.Equal(LocalFeed.Version, metadata.Element(ns + "version")!.Value);
            XElement license = metadata.Element(ns + "license")!;
            Assert.Equal(("expression", "MIT"), (license.Attribute("type")!.Value, license.Value));
            Assert.Equal("icon.png", metadata.Element(ns + "icon")!.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
            // SourceLink: the commit the package was built from (and the URL when the clone has a remote).
            XElement repository = metadata.Element(ns + "repository")!;
            Assert.Equal("git", repository.Attribute("type")!.Value);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")!.Value);
        }
    }

    [Fact]
    public void OnABuildServerTheAssembliesNameNoPathOfTheClone()
    {
        // ContinuousIntegrationBuild (eng/Package.targets) maps source paths to /_/ so that one commit builds to the
        // same bytes in any folder; a developer's build keeps real paths for the debugger, so this holds under CI only.
        if (!IscsiConvert.Tests.Oracle.InCi)
        {
            Assert.Skip("Skipped: source paths are mapped only on a build server (CI=true).");
        }
        byte[] root = System.Text.Encoding.UTF8.GetBytes(IscsiConvert.Tests.TestData.RepoRoot.TrimEnd('/'));
        foreach (string id in Libraries)
        {
            using ZipArchive zip = ZipFile.OpenRead(_feed.Package(id));
            using var copy = new MemoryStream();
            using (Stream dll = zip.GetEntry($"lib/net10.0/{id}.dll")!.Open())
            {
                dll.CopyTo(copy);
            }
            Assert.True(copy.ToArray().AsSpan().IndexOf(root) < 0, $"{id}.dll names {IscsiConvert.Tests.TestData.RepoRoot}");
        }
    }

    [Fact]
    public void TheToolPackageIsADotnetToolNamedIscsiConvert()
    {
        string[] entries = Entries(_feed.Package("iscsi-convert"));
        Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", entries);
        Assert.Contains("tools/net10.0/any/iscsi-convert.dll", entries);
        Assert.Contains("tools/net10.0/any/IscsiConvert.Windows.dll", entries);
        using ZipArchive zip = ZipFile.OpenRead(_feed.Package("iscsi-convert"));
        using var reader = new StreamReader(zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml")!.Open());
        XElement command = XDocument.Parse(reader.ReadToEnd()).Descendants("Command").Single();
        Assert.Equal("iscsi-convert", command.Attribute("Name")!.Value);
        XElement metadata = Nuspec(_feed.Package("iscsi-convert"));
        Assert.Contains(metadata.Descendants(metadata.Name.Namespace + "packageType"), t => t.Attribute("name")!.Value == "DotnetTool");
    }

    private static string[] Entries(string package)
    {
        Assert.True(File.Exists(package), $"{package} was not packed");
        using ZipArchive zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).ToArray();
    }

    private static XElement Nuspec(string package)
    {
        using ZipArchive zip = ZipFile.OpenRead(package);
        ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using Stream s = entry.Open();
        return XDocument.Load(s).Root!.Elements().First(e => e.Name.LocalName == "metadata");
    }
}
