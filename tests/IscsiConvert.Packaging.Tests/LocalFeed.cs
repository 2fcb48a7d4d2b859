using System;
using System.IO;
using System.Linq;
using System.Reflection;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Packaging.Tests;

/// <summary>
/// A local folder feed with every package of the repository (eng/packages.slnf), packed once for all the tests of
/// the "local feed" collection, in the configuration these tests were built in (an incremental build after `dotnet test`).
/// </summary>
public sealed class LocalFeed : IDisposable
{
    private readonly TempDir _dir = new();

    public LocalFeed()
    {
        Folder = Path.Combine(_dir.Path, "feed");
        Programs.Checked(Programs.Dotnet(TestData.RepoRoot, "pack", Path.Combine("eng", "packages.slnf"),
            "-c", Metadata("Configuration"), "-o", Folder, "-nodeReuse:false"));
    }

    /// <summary>The seven libraries' and tool's package IDs.</summary>
    public static readonly string[] PackageIds =
    {
        "IscsiConvert.Core", "IscsiConvert.Storage", "IscsiConvert.Ntfs", "IscsiConvert.Registry",
        "IscsiConvert.Drivers", "IscsiConvert.Windows", "iscsi-convert",
    };

    /// <summary>The one version of all packages (Directory.Build.props).</summary>
    public static string Version => Metadata("PackageVersion");

    /// <summary>The feed folder (.nupkg and .snupkg files).</summary>
    public string Folder { get; }

    public string Package(string id) => Path.Combine(Folder, $"{id}.{Version}.nupkg");

    public string SymbolPackage(string id) => Path.Combine(Folder, $"{id}.{Version}.snupkg");

    /// <summary>
    /// Writes Consumer/nuget.config (our packages from this feed only, into a fresh packages folder; third-party ones
    /// from the user's packages folder or the machine's configured NuGet sources) into <paramref name="directory"/>.
    /// </summary>
    public string WriteNuGetConfig(string directory)
    {
        string config = Path.Combine(directory, "nuget.config");
        File.WriteAllText(config, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Consumer", "nuget.config"))
            .Replace("__FEED__", Folder, StringComparison.Ordinal)
            .Replace("__PACKAGES__", Path.Combine(directory, "packages"), StringComparison.Ordinal)
            .Replace("__USER_PACKAGES__", Programs.UserPackagesFolder, StringComparison.Ordinal)
            .Replace("__UPSTREAM_SOURCES__", string.Concat(UpstreamSources.Select((url, i) => $"    <add key=\"upstream{i}\" value=\"{url}\" />\n")), StringComparison.Ordinal)
            .Replace("__UPSTREAM_MAPPING__", string.Concat(UpstreamSources.Select((_, i) => $"    <packageSource key=\"upstream{i}\">\n      <package pattern=\"*\" />\n    </packageSource>\n")), StringComparison.Ordinal));
        return config;
    }

    /// <summary>
    /// The enabled remote package sources of this machine's NuGet configuration (`dotnet nuget list source`), so that the
    /// consumer's third-party packages come from wherever this machine's restores get them, with no source written here.
    /// </summary>
    private static string[] UpstreamSources => _upstreamSources ??= Programs.Checked(Programs.Dotnet(Path.GetTempPath(), "nuget", "list", "source", "--format", "short"))
        .Split('\n').Select(line => line.Trim())
        .Where(line => line.StartsWith("E ", StringComparison.Ordinal) && line.Contains("://", StringComparison.Ordinal))
        .Select(line => line.Substring(2).Trim()).ToArray();

    private static string[]? _upstreamSources;

    public void Dispose() => _dir.Dispose();

    /// <summary>The tests that share one packed feed.</summary>
    [CollectionDefinition(Name)]
    public sealed class Collection : ICollectionFixture<LocalFeed>
    {
        public const string Name = "local feed";
    }

    private static string Metadata(string key) =>
        typeof(LocalFeed).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
