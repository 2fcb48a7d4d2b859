using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Registry;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>One value as an oracle or our reader sees it.</summary>
internal sealed record ValueData(uint Type, byte[] Data)
{
    public bool Same(ValueData other) => Type == other.Type && Data.AsSpan().SequenceEqual(other.Data);

    public override string ToString() => $"type {Type}, {Data.Length} bytes: {Convert.ToHexString(Data.AsSpan(0, Math.Min(Data.Length, 48)))}";
}

/// <summary>
/// A hive's logical content: key paths (relative to the root) and their values. Built from .reg text (hivexregedit's,
/// reged's or ours, all normalised to type + raw bytes) or from our API, so that two sources compare independently of
/// how each one formats data.
/// </summary>
internal sealed class RegModel
{
    public SortedDictionary<string, SortedDictionary<string, ValueData>> Keys { get; } = new(StringComparer.Ordinal);

    public static RegModel FromHive(RegistryKey root)
    {
        var m = new RegModel();
        foreach (RegistryKey k in RegistryExport.Walk(root))
        {
            var values = new SortedDictionary<string, ValueData>(StringComparer.Ordinal);
            foreach (RegistryValue v in k.GetValues())
            {
                values[v.Name] = new ValueData((uint)v.Type, v.GetBytes());
            }
            m.Keys[k.Path] = values;
        }
        return m;
    }

    /// <summary>Parses regedit 5.00 text. <paramref name="rootPrefix"/> is the part of each key path that stands for the hive root.</summary>
    public static RegModel ParseReg(string text, string rootPrefix, bool lossyStrings = false)
    {
        var m = new RegModel();
        SortedDictionary<string, ValueData>? current = null;
        var logical = new List<string>();
        var sb = new StringBuilder();
        foreach (string raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            string line = raw;
            if (sb.Length > 0)
            {
                line = line.TrimStart();
            }
            if (line.EndsWith('\\') && !line.StartsWith('['))
            {
                sb.Append(line, 0, line.Length - 1);
                continue;
            }
            sb.Append(line);
            logical.Add(sb.ToString());
            sb.Clear();
        }
        foreach (string line in logical)
        {
            if (line.Length == 0 || line.StartsWith("Windows Registry Editor", StringComparison.Ordinal))
            {
                continue;
            }
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                string path = line.Substring(1, line.Length - 2);
                Assert.StartsWith(rootPrefix, path);
                path = path.Substring(rootPrefix.Length).TrimStart('\\');
                current = new SortedDictionary<string, ValueData>(StringComparer.Ordinal);
                m.Keys[path] = current;
                continue;
            }
            Assert.NotNull(current);
            int pos = 0;
            string name;
            if (line.StartsWith("@=", StringComparison.Ordinal))
            {
                name = string.Empty;
                pos = 1;
            }
            else
            {
                name = ReadQuoted(line, ref pos);
            }
            Assert.Equal('=', line[pos]);
            current![name] = ParseData(line.Substring(pos + 1), lossyStrings);
        }
        return m;
    }

    private static string ReadQuoted(string line, ref int pos)
    {
        Assert.Equal('"', line[pos]);
        var sb = new StringBuilder();
        pos++;
        while (line[pos] != '"')
        {
            if (line[pos] == '\\')
            {
                pos++;
            }
            sb.Append(line[pos]);
            pos++;
        }
        pos++;
        return sb.ToString();
    }

    private static ValueData ParseData(string s, bool lossyStrings)
    {
        if (s.StartsWith("dword:", StringComparison.Ordinal))
        {
            return new ValueData(4, BitConverter.GetBytes(uint.Parse(s.AsSpan(6), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }
        if (s.StartsWith('"'))
        {
            int pos = 0;
            string text = ReadQuoted(s, ref pos);
            return new ValueData(1, Encoding.Unicode.GetBytes(text + (lossyStrings ? string.Empty : "\0")));
        }
        uint type = 3;
        int colon = s.IndexOf(':', StringComparison.Ordinal);
        if (s.StartsWith("hex(", StringComparison.Ordinal))
        {
            type = uint.Parse(s.AsSpan(4, s.IndexOf(')', StringComparison.Ordinal) - 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        else
        {
            Assert.StartsWith("hex:", s);
        }
        string hex = s.Substring(colon + 1).Replace(",", string.Empty, StringComparison.Ordinal).Trim();
        return new ValueData(type, Convert.FromHexString(hex));
    }

    /// <summary>Describes every difference (empty when equal), at most <paramref name="max"/> lines.</summary>
    public List<string> Diff(RegModel other, int max = 30)
    {
        var d = new List<string>();
        foreach (string k in Keys.Keys.Union(other.Keys.Keys).OrderBy(x => x, StringComparer.Ordinal))
        {
            if (d.Count >= max)
            {
                break;
            }
            bool a = Keys.TryGetValue(k, out var va);
            bool b = other.Keys.TryGetValue(k, out var vb);
            if (!a || !b)
            {
                d.Add((a ? "- key " : "+ key ") + k);
                continue;
            }
            foreach (string n in va!.Keys.Union(vb!.Keys))
            {
                bool x = va.TryGetValue(n, out var xa);
                bool y = vb.TryGetValue(n, out var ya);
                if (!x || !y)
                {
                    d.Add((x ? "- value " : "+ value ") + k + " : " + n);
                }
                else if (!xa!.Same(ya!))
                {
                    d.Add($"~ value {k} : {n}: {xa} vs {ya}");
                }
            }
        }
        return d;
    }

    public int ValueCount => Keys.Values.Sum(v => v.Count);
}
