using System;
using System.Collections.Concurrent;
using System.IO;
using IscsiConvert.Tests;

namespace IscsiConvert.Registry.Tests;

/// <summary>The hivex oracle: `hivexregedit --export` parsed into a <see cref="RegModel"/>, cached per file content.</summary>
internal static class Hivex
{
    private static readonly ConcurrentDictionary<string, Lazy<RegModel>> Cache = new();

    /// <summary>Exports a hive that does not change during the test run (cached).</summary>
    public static RegModel ExportCached(string path) =>
        Cache.GetOrAdd(path, p => new Lazy<RegModel>(() => Export(p))).Value;

    public static RegModel Export(string path)
    {
        string text = Oracle.RunChecked("hivexregedit", "--export", path, "\\");
        return RegModel.ParseReg(text, "\\");
    }

    /// <summary>chntpw's reged -x: its strings are decoded text, so string data is compared loosely.</summary>
    public static RegModel RegedExport(string hivePath)
    {
        string dir = Path.GetDirectoryName(hivePath)!;
        string outFile = Path.Combine(dir, "reged-" + Path.GetFileName(hivePath) + ".reg");
        ToolResult r = Oracle.Run(RegedTool, "-x", hivePath, "HKEY_LOCAL_MACHINE\\H", "\\", outFile);
        if (r.ExitCode != 0 || !File.Exists(outFile))
        {
            throw new InvalidOperationException($"reged -x failed ({r.ExitCode}): {r.StdOut}\n{r.StdErr}");
        }
        return RegModel.ParseReg(File.ReadAllText(outFile), "HKEY_LOCAL_MACHINE\\H", lossyStrings: true);
    }

    /// <summary>reged lives in /usr/sbin, which is not always on PATH.</summary>
    public static string RegedTool => File.Exists("/usr/sbin/reged") && Oracle.Find("reged") is null ? "/usr/sbin/reged" : "reged";
}
