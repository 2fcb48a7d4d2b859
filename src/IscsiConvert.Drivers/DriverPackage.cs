using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Drivers;

/// <summary>The result of checking a driver package for a target.</summary>
public sealed class DriverPackageCheck
{
    internal DriverPackageCheck(IReadOnlyList<InfFileCopy> files, IReadOnlyList<string> missing, IReadOnlyList<string> unsafePaths, string? catalog)
    {
        Files = files;
        MissingFiles = missing;
        UnsafePaths = unsafePaths;
        CatalogFile = catalog;
    }

    /// <summary>Every file the models' install sections copy on the target.</summary>
    public IReadOnlyList<InfFileCopy> Files { get; }

    /// <summary>Package-relative paths of files the INF needs that the package lacks (the catalog included).</summary>
    public IReadOnlyList<string> MissingFiles { get; }

    /// <summary>File names or destinations that would escape their folder ("..", rooted or device paths, drive letters).</summary>
    public IReadOnlyList<string> UnsafePaths { get; }

    /// <summary>The catalog file that applies on the target, or null when the INF names none.</summary>
    public string? CatalogFile { get; }

    /// <summary>Whether every needed file is present and no path is unsafe.</summary>
    public bool IsComplete => MissingFiles.Count == 0 && UnsafePaths.Count == 0;
}

/// <summary>A driver package: a folder with an INF, its catalog and the files the INF copies.</summary>
public sealed class DriverPackage
{
    private DriverPackage(string folder, InfFile inf)
    {
        Folder = folder;
        Inf = inf;
    }

    /// <summary>The package folder.</summary>
    public string Folder { get; }

    /// <summary>The package's INF.</summary>
    public InfFile Inf { get; }

    /// <summary>Opens a package from its INF path, or from a folder that holds exactly one INF.</summary>
    public static DriverPackage Open(string path, InfReadOptions? options = null)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        string full = Path.GetFullPath(path);
        string infPath;
        if (Directory.Exists(full))
        {
            var infs = new List<string>();
            var templates = new List<string>();
            foreach (string f in Directory.EnumerateFiles(full))
            {
                if (f.EndsWith(".inf", StringComparison.OrdinalIgnoreCase))
                {
                    infs.Add(f);
                }
                else if (f.EndsWith(".inx", StringComparison.OrdinalIgnoreCase))
                {
                    templates.Add(Path.GetFileName(f));
                }
            }
            if (infs.Count == 0 && templates.Count > 0)
            {
                // An INX is the source a driver build stamps into the INF it ships ($ARCH$, DriverVer filled in):
                // it is not installable as it is, and which architecture and version to stamp is the builder's choice.
                throw new UnsupportedFormatException(
                    $"the folder holds only the INF template {string.Join(", ", templates)}, not a driver package: stamp it into an .inf for the target " +
                    "(stampinf -f NAME.inx -a amd64 -v VERSION, as the driver's build does) or use the built package, which has the .inf, .sys and .cat",
                    full);
            }
            if (infs.Count != 1)
            {
                throw new UnsupportedFormatException(
                    infs.Count == 0 ? "the folder holds no .inf file: not a driver package" : $"the folder holds {infs.Count} .inf files; name the one to use",
                    full);
            }
            infPath = infs[0];
        }
        else
        {
            infPath = full;
        }
        InfFile inf = InfFile.Load(infPath, options);
        return new DriverPackage(Path.GetDirectoryName(infPath)!, inf);
    }

    /// <summary>
    /// Checks that every file the install sections of the target's models copy exists in the package (under its
    /// SourceDisksNames/SourceDisksFiles folder) and that no file name or destination escapes its folder.
    /// </summary>
    public DriverPackageCheck Check(TargetOs target)
    {
        if (target is null)
        {
            throw new ArgumentNullException(nameof(target));
        }
        var files = new List<InfFileCopy>();
        var missing = new List<string>();
        var unsafePaths = new List<string>();
        var seenSections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (InfModel model in Inf.GetModels(target))
        {
            if (!seenSections.Add(model.InstallSection))
            {
                continue;
            }
            InfInstall install = Inf.ResolveInstall(model.InstallSection, target);
            foreach (InfFileCopy file in install.Files)
            {
                files.Add(file);
                string relative = file.SourcePath.Length == 0 ? file.SourceName : file.SourcePath + "\\" + file.SourceName;
                bool safe = true;
                foreach ((string p, bool subfolders) in new[] { (file.FileName, false), (file.SourceName, false), (file.SourcePath, true), (file.Subdirectory, true) })
                {
                    if (!IsSafeRelativePath(p, subfolders))
                    {
                        AddOnce(unsafePaths, p);
                        safe = false;
                    }
                }
                if (safe && FindFile(relative) is null)
                {
                    AddOnce(missing, relative);
                }
            }
        }
        string? catalog = Inf.Version.GetCatalogFile(target);
        if (catalog is not null)
        {
            if (!IsSafeRelativePath(catalog, allowSubfolders: false))
            {
                AddOnce(unsafePaths, catalog);
            }
            else if (FindFile(catalog) is null)
            {
                AddOnce(missing, catalog);
            }
        }
        return new DriverPackageCheck(files, missing, unsafePaths, catalog);
    }

    /// <summary>The full path of a package-relative file, matched case-insensitively as Windows would; null when absent.</summary>
    /// <exception cref="UnsafeToWriteException">The path would escape the package folder.</exception>
    public string? FindFile(string relativePath)
    {
        if (!IsSafeRelativePath(relativePath, allowSubfolders: true))
        {
            throw new UnsafeToWriteException($"the path '{relativePath}' would leave the driver package folder", Folder);
        }
        string current = Folder;
        foreach (string part in relativePath.Split(new[] { '\\', '/' }, StringSplitOptions.RemoveEmptyEntries))
        {
            string? next = null;
            if (!Directory.Exists(current))
            {
                return null;
            }
            foreach (string entry in Directory.EnumerateFileSystemEntries(current))
            {
                if (string.Equals(Path.GetFileName(entry), part, StringComparison.OrdinalIgnoreCase))
                {
                    next = entry;
                    break;
                }
            }
            if (next is null)
            {
                return null;
            }
            current = next;
        }
        return File.Exists(current) ? current : null;
    }

    /// <summary>
    /// Whether <paramref name="path"/> stays inside its folder: not rooted, no drive letter or stream (':'), no device
    /// or UNC prefix, no '..' or '.' component, no control or wildcard characters, no component that Win32 would turn
    /// into a device (CON, PRN, AUX, NUL, COM1–9, LPT1–9, with or without an extension) or silently rename (a trailing
    /// dot or space) — such a name on the volume is not the file the INF's service points at.
    /// </summary>
    public static bool IsSafeRelativePath(string path, bool allowSubfolders)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        if (path.Length == 0)
        {
            return true;
        }
        if (path[0] is '\\' or '/' || path.IndexOf(':') >= 0)
        {
            return false;
        }
        string[] parts = path.Split('\\', '/');
        if (!allowSubfolders && parts.Length > 1)
        {
            return false;
        }
        foreach (string part in parts)
        {
            string trimmed = part.Trim();
            if (trimmed.Length == 0 || trimmed == "." || trimmed == ".." || trimmed.TrimEnd('.').Length == 0
                || part.EndsWith(".", StringComparison.Ordinal) || part.EndsWith(" ", StringComparison.Ordinal) || IsDeviceName(part))
            {
                return false;
            }
            foreach (char c in part)
            {
                if (c < 0x20 || c is '*' or '?' or '"' or '<' or '>' or '|')
                {
                    return false;
                }
            }
        }
        return true;
    }

    // Win32 device names, which a file name keeps meaning whatever its extension ("CON.sys" is the console).
    private static bool IsDeviceName(string part)
    {
        int dot = part.IndexOf('.');
        string stem = (dot < 0 ? part : part.Substring(0, dot)).TrimEnd(' ').ToUpperInvariant();
        return stem is "CON" or "PRN" or "AUX" or "NUL" or "CONIN$" or "CONOUT$"
            || (stem.Length == 4 && (stem.StartsWith("COM", StringComparison.Ordinal) || stem.StartsWith("LPT", StringComparison.Ordinal)) && stem[3] is >= '1' and <= '9');
    }

    private static void AddOnce(List<string> list, string item)
    {
        if (!list.Contains(item))
        {
            list.Add(item);
        }
    }
}
