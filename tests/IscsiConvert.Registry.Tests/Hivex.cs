using System;
using System.Collections.Concurrent;
using System.IO;
using System.Text;
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
        Oracle.Require("hivexregedit");
        string outFile = Path.Combine(Path.GetTempPath(), "hivex-" + Guid.NewGuid().ToString("N") + ".reg");
        try
        {
            Oracle.RunChecked("sh", "-c", "hivexregedit --export \"$1\" '\\' > \"$2\"", "sh", path, outFile);
            return RegModel.ParseReg(DecodePerlOutput(File.ReadAllBytes(outFile)), "\\");
        }
        finally
        {
            File.Delete(outFile);
        }
    }

    /// <summary>
    /// Perl prints a string that holds a character above U+00FF as UTF-8 and any other string as Latin-1 bytes, so each
    /// line is UTF-8 when it decodes as such and Latin-1 otherwise.
    /// </summary>
    private static string DecodePerlOutput(byte[] bytes)
    {
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var sb = new StringBuilder();
        int start = 0;
        for (int i = 0; i <= bytes.Length; i++)
        {
            if (i == bytes.Length || bytes[i] == (byte)'\n')
            {
                var line = new ReadOnlySpan<byte>(bytes, start, i - start);
                try
                {
                    sb.Append(strict.GetString(line));
                }
                catch (DecoderFallbackException)
                {
                    sb.Append(Encoding.Latin1.GetString(line));
                }
                sb.Append('\n');
                start = i + 1;
            }
        }
        return sb.ToString();
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
        return RegModel.ParseReg(File.ReadAllText(outFile, System.Text.Encoding.Latin1), "HKEY_LOCAL_MACHINE\\H", lossyStrings: true);
    }

    /// <summary>reged lives in /usr/sbin, which is not always on PATH.</summary>
    public static string RegedTool => File.Exists("/usr/sbin/reged") && Oracle.Find("reged") is null ? "/usr/sbin/reged" : "reged";
}
