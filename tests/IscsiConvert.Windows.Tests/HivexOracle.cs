using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Tests;

namespace IscsiConvert.Windows.Tests;

/// <summary>hivexget / hivexsh reading a hive file directly: the oracle for what the model reads through the image.</summary>
internal static class HivexOracle
{
    /// <summary>
    /// One value as hivexget prints it (DWORDs in decimal, strings as text), or null when the value or its key is absent
    /// (hivexsh says "…: key not found" / "subkey '…' not found"). Any other failure — a hive hivex cannot open — fails
    /// the test rather than reading as "absent".
    /// </summary>
    public static string? Get(string hive, string key, string value)
    {
        Oracle.Require("hivexget");
        ToolResult r = Oracle.Run("hivexget", hive, key, value);
        if (r.ExitCode == 0)
        {
            return r.StdOut.TrimEnd('\r', '\n');
        }
        bool absent = r.StdErr.Contains(": key not found", StringComparison.Ordinal)
            || (r.StdErr.Contains("subkey '", StringComparison.Ordinal) && r.StdErr.Contains("' not found", StringComparison.Ordinal));
        Xunit.Assert.True(absent, $"{r.CommandLine} failed (exit {r.ExitCode}): {r.StdErr}");
        return null;
    }

    /// <summary>The subkey names of <paramref name="key"/> as hivexsh lists them.</summary>
    public static IReadOnlyList<string> Subkeys(string hive, string key)
    {
        Oracle.Require("hivexsh");
        string script = System.IO.Path.GetTempFileName();
        try
        {
            System.IO.File.WriteAllText(script, $"cd {key}\nls\n");
            string output = Oracle.RunChecked("sh", "-c", "hivexsh -f \"$2\" \"$1\"", "sh", hive, script);
            return output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        }
        finally
        {
            System.IO.File.Delete(script);
        }
    }

    /// <summary>
    /// A hive named <paramref name="name"/> in <paramref name="tmp"/>: hivex's minimal hive from testdata with the .reg
    /// <paramref name="lines"/> merged in by hivexregedit (keys under <paramref name="prefix"/>; parents listed first).
    /// </summary>
    public static string Build(TempDir tmp, string name, string prefix, params string[] lines)
    {
        Oracle.Require("hivexregedit");
        string hive = tmp.File(name);
        System.IO.File.Copy(TestData.Require("registry/hivex-minimal/minimal"), hive);
        System.IO.File.SetAttributes(hive, System.IO.FileAttributes.Normal);
        string reg = tmp.File(name + ".reg");
        System.IO.File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n\r\n" + string.Join("\r\n", lines.Select(l => l.StartsWith("[", StringComparison.Ordinal) ? "\r\n" + l : l)) + "\r\n\r\n");
        Oracle.RunChecked("hivexregedit", "--merge", "--prefix", prefix, hive, reg);
        return hive;
    }

    /// <summary>
    /// Every value of <paramref name="key"/> as hivexregedit exports it: name ("" for the default value) → registry type
    /// and raw bytes. hivexregedit writes strings as hex(1)/hex(2)/hex(7) byte lists and DWORDs as dword:, so nothing is
    /// decoded by our code.
    /// </summary>
    public static IReadOnlyDictionary<string, (int Type, byte[] Data)> Values(string hive, string key)
    {
        Oracle.Require("hivexregedit");
        string export = Oracle.RunChecked("hivexregedit", "--export", hive, key);
        var result = new Dictionary<string, (int, byte[])>(StringComparer.OrdinalIgnoreCase);
        bool inKey = false;
        foreach (string raw in export.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("[", StringComparison.Ordinal))
            {
                // Only the key itself, not its subkeys.
                inKey = string.Equals(line.Trim('[', ']').TrimStart('\\'), key.TrimStart('\\'), StringComparison.OrdinalIgnoreCase);
                continue;
            }
            if (!inKey || line.Length == 0 || !(line.StartsWith("\"", StringComparison.Ordinal) || line.StartsWith("@", StringComparison.Ordinal)))
            {
                continue;
            }
            string name;
            string rest;
            if (line[0] == '@')
            {
                name = string.Empty;
                rest = line.Substring(2);
            }
            else
            {
                int close = line.IndexOf("\"=", 1, StringComparison.Ordinal);
                name = line.Substring(1, close - 1).Replace("\\\\", "\\").Replace("\\\"", "\"");
                rest = line.Substring(close + 2);
            }
            if (rest.StartsWith("dword:", StringComparison.Ordinal))
            {
                uint v = uint.Parse(rest.Substring(6), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                result[name] = (4, BitConverter.GetBytes(v));
                continue;
            }
            // hex(N):aa,bb,…  or hex:aa,… (REG_BINARY)
            int colon = rest.IndexOf(':');
            string typeText = rest.Substring(0, colon);
            int type = typeText == "hex" ? 3 : int.Parse(typeText.Substring(4, typeText.Length - 5), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            string bytes = rest.Substring(colon + 1);
            byte[] data = bytes.Length == 0 ? Array.Empty<byte>() : bytes.Split(',').Select(b => Convert.ToByte(b, 16)).ToArray();
            result[name] = (type, data);
        }
        return result;
    }

    public static uint? DWord(string hive, string key, string value) =>
        Get(hive, key, value) is string s ? uint.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;
}
