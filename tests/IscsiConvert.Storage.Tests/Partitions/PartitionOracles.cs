using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace IscsiConvert.Tests.Partitions;

/// <summary>sfdisk, sgdisk, mmls and blkid as independent readers of partition tables and file systems.</summary>
internal static partial class PartitionOracles
{
    /// <summary>A blank raw disk file of <paramref name="bytes"/> (sparse).</summary>
    public static string BlankDisk(TempDir tmp, string name, long bytes)
    {
        string path = tmp.File(name);
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(bytes);
        return path;
    }

    /// <summary>Partitions a file with an sfdisk script.</summary>
    public static void Sfdisk(string path, string script)
    {
        Oracle.Require("sfdisk");
        string scriptFile = path + ".sfdisk";
        File.WriteAllText(scriptFile, script);
        ToolResult r = Oracle.Run("bash", "-c", $"sfdisk --no-reread --no-tell-kernel -q '{path}' < '{scriptFile}'");
        Assert.True(r.ExitCode == 0, $"sfdisk failed: {r.StdOut} {r.StdErr}");
    }

    public static void SgdiskChecked(string path, params string[] args)
    {
        Oracle.Require("sgdisk");
        Oracle.RunChecked("sgdisk", args.Append(path).ToArray());
    }

    /// <summary>`sfdisk --json` of a file: the partitiontable object.</summary>
    public static SfdiskTable SfdiskJson(string path)
    {
        Oracle.Require("sfdisk");
        string json = Oracle.RunChecked("sfdisk", "--json", path);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement t = doc.RootElement.GetProperty("partitiontable");
        var parts = new List<SfdiskPartition>();
        if (t.TryGetProperty("partitions", out JsonElement ps))
        {
            foreach (JsonElement p in ps.EnumerateArray())
            {
                string node = p.GetProperty("node").GetString()!;
                int index = int.Parse(TrailingNumber().Match(node).Value, CultureInfo.InvariantCulture);
                parts.Add(new SfdiskPartition(
                    index,
                    p.GetProperty("start").GetInt64(),
                    p.GetProperty("size").GetInt64(),
                    p.GetProperty("type").GetString()!,
                    p.TryGetProperty("bootable", out JsonElement b) && b.GetBoolean(),
                    p.TryGetProperty("uuid", out JsonElement u) ? u.GetString() : null,
                    p.TryGetProperty("name", out JsonElement n) ? n.GetString() : null,
                    p.TryGetProperty("attrs", out JsonElement a) ? a.GetString() : null));
            }
        }
        return new SfdiskTable(
            t.GetProperty("label").GetString()!,
            t.GetProperty("id").GetString()!,
            t.TryGetProperty("firstlba", out JsonElement fl) ? fl.GetInt64() : null,
            t.TryGetProperty("lastlba", out JsonElement ll) ? ll.GetInt64() : null,
            parts);
    }

    /// <summary>The partition rows of `mmls` (neither "Meta" nor unallocated): start, length and description.</summary>
    public static List<MmlsRow> Mmls(string path, int sectorSize = 512)
    {
        Oracle.Require("mmls");
        string output = Oracle.RunChecked("mmls", "-b", sectorSize.ToString(CultureInfo.InvariantCulture), path);
        var rows = new List<MmlsRow>();
        foreach (string line in output.Split('\n'))
        {
            Match m = MmlsLine().Match(line);
            if (m.Success)
            {
                rows.Add(new MmlsRow(m.Groups["slot"].Value, long.Parse(m.Groups["start"].Value, CultureInfo.InvariantCulture),
                    long.Parse(m.Groups["length"].Value, CultureInfo.InvariantCulture), m.Groups["desc"].Value.Trim()));
            }
        }
        return rows;
    }

    /// <summary>`sgdisk -i N`: the fields it prints, by name.</summary>
    public static Dictionary<string, string> SgdiskInfo(string path, int index)
    {
        string output = Oracle.RunChecked("sgdisk", "-i", index.ToString(CultureInfo.InvariantCulture), path);
        var fields = new Dictionary<string, string>();
        foreach (string line in output.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                fields[line.Substring(0, colon).Trim()] = line.Substring(colon + 1).Trim();
            }
        }
        return fields;
    }

    /// <summary>`sgdisk -v` output (stdout and stderr together).</summary>
    public static string SgdiskVerify(string path)
    {
        ToolResult r = Oracle.Run("sgdisk", "-v", path);
        return r.StdOut + r.StdErr;
    }

    /// <summary>`blkid -p -o export` of a file: TYPE, VERSION, LABEL, PTTYPE… (empty when blkid finds nothing).</summary>
    public static Dictionary<string, string> Blkid(string path)
    {
        Oracle.Require("blkid");
        ToolResult r = Oracle.Run("blkid", "-p", "-o", "export", path);
        var fields = new Dictionary<string, string>();
        foreach (string line in r.StdOut.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                // The export format escapes spaces and other special characters with a backslash.
                fields[line.Substring(0, eq)] = Regex.Replace(line.Substring(eq + 1), @"\\(.)", "$1");
            }
        }
        return fields;
    }

    public static void Patch(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        f.Write(bytes);
    }

    public static byte[] ReadBytes(string path, long offset, int count)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
        f.Position = offset;
        byte[] b = new byte[count];
        f.ReadExactly(b);
        return b;
    }

    /// <summary>CRC-32 (IEEE, reflected), bit by bit: deliberately not the library's table-driven code, to fix up test headers.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }
        return ~crc;
    }

    [GeneratedRegex(@"(\d+)$")]
    private static partial Regex TrailingNumber();

    [GeneratedRegex(@"^\d+:\s+(?<slot>\d+(:\d+)?)\s+(?<start>\d+)\s+(?<end>\d+)\s+(?<length>\d+)\s+(?<desc>.*)$")]
    private static partial Regex MmlsLine();
}

internal sealed record SfdiskTable(string Label, string Id, long? FirstLba, long? LastLba, List<SfdiskPartition> Partitions);

internal sealed record SfdiskPartition(int Index, long Start, long Size, string Type, bool Bootable, string? Uuid, string? Name, string? Attrs);

internal sealed record MmlsRow(string Slot, long Start, long Length, string Description);
