using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace IscsiConvert.Tests;

/// <summary>One line of `fls -r -p -l -z UTC`: a name (or name:stream) with its inode spec and size.</summary>
internal sealed record FlsEntry(string Type, string Inode, string Path, string? Stream, long Size)
{
    public bool IsDirectory => Type.EndsWith("/d", StringComparison.Ordinal);

    public int AttributeType => int.Parse(Inode.Split('-')[1], CultureInfo.InvariantCulture);
}

/// <summary>Runs sleuthkit's fls/istat and parses what they print.</summary>
internal static partial class SleuthKit
{
    public static List<FlsEntry> Fls(string image, long sectorOffset)
    {
        string output = Oracle.RunChecked("fls", OffsetArgs(sectorOffset, "-r", "-p", "-l", "-z", "UTC", image));
        var entries = new List<FlsEntry>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Match m = FlsLine().Match(line);
            if (!m.Success)
            {
                throw new FormatException("unexpected fls line: " + line);
            }
            if (m.Groups["deleted"].Success || m.Groups["type"].Value == "V/V")
            {
                continue;
            }
            string[] fields = m.Groups["rest"].Value.Split('\t');
            string fullName = fields[0];

            // A named attribute prints as path:name; ':' cannot occur in NTFS names otherwise.
            int slash = fullName.LastIndexOf('/');
            int colon = fullName.IndexOf(':', slash + 1);
            string path = colon < 0 ? fullName : fullName.Substring(0, colon);
            string? stream = colon < 0 ? null : fullName.Substring(colon + 1);
            entries.Add(new FlsEntry(m.Groups["type"].Value, m.Groups["inode"].Value, path, stream, long.Parse(fields[5], CultureInfo.InvariantCulture)));
        }
        return entries;
    }

    /// <summary>The four $STANDARD_INFORMATION times istat prints: created, modified, MFT modified, accessed.</summary>
    public static DateTime[] StandardInformationTimes(string image, long sectorOffset, long record)
    {
        string output = Oracle.RunChecked("istat", OffsetArgs(sectorOffset, "-z", "UTC", image, record.ToString(CultureInfo.InvariantCulture)));
        int start = output.IndexOf("$STANDARD_INFORMATION Attribute Values:", StringComparison.Ordinal);
        if (start < 0)
        {
            throw new FormatException("istat printed no $STANDARD_INFORMATION: " + output);
        }
        string[] labels = { "Created:", "File Modified:", "MFT Modified:", "Accessed:" };
        string[] lines = output.Substring(start).Split('\n');
        return labels.Select(label =>
        {
            string line = lines.First(l => l.StartsWith(label, StringComparison.Ordinal));
            string text = line.Substring(label.Length).Trim().Replace(" (UTC)", string.Empty, StringComparison.Ordinal);
            if (text.StartsWith("0000-00-00", StringComparison.Ordinal))
            {
                return DateTime.MinValue;
            }

            // "2019-03-03 12:35:17.403986800": nanoseconds, of which NTFS keeps hundreds.
            return DateTime.ParseExact(text.Substring(0, 27), "yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        }).ToArray();
    }

    /// <summary>What istat prints of a file: the name in each of its $FILE_NAME attributes and the size of its unnamed $DATA.</summary>
    public static (List<string> Names, long DataSize) IstatNamesAndSize(string image, long sectorOffset, long record)
    {
        string output = Oracle.RunChecked("istat", OffsetArgs(sectorOffset, image, record.ToString(CultureInfo.InvariantCulture)));
        var names = output.Split("$FILE_NAME Attribute Values:").Skip(1)
            .Select(section => section.Split('\n').First(l => l.StartsWith("Name: ", StringComparison.Ordinal)).Substring("Name: ".Length).Trim())
            .ToList();
        Match data = IstatUnnamedData().Match(output);
        if (!data.Success)
        {
            throw new FormatException("istat printed no unnamed $DATA: " + output);
        }
        return (names, long.Parse(data.Groups["size"].Value, CultureInfo.InvariantCulture));
    }

    private static string[] OffsetArgs(long sectorOffset, params string[] rest) =>
        sectorOffset > 0 ? new[] { "-o", sectorOffset.ToString(CultureInfo.InvariantCulture) }.Concat(rest).ToArray() : rest;

    [GeneratedRegex(@"^(?<type>\S+/\S+) (?<deleted>\* )?(?<inode>[0-9-]+):\t(?<rest>.*)$")]
    private static partial Regex FlsLine();

    // "Type: $DATA (128-4)   Name: N/A   Non-Resident, Compressed   size: 300000  init_size: 300000"
    [GeneratedRegex(@"Type: \$DATA \(128-\d+\)\s+Name: N/A\s[^\n]*?\bsize: (?<size>\d+)")]
    private static partial Regex IstatUnnamedData();
}
