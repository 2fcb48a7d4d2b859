using System;

namespace IscsiConvert.Drivers;

/// <summary>[SourceDisksNames] and [SourceDisksFiles] (with their .x86/.amd64/.arm64 variants): where a file sits in the package.</summary>
internal static class SourceDisks
{
    /// <summary>The folder of <paramref name="fileName"/> relative to the INF ("" = next to it), from its disk's path and its own subdirectory.</summary>
    public static string Locate(InfFile inf, string fileName, TargetOs target)
    {
        InfLine? file = FindLine(inf, "SourceDisksFiles", fileName, target);
        if (file is null)
        {
            return string.Empty;
        }
        // filename = diskid[, subdir][, size]; diskid = description[, tag-or-cab][, unused][, path]
        string subdir = file[1];
        InfLine? disk = FindLine(inf, "SourceDisksNames", file[0], target);
        string diskPath = disk is null ? string.Empty : disk[3];
        return Join(diskPath, subdir);
    }

    private static string Join(string a, string b)
    {
        a = a.Trim().Trim('\\', '/');
        b = b.Trim().Trim('\\', '/');
        if (a.Length == 0)
        {
            return b;
        }
        return b.Length == 0 ? a : a + "\\" + b;
    }

    private static InfLine? FindLine(InfFile inf, string section, string key, TargetOs target)
    {
        foreach (string name in new[] { section + "." + target.Architecture, section })
        {
            InfSection? s = inf.GetSection(name);
            if (s is null)
            {
                continue;
            }
            InfLine? found = null;
            foreach (InfLine line in s.WithKey(key))
            {
                found = line;
            }
            if (found is not null)
            {
                return found;
            }
        }
        return null;
    }

    internal static bool SameName(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
