using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace IscsiConvert.Registry;

/// <summary>Writes a key and everything below it as a regedit 5.00 ".reg" file or as JSON.</summary>
public static class RegistryExport
{
    /// <summary>
    /// Writes "Windows Registry Editor Version 5.00" text. Key lines are "[PREFIX\path]"; strings are written as
    /// "text" only when that is lossless (one terminating NUL, no control characters), otherwise as hex(N): bytes,
    /// so that importing the file gives back exactly the same data.
    /// </summary>
    public static void WriteReg(RegistryKey key, TextWriter writer, string prefix)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }
        if (writer is null)
        {
            throw new ArgumentNullException(nameof(writer));
        }
        writer.Write("Windows Registry Editor Version 5.00\r\n\r\n");
        // One write per key: writers such as the console flush on every call.
        var sb = new StringBuilder();
        foreach (RegistryKey k in Walk(key))
        {
            sb.Clear();
            sb.Append('[').Append(KeyLine(prefix, k.Path)).Append("]\r\n");
            foreach (RegistryValue v in k.GetValues())
            {
                sb.Append(v.Name.Length == 0 ? "@" : Quote(v.Name)).Append('=').Append(FormatRegData(v)).Append("\r\n");
            }
            sb.Append("\r\n");
            writer.Write(sb.ToString());
        }
    }

    private static string KeyLine(string prefix, string path)
    {
        if (path.Length == 0)
        {
            return prefix.Length == 0 ? "\\" : prefix;
        }
        return prefix + "\\" + path;
    }

    /// <summary>Writes JSON: an array of keys, each with its path, last write time, class name and values.</summary>
    public static void WriteJson(RegistryKey key, TextWriter writer)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }
        if (writer is null)
        {
            throw new ArgumentNullException(nameof(writer));
        }
        writer.Write("[");
        bool firstKey = true;
        foreach (RegistryKey k in Walk(key))
        {
            writer.Write(firstKey ? "\n  " : ",\n  ");
            firstKey = false;
            writer.Write("{\"path\": " + JsonString(k.Path));
            writer.Write(", \"lastWrite\": " + JsonString(k.LastWriteTime.ToString("o", CultureInfo.InvariantCulture)));
            if (k.ClassName is string cls)
            {
                writer.Write(", \"class\": " + JsonString(cls));
            }
            writer.Write(", \"values\": [");
            bool firstValue = true;
            foreach (RegistryValue v in k.GetValues())
            {
                writer.Write(firstValue ? "\n    " : ",\n    ");
                firstValue = false;
                writer.Write("{\"name\": " + JsonString(v.Name) + ", \"type\": " + JsonString(TypeName(v.Type)) + ", \"typeNumber\": " + ((uint)v.Type).ToString(CultureInfo.InvariantCulture));
                writer.Write(", \"data\": " + JsonData(v) + "}");
            }
            writer.Write(firstValue ? "]}" : "\n  ]}");
        }
        writer.Write(firstKey ? "]\n" : "\n]\n");
    }

    /// <summary>The REG_* name of a type, or its number for types Windows does not name.</summary>
    public static string TypeName(RegistryValueType type) => type switch
    {
        RegistryValueType.None => "REG_NONE",
        RegistryValueType.String => "REG_SZ",
        RegistryValueType.ExpandString => "REG_EXPAND_SZ",
        RegistryValueType.Binary => "REG_BINARY",
        RegistryValueType.DWord => "REG_DWORD",
        RegistryValueType.DWordBigEndian => "REG_DWORD_BIG_ENDIAN",
        RegistryValueType.Link => "REG_LINK",
        RegistryValueType.MultiString => "REG_MULTI_SZ",
        RegistryValueType.ResourceList => "REG_RESOURCE_LIST",
        RegistryValueType.FullResourceDescriptor => "REG_FULL_RESOURCE_DESCRIPTOR",
        RegistryValueType.ResourceRequirementsList => "REG_RESOURCE_REQUIREMENTS_LIST",
        RegistryValueType.QWord => "REG_QWORD",
        _ => "0x" + ((uint)type).ToString("x", CultureInfo.InvariantCulture),
    };

    /// <summary>Every key from <paramref name="top"/> down, depth first in list order; a key reached twice is an error.</summary>
    public static IEnumerable<RegistryKey> Walk(RegistryKey top)
    {
        if (top is null)
        {
            throw new ArgumentNullException(nameof(top));
        }
        return WalkIterator(top);
    }

    private static IEnumerable<RegistryKey> WalkIterator(RegistryKey top)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<RegistryKey>();
        stack.Push(top);
        while (stack.Count > 0)
        {
            RegistryKey k = stack.Pop();
            if (!seen.Add(k.Cell))
            {
                throw top.Hive.Cells.Storage.Corrupt("key node", k.Cell, $"key '{k.Path}' is reached twice: the subkey lists form a loop");
            }
            yield return k;
            IReadOnlyList<RegistryKey> children = k.GetSubkeys();
            for (int i = children.Count - 1; i >= 0; i--)
            {
                stack.Push(children[i]);
            }
        }
    }

    private static string FormatRegData(RegistryValue v)
    {
        byte[] d = v.GetBytes();
        if (v.Type is RegistryValueType.String && TryCleanString(d, out string? s))
        {
            return Quote(s!);
        }
        if (v.Type == RegistryValueType.DWord && d.Length == 4)
        {
            return "dword:" + v.AsDWord().ToString("x8", CultureInfo.InvariantCulture);
        }
        var sb = new StringBuilder();
        sb.Append(v.Type == RegistryValueType.Binary ? "hex:" : "hex(" + ((uint)v.Type).ToString("x", CultureInfo.InvariantCulture) + "):");
        for (int i = 0; i < d.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            sb.Append(d[i].ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>True when the data is exactly a UTF-16LE string of printable characters plus one NUL.</summary>
    private static bool TryCleanString(byte[] d, out string? s)
    {
        s = null;
        if (d.Length < 2 || d.Length % 2 != 0 || d[d.Length - 1] != 0 || d[d.Length - 2] != 0)
        {
            return false;
        }
        string text = Encoding.Unicode.GetString(d, 0, d.Length - 2);
        foreach (char c in text)
        {
            if (c < 0x20 || char.IsSurrogate(c))
            {
                return false;
            }
        }
        s = text;
        return true;
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string JsonData(RegistryValue v)
    {
        byte[] d = v.GetBytes();
        switch (v.Type)
        {
            case RegistryValueType.String or RegistryValueType.ExpandString or RegistryValueType.Link when TryCleanString(d, out string? s):
                return JsonString(s!);
            case RegistryValueType.DWord or RegistryValueType.DWordBigEndian when d.Length == 4:
                return v.AsDWord().ToString(CultureInfo.InvariantCulture);
            case RegistryValueType.QWord when d.Length == 8:
                return v.AsQWord().ToString(CultureInfo.InvariantCulture);
            case RegistryValueType.MultiString when d.Length % 2 == 0:
                var parts = new List<string>();
                foreach (string p in v.AsStrings())
                {
                    parts.Add(JsonString(p));
                }
                return "[" + string.Join(", ", parts) + "]";
            default:
                var sb = new StringBuilder("\"");
                foreach (byte b in d)
                {
                    sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
                }
                return sb.Append('"').ToString();
        }
    }

    private static string JsonString(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                default:
                    if (c < 0x20 || char.IsSurrogate(c))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
