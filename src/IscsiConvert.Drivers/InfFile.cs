using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace IscsiConvert.Drivers;

/// <summary>
/// A parsed INF file: sections merged by name, string tokens substituted. The semantic views (version, models,
/// install sections) are built on demand from the sections.
/// </summary>
public sealed partial class InfFile
{
    private const int MaxWarnings = 1000;
    private readonly Dictionary<string, InfSection> _byName = new(InfSection.NameComparer);
    private readonly List<InfSection> _sections = new();
    private readonly List<string> _warnings = new();
    private readonly Dictionary<string, (string Value, int Line)> _strings = new(StringComparer.OrdinalIgnoreCase);
    private InfVersion? _version;

    private InfFile(string fileName, string? path, string encoding, InfReadOptions options)
    {
        FileName = fileName;
        FullPath = path;
        Encoding = encoding;
        Options = options;
    }

    /// <summary>The name the file was read under (its path, or the name given to <see cref="Parse(byte[], string, InfReadOptions?)"/>).</summary>
    public string FileName { get; }

    /// <summary>The full path when read from disk, else null.</summary>
    public string? FullPath { get; }

    /// <summary>The text encoding found: UTF-16LE, UTF-16BE, UTF-8, ASCII or Windows-1252.</summary>
    public string Encoding { get; }

    /// <summary>The options the file was read with.</summary>
    public InfReadOptions Options { get; }

    /// <summary>The sections in order of first appearance.</summary>
    public IReadOnlyList<InfSection> Sections => _sections;

    /// <summary>Things setup tolerates but that may mean a mistake (undefined strings, template placeholders, missing sections).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>The [Version] section.</summary>
    public InfVersion Version => _version ??= InfVersion.Read(this);

    /// <summary>Reads an INF file from disk.</summary>
    public static InfFile Load(string path, InfReadOptions? options = null)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        string full = Path.GetFullPath(path);
        using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > InfLimits.MaxFileBytes)
        {
            throw new InfParseException(full, 0, $"file is {stream.Length} bytes; INF files over {InfLimits.MaxFileBytes} bytes are refused");
        }
        var data = new byte[stream.Length];
        int read = 0;
        while (read < data.Length)
        {
            int n = stream.Read(data, read, data.Length - read);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return ParseCore(data.AsSpan(0, read), full, full, options ?? new InfReadOptions());
    }

    /// <summary>Parses INF bytes (any supported encoding); <paramref name="fileName"/> names them in messages.</summary>
    public static InfFile Parse(byte[] data, string fileName, InfReadOptions? options = null)
    {
        if (data is null)
        {
            throw new ArgumentNullException(nameof(data));
        }
        if (data.LongLength > InfLimits.MaxFileBytes)
        {
            throw new InfParseException(fileName, 0, $"file is {data.LongLength} bytes; INF files over {InfLimits.MaxFileBytes} bytes are refused");
        }
        return ParseCore(data, fileName, null, options ?? new InfReadOptions());
    }

    /// <summary>Parses INF text already decoded.</summary>
    public static InfFile ParseText(string text, string fileName, InfReadOptions? options = null)
    {
        if (text is null)
        {
            throw new ArgumentNullException(nameof(text));
        }
        if (text.Length > InfLimits.MaxFileBytes)
        {
            throw new InfParseException(fileName, 0, "text is too long for an INF file");
        }
        var inf = new InfFile(fileName, null, "text", options ?? new InfReadOptions());
        inf.Build(text);
        return inf;
    }

    private static InfFile ParseCore(ReadOnlySpan<byte> data, string fileName, string? path, InfReadOptions options)
    {
        string text = InfTextDecoder.Decode(data, out string encoding);
        var inf = new InfFile(fileName, path, encoding, options);
        inf.Build(text);
        return inf;
    }

    /// <summary>The section named <paramref name="name"/> (case-insensitive), or null.</summary>
    public InfSection? GetSection(string name) =>
        name is not null && _byName.TryGetValue(name, out InfSection? s) ? s : null;

    /// <summary>Whether a section named <paramref name="name"/> exists.</summary>
    public bool HasSection(string name) => GetSection(name) is not null;

    /// <summary>The value of a string key from [Strings.&lt;locale&gt;] or [Strings], or null.</summary>
    public string? GetString(string key) => _strings.TryGetValue(key, out var v) ? v.Value : null;

    internal void Warn(string message)
    {
        if (_warnings.Count < MaxWarnings && !_warnings.Contains(message))
        {
            _warnings.Add(message);
        }
    }

    private void Build(string text)
    {
        // Ctrl-Z ends the text (old editors appended it); a BOM left in decoded text is not content.
        int eof = text.IndexOf('\u001A');
        if (eof >= 0)
        {
            text = text.Substring(0, eof);
        }
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text.Substring(1);
        }
        if (Options.TemplateArchitecture is { Length: > 0 } arch)
        {
            text = text.Replace("$ARCH$", arch);
        }

        List<LexedLine> lexed = InfLexer.Lex(text, FileName);
        CollectStrings(lexed);

        InfSection? current = null;
        foreach (LexedLine line in lexed)
        {
            if (line.Section is not null)
            {
                if (!_byName.TryGetValue(line.Section, out current))
                {
                    if (_sections.Count >= InfLimits.MaxSections)
                    {
                        throw new InfParseException(FileName, line.LineNumber, $"more than {InfLimits.MaxSections} sections");
                    }
                    current = new InfSection(line.Section, line.LineNumber);
                    _byName.Add(line.Section, current);
                    _sections.Add(current);
                }
                continue;
            }
            if (current is null)
            {
                Warn($"line {line.LineNumber}: text before the first section is ignored");
                continue;
            }
            bool isStrings = IsStringsSection(current.Name);
            string? key = line.Key is null ? null : Substitute(line.Key, line.LineNumber);
            var values = new List<string>(line.Fields.Count);
            foreach (string f in line.Fields)
            {
                values.Add(isStrings ? f : Substitute(f, line.LineNumber));
            }
            string whole = isStrings ? line.WholeValue : Substitute(line.WholeValue, line.LineNumber);
            current.Add(new InfLine(line.LineNumber, key, values, whole, line.Key, line.WholeValue));
        }

        CheckSignature();
    }

    private void CheckSignature()
    {
        InfSection? version = GetSection("Version");
        string? signature = version?.GetValue("Signature");
        bool ok = signature is not null &&
            (signature.Equals("$Windows NT$", StringComparison.OrdinalIgnoreCase) ||
             signature.Equals("$Chicago$", StringComparison.OrdinalIgnoreCase) ||
             signature.Equals("$Windows 95$", StringComparison.OrdinalIgnoreCase));
        if (!ok)
        {
            string problem = version is null ? "no [Version] section" : $"[Version] Signature is '{signature}', not $Windows NT$ or $Chicago$";
            if (!Options.Tolerant)
            {
                throw new InfParseException(FileName, version?.LineNumber ?? 0, problem);
            }
            Warn(problem);
        }
    }

    private static bool IsStringsSection(string name) =>
        name.Equals("Strings", StringComparison.OrdinalIgnoreCase) ||
        name.StartsWith("Strings.", StringComparison.OrdinalIgnoreCase);

    private void CollectStrings(List<LexedLine> lexed)
    {
        // Neutral [Strings] first, then the requested locale on top: locale entries win, missing ones fall back.
        string? locale = Options.Locale is { Length: > 0 } l ? "Strings." + l : null;
        foreach (bool localePass in new[] { false, true })
        {
            if (localePass && locale is null)
            {
                break;
            }
            string wanted = localePass ? locale! : "Strings";
            bool inSection = false;
            foreach (LexedLine line in lexed)
            {
                if (line.Section is not null)
                {
                    inSection = line.Section.Equals(wanted, StringComparison.OrdinalIgnoreCase);
                    continue;
                }
                if (inSection && line.Key is { Length: > 0 } key)
                {
                    _strings[key] = (line.WholeValue, line.LineNumber);
                }
            }
        }
    }

    private string Substitute(string s, int lineNumber) => Substitute(s, lineNumber, 0, null);

    private string Substitute(string s, int lineNumber, int depth, List<string>? chain)
    {
        if (s.IndexOf('%') < 0)
        {
            return s;
        }
        var sb = new StringBuilder(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (c != '%')
            {
                sb.Append(c);
                i++;
                continue;
            }
            if (i + 1 < s.Length && s[i + 1] == '%')
            {
                sb.Append('%');
                i += 2;
                continue;
            }
            int close = s.IndexOf('%', i + 1);
            if (close < 0)
            {
                // A lone percent sign is text.
                sb.Append(s, i, s.Length - i);
                break;
            }
            string token = s.Substring(i + 1, close - i - 1);
            sb.Append(Resolve(token, lineNumber, depth, chain));
            i = close + 1;
        }
        return sb.ToString();
    }

    private string Resolve(string token, int lineNumber, int depth, List<string>? chain)
    {
        if (_strings.TryGetValue(token, out var entry))
        {
            if (entry.Value.IndexOf('%') < 0)
            {
                return entry.Value;
            }
            chain ??= new List<string>();
            if (chain.Exists(t => t.Equals(token, StringComparison.OrdinalIgnoreCase)) || depth >= InfLimits.MaxStringNesting)
            {
                throw new InfParseException(FileName, entry.Line, $"string %{token}% refers to itself through {string.Join(" -> ", chain)} -> {token}");
            }
            chain.Add(token);
            string expanded = Substitute(entry.Value, entry.Line, depth + 1, chain);
            chain.RemoveAt(chain.Count - 1);
            return expanded;
        }
        // %10%, %12% …: dirids, resolved where the field is a path (ServiceBinary, DestinationDirs).
        if (IsDigits(token))
        {
            return "%" + token + "%";
        }
        string problem = $"line {lineNumber}: string %{token}% is not defined in [Strings]";
        if (!Options.Tolerant)
        {
            throw new InfParseException(FileName, lineNumber, $"string %{token}% is not defined in [Strings]");
        }
        Warn(problem);
        return "%" + token + "%";
    }

    private static bool IsDigits(string s)
    {
        if (s.Length == 0)
        {
            return false;
        }
        foreach (char c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        return true;
    }
}
