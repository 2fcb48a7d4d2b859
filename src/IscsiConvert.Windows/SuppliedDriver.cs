using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>
/// A supplied driver package resolved for one target Windows: its INF bytes, catalog, every file its models install
/// (for the driver store), the files of the chosen install section with their destinations, the function service and
/// the device filters. Everything is read from the host package here, so a plan holds no open files.
/// </summary>
internal sealed class SuppliedDriver
{
    private SuppliedDriver(DriverPackage package, TargetOs target, InfInstall install, byte[] infBytes, string? catalog,
        IReadOnlyList<(string Relative, string HostPath)> storeFiles, InfService function)
    {
        Package = package;
        Target = target;
        Install = install;
        InfBytes = infBytes;
        Catalog = catalog;
        StoreFiles = storeFiles;
        Function = function;
    }

    public DriverPackage Package { get; }

    public TargetOs Target { get; }

    /// <summary>What the chosen install section does on the target.</summary>
    public InfInstall Install { get; }

    public byte[] InfBytes { get; }

    /// <summary>The INF's original file name, lower case as the driver store names its folders ("netkvm.inf").</summary>
    public string InfName => OriginalInfName.ToLowerInvariant();

    /// <summary>The INF's file name as the package has it ("NetKVM.inf").</summary>
    public string OriginalInfName => Path.GetFileName(Package.Inf.FullPath ?? Package.Inf.FileName);

    /// <summary>The catalog file that applies on the target (package-relative), or null.</summary>
    public string? Catalog { get; }

    /// <summary>The package's files as they go into its driver-store folder: package-relative path and host path (the INF first).</summary>
    public IReadOnlyList<(string Relative, string HostPath)> StoreFiles { get; }

    /// <summary>The function driver's service (AddService with SPSVCINST_ASSOCSERVICE).</summary>
    public InfService Function { get; }

    public static SuppliedDriver Resolve(DriverPackage package, string installSection, TargetOs target)
    {
        DriverPackageCheck check = package.Check(target);
        if (!check.IsComplete)
        {
            throw new NotSupportedException($"The driver package {package.Folder} is incomplete or unsafe: missing {string.Join(", ", check.MissingFiles)}; unsafe paths {string.Join(", ", check.UnsafePaths)}.");
        }
        string infPath = package.Inf.FullPath ?? throw new NotSupportedException($"{package.Inf.FileName}: a supplied package must be read from a file.");
        InfInstall install = package.Inf.ResolveInstall(installSection, target);
        InfService function = install.FunctionDriver ?? throw new NotSupportedException($"{infPath} [{installSection}] has no function driver service.");
        var store = new List<(string, string)> { (Path.GetFileName(infPath), infPath) };
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { Path.GetFileName(infPath) };
        if (check.CatalogFile is { } cat && seen.Add(cat))
        {
            store.Add((cat, package.FindFile(cat)!));
        }
        foreach (InfFileCopy file in check.Files)
        {
            string relative = Relative(file);
            if (seen.Add(relative))
            {
                store.Add((relative, package.FindFile(relative) ?? throw new NotSupportedException($"{relative} is missing from {package.Folder}.")));
            }
        }
        return new SuppliedDriver(package, target, install, File.ReadAllBytes(infPath), check.CatalogFile, store, function);
    }

    /// <summary>Where a copied file is in the package: SourceDisksNames path and SourceDisksFiles subdirectory, then its name.</summary>
    public static string Relative(InfFileCopy file) => file.SourcePath.Length == 0 ? file.SourceName : file.SourcePath + "\\" + file.SourceName;

    /// <summary>
    /// The package's driver-store folder name: "&lt;inf&gt;_&lt;arch&gt;_&lt;16 hex digits&gt;" (Windows 8 and later) or
    /// "&lt;inf&gt;_&lt;arch&gt;_neutral_&lt;16 hex digits&gt;" (Vista and 7), as the real hives name them. Windows' own digits
    /// come from a hash it does not document; ours are the first 8 bytes of a SHA-256 over the package's store files
    /// (relative name and content, in order), so the same package always gets the same folder and a changed one a new folder.
    /// </summary>
    public string StoreFolderName(bool neutral)
    {
        using var sha = SHA256.Create();
        foreach ((string relative, string host) in StoreFiles.OrderBy(f => f.Relative, StringComparer.OrdinalIgnoreCase))
        {
            byte[] name = Encoding.UTF8.GetBytes(relative.ToLowerInvariant() + "\0");
            sha.TransformBlock(name, 0, name.Length, null, 0);
            byte[] content = File.ReadAllBytes(host);
            sha.TransformBlock(content, 0, content.Length, null, 0);
        }
        sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
        string hex = FileCopy.ToHex(sha.Hash!).Substring(0, 16);
        return $"{InfName}_{Target.Architecture.ToLowerInvariant()}_{(neutral ? "neutral_" : string.Empty)}{hex}";
    }

    /// <summary>The install section's files: host source and destination on the volume (dirid 13 placed in <paramref name="storeFolder"/>).</summary>
    public IEnumerable<FileCopy> InstalledFiles(string? storeFolder)
    {
        foreach (InfFileCopy file in Install.Files)
        {
            string relative = Relative(file);
            string source = Package.FindFile(relative) ?? throw new NotSupportedException($"{relative} is missing from {Package.Folder}.");
            string destination = file.DestinationPath ?? throw new NotSupportedException($"{file.FileName}: its destination (dirid {file.DirId}) is not a folder on the Windows volume.");
            if (destination.Contains(DirIds.DriverStorePackage))
            {
                if (storeFolder is null)
                {
                    throw new NotSupportedException($"{file.FileName}: its destination (dirid 13, the driver store) does not exist before Windows 8.1.");
                }
                destination = destination.Replace(DirIds.DriverStorePackage, storeFolder);
            }
            yield return FileCopy.FromHostFile(source, destination);
        }
    }

    /// <summary>The service's image path on the volume (\Windows\System32\drivers\netkvm.sys), with dirid 13 placed in <paramref name="storeFolder"/>.</summary>
    public string? ServiceBinaryPath(string? storeFolder) =>
        Function.ServiceBinaryPath is { } p && storeFolder is not null ? p.Replace(DirIds.DriverStorePackage, storeFolder) : Function.ServiceBinaryPath;

    /// <summary>The UpperFilters / LowerFilters the install section's .HW AddReg gives the device (HKR), in order; empty when none.</summary>
    public IReadOnlyList<string> Filters(string valueName) =>
        Install.HardwareRegistry
            .Where(e => !e.IsDelete && e.Root == "HKR" && e.SubKey.Length == 0 && string.Equals(e.ValueName, valueName, StringComparison.OrdinalIgnoreCase) && e.ValueType == "REG_MULTI_SZ")
            .SelectMany(e => e.Data).Where(d => d.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
}
