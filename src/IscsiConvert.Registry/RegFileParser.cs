using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace IscsiConvert.Registry;

/// <summary>
/// Reads regedit text line by line into <see cref="RegFileOperation"/>s: the header, "[key]" and "[-key]" lines,
/// "name"=data and @=data lines (string, dword, qword, hex, hex(N), and "-" for a deletion), "\" line continuations in
/// hex data, ";" comments. Every problem is a <see cref="RegFileParseException"/> with line and column.
/// </summary>
internal sealed class RegFileParser
{
    public const string Regedit5Header = "Windows Registry Editor Version 5.00";
    public const string Regedit4Header = "REGEDIT4";

    private readonly string _fileName;
    private readonly string _prefix;
    private readonly Encoding? _ansi;
    private readonly string[] _lines;
    private readonly List<RegFileOperation> _operations = new();
    private int _index;

    public RegFileParser(string text, string fileName, RegFileOptions options)
    {
        _fileName = fileName;
        _prefix = (options.RootPrefix ?? string.Empty).Trim().TrimEnd('\\');
        _ansi = options.AnsiEncoding;
        _lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
    }

    public RegFileFormat Format { get; private set; }

    public List<RegFileOperation> Parse()
    {
        ReadHeader();
        string? key = null;
        bool keyDeleted = false;
        for (; _index < _lines.Length; _index++)
        {
            string line = _lines[_index];
            int start = SkipSpace(line, 0);
            if (start == line.Length || line[start] == ';')
            {
                continue;
            }
            char first = line[start];
            if (first == '[')
            {
                (key, keyDeleted) = ReadKeyLine(line, start);
            }
            else if (first == '"' || first == '@')
            {
                if (key is null)
                {
                    throw Error(_index, start, "a value line before the first [key] line");
                }
                RegFileOperation? op = ReadValueLine(key, start);
                if (op is not null && !keyDeleted)
                {
                    // Values under a [-key] line are ignored, as regedit ignores them.
                    _operations.Add(op);
                }
            }
            else
            {
                throw Error(_index, start, "expected a [key] line, a \"name\"= or @= value line, or a ; comment");
            }
        }
        return _operations;
    }

    private void ReadHeader()
    {
        for (; _index < _lines.Length; _index++)
        {
            string t = _lines[_index].Trim();
            if (t.Length == 0)
            {
                continue;
            }
            if (string.Equals(t, Regedit5Header, StringComparison.OrdinalIgnoreCase))
            {
                Format = RegFileFormat.Regedit5;
            }
            else if (string.Equals(t, Regedit4Header, StringComparison.OrdinalIgnoreCase))
            {
                Format = RegFileFormat.Regedit4;
            }
            else
            {
                throw Error(_index, SkipSpace(_lines[_index], 0), $"the file does not start with \"{Regedit5Header}\" or \"{Regedit4Header}\"");
            }
            _index++;
            return;
        }
        throw Error(0, 0, $"the file is empty: no \"{Regedit5Header}\" or \"{Regedit4Header}\" header");
    }

    private (string Key, bool Deleted) ReadKeyLine(string line, int start)
    {
        int close = line.LastIndexOf(']');
        if (close < start)
        {
            throw Error(_index, line.TrimEnd().Length, "the key line has no closing ']'");
        }
        int at = start + 1;
        bool delete = at < close && line[at] == '-';
        if (delete)
        {
            at++;
        }
        string path = line.Substring(at, close - at); // not trimmed: spaces belong to key names
        string relative = RelativeToRoot(path, at);
        if (delete && relative.Length == 0)
        {
            throw Error(_index, at, "the hive's root key cannot be deleted");
        }
        _operations.Add(new RegFileOperation(delete ? RegFileOperationKind.DeleteKey : RegFileOperationKind.CreateKey, relative, null, RegistryValueType.None, null, _index + 1));
        return (relative, delete);
    }

    // The key path with the root prefix removed, checked: no empty component, no name over 255 characters.
    private string RelativeToRoot(string path, int column)
    {
        string rest;
        if (_prefix.Length > 0)
        {
            if (string.Equals(path.TrimEnd('\\'), _prefix, StringComparison.OrdinalIgnoreCase))
            {
                return string.Empty;
            }
            if (!path.StartsWith(_prefix + "\\", StringComparison.OrdinalIgnoreCase))
            {
                throw Error(_index, column, $"the key '{path}' is not below the root prefix '{_prefix}'");
            }
            rest = path.Substring(_prefix.Length + 1);
        }
        else
        {
            rest = path.StartsWith("\\", StringComparison.Ordinal) ? path.Substring(1) : path;
        }
        if (rest.Length == 0)
        {
            return string.Empty;
        }
        string[] parts = rest.Split('\\');
        foreach (string part in parts)
        {
            if (part.Length == 0)
            {
                throw Error(_index, column, $"the key '{path}' has an empty name between backslashes");
            }
            if (part.Length > 255)
            {
                throw Error(_index, column, $"the key name '{part.Substring(0, 20)}…' is longer than 255 characters");
            }
        }
        return string.Join("\\", parts);
    }

    private RegFileOperation? ReadValueLine(string key, int start)
    {
        string line = _lines[_index];
        int line0 = _index;
        int pos = start;
        string name;
        if (line[pos] == '@')
        {
            name = string.Empty;
            pos++;
        }
        else
        {
            name = ReadQuoted(line, ref pos, "value name");
        }
        pos = SkipSpace(line, pos);
        if (pos == line.Length || line[pos] != '=')
        {
            throw Error(_index, pos, "expected '=' after the value name");
        }
        pos = SkipSpace(line, pos + 1);
        if (pos == line.Length)
        {
            throw Error(_index, pos, "the value has no data after '='");
        }
        if (line[pos] == '-' && SkipSpace(line, pos + 1) == line.Length)
        {
            return new RegFileOperation(RegFileOperationKind.DeleteValue, key, name, RegistryValueType.None, null, line0 + 1);
        }
        if (line[pos] == '"')
        {
            string text = ReadQuoted(line, ref pos, "string data");
            ExpectEnd(line, pos);
            return Set(key, name, RegistryValueType.String, Encoding.Unicode.GetBytes(text + "\0"), line0);
        }
        int colon = line.IndexOf(':', pos);
        string tag = colon < 0 ? string.Empty : line.Substring(pos, colon - pos).Trim().ToLowerInvariant();
        if (tag == "dword")
        {
            uint v = (uint)ReadHexNumber(line, colon + 1, 8, "dword");
            return Set(key, name, RegistryValueType.DWord, RegistryValue.EncodeDWord(v), line0);
        }
        if (tag == "qword")
        {
            ulong v = ReadHexNumber(line, colon + 1, 16, "qword");
            return Set(key, name, RegistryValueType.QWord, RegistryValue.EncodeQWord(v), line0);
        }
        RegistryValueType type;
        if (tag == "hex")
        {
            type = RegistryValueType.Binary;
        }
        else if (tag.StartsWith("hex(", StringComparison.Ordinal) && tag.EndsWith(")", StringComparison.Ordinal))
        {
            string digits = tag.Substring(4, tag.Length - 5);
            if (digits.Length == 0 || digits.Length > 8 || !uint.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint t))
            {
                throw Error(_index, pos + 4, $"'{tag}' is not hex(N) with N a hexadecimal type number");
            }
            type = (RegistryValueType)t;
        }
        else
        {
            throw Error(_index, pos, "unknown data: expected \"text\", dword:, qword:, hex:, hex(N): or -");
        }
        byte[] bytes = ReadHexBytes(colon + 1);
        if (Format == RegFileFormat.Regedit4 && type is RegistryValueType.String or RegistryValueType.ExpandString or RegistryValueType.MultiString)
        {
            // REGEDIT4 files hold ANSI strings; regedit stores them through the ANSI API, which converts them to UTF-16.
            bytes = Encoding.Unicode.GetBytes(Windows1252.Decode(bytes, _ansi));
        }
        return Set(key, name, type, bytes, line0);
    }

    private static RegFileOperation Set(string key, string name, RegistryValueType type, byte[] data, int line0) =>
        new(RegFileOperationKind.SetValue, key, name, type, data, line0 + 1);

    // A "quoted" string with regedit's two escapes, \\ and \"; pos ends after the closing quote.
    private string ReadQuoted(string line, ref int pos, string what)
    {
        int open = pos;
        var sb = new StringBuilder();
        pos++;
        while (pos < line.Length)
        {
            char c = line[pos];
            if (c == '"')
            {
                pos++;
                return sb.ToString();
            }
            if (c == '\\' && pos + 1 < line.Length && (line[pos + 1] == '\\' || line[pos + 1] == '"'))
            {
                sb.Append(line[pos + 1]);
                pos += 2;
                continue;
            }
            sb.Append(c);
            pos++;
        }
        throw Error(_index, open, $"the {what} has no closing '\"'");
    }

    private void ExpectEnd(string line, int pos)
    {
        int p = SkipSpace(line, pos);
        if (p < line.Length && line[p] != ';')
        {
            throw Error(_index, p, "unexpected text after the value's data");
        }
    }

    private ulong ReadHexNumber(string line, int pos, int maxDigits, string what)
    {
        int p = SkipSpace(line, pos);
        int begin = p;
        ulong v = 0;
        while (p < line.Length && Uri.IsHexDigit(line[p]))
        {
            if (p - begin == maxDigits)
            {
                throw Error(_index, p, $"a {what} has at most {maxDigits} hexadecimal digits");
            }
            v = (v << 4) | (uint)HexValue(line[p]);
            p++;
        }
        if (p == begin)
        {
            throw Error(_index, p, $"expected hexadecimal digits after '{what}:'");
        }
        ExpectEnd(line, p);
        return v;
    }

    // Comma-separated hex bytes from pos, following "\" continuations onto the next lines.
    private byte[] ReadHexBytes(int pos)
    {
        var bytes = new List<byte>();
        string line = _lines[_index];
        bool needByte = false; // after a comma
        while (true)
        {
            pos = SkipSpace(line, pos);
            if (pos < line.Length && line[pos] == '\\' && SkipSpace(line, pos + 1) == line.Length)
            {
                if (_index + 1 >= _lines.Length)
                {
                    throw Error(_index, pos, "the line continues ('\\') past the end of the file");
                }
                _index++;
                line = _lines[_index];
                pos = 0;
                continue;
            }
            if (pos == line.Length || line[pos] == ';')
            {
                return bytes.ToArray(); // a trailing ',' is tolerated, as regedit tolerates it
            }
            if (!needByte && bytes.Count > 0)
            {
                if (line[pos] != ',')
                {
                    throw Error(_index, pos, "expected ',' between hex bytes");
                }
                needByte = true;
                pos++;
                continue;
            }
            int begin = pos;
            int value = 0;
            while (pos < line.Length && Uri.IsHexDigit(line[pos]) && pos - begin < 3)
            {
                value = (value << 4) | HexValue(line[pos]);
                pos++;
            }
            if (pos == begin || pos - begin > 2)
            {
                throw Error(_index, begin, "expected a hex byte (two hexadecimal digits)");
            }
            bytes.Add((byte)value);
            needByte = false;
        }
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (char.ToLowerInvariant(c) - 'a') + 10;

    private static int SkipSpace(string line, int pos)
    {
        while (pos < line.Length && (line[pos] == ' ' || line[pos] == '\t'))
        {
            pos++;
        }
        return pos;
    }

    private RegFileParseException Error(int lineIndex, int column0, string problem) =>
        new(_fileName, lineIndex + 1, column0 + 1, problem);
}
