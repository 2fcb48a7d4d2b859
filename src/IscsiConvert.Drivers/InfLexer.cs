using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace IscsiConvert.Drivers;

/// <summary>One logical line of INF text: a section header, or an entry with an optional key and comma-separated fields.</summary>
internal sealed class LexedLine
{
    public LexedLine(int lineNumber, string? section, string? key, List<string> fields, string wholeValue)
    {
        LineNumber = lineNumber;
        Section = section;
        Key = key;
        Fields = fields;
        WholeValue = wholeValue;
    }

    public int LineNumber { get; }

    /// <summary>The section name when this line is a header.</summary>
    public string? Section { get; }

    public string? Key { get; }

    /// <summary>The fields with quotes removed and outer white space trimmed; not yet string-substituted.</summary>
    public List<string> Fields { get; }

    /// <summary>Everything right of the '=' (or the whole line) with quotes removed, commas kept: the value of a [Strings] entry.</summary>
    public string WholeValue { get; }
}

/// <summary>
/// Splits INF text into logical lines: ';' comments outside quotes, '\' at the end of a line joins the next one,
/// quoted text keeps white space, commas and semicolons, and "" inside quotes is one quote.
/// </summary>
internal static class InfLexer
{
    public static List<LexedLine> Lex(string text, string fileName)
    {
        var lines = new List<LexedLine>();
        int pos = 0;
        int lineNumber = 0;
        var field = new StringBuilder();
        var whole = new StringBuilder();
        while (pos < text.Length)
        {
            lineNumber++;
            int startLine = lineNumber;
            if (lines.Count >= InfLimits.MaxLines)
            {
                throw new InfParseException(fileName, lineNumber, $"more than {InfLimits.MaxLines} lines");
            }
            var fields = new List<string>();
            string? key = null;
            field.Clear();
            whole.Clear();
            int fieldProtected = 0; // characters up to here were quoted and survive trimming
            int wholeProtected = 0;
            bool inQuote = false;
            bool any = false;
            int logicalLength = 0;
            string? header = null;
            bool firstChar = true;

            while (true)
            {
                // One physical line.
                int end = FindLineEnd(text, pos);
                bool continued = false;
                int i = pos;
                if (end - pos > InfLimits.MaxLogicalLineChars || logicalLength + (end - pos) > InfLimits.MaxLogicalLineChars)
                {
                    throw new InfParseException(fileName, lineNumber, $"line longer than {InfLimits.MaxLogicalLineChars} characters");
                }
                logicalLength += end - pos;
                for (; i < end; i++)
                {
                    char c = text[i];
                    CheckCharacter(c, fileName, lineNumber);
                    if (inQuote)
                    {
                        if (c == '"')
                        {
                            if (i + 1 < end && text[i + 1] == '"')
                            {
                                field.Append('"');
                                whole.Append('"');
                                i++;
                            }
                            else
                            {
                                inQuote = false;
                            }
                        }
                        else
                        {
                            field.Append(c);
                            whole.Append(c);
                        }
                        fieldProtected = field.Length;
                        wholeProtected = whole.Length;
                        continue;
                    }
                    if (firstChar && !IsSpace(c))
                    {
                        firstChar = false;
                        if (c == '[' && header is null && !any)
                        {
                            header = ReadHeader(text, i, end, fileName, lineNumber);
                            i = end;
                            break;
                        }
                    }
                    if (c == ';')
                    {
                        break;
                    }
                    if (c == '\\' && RestIsSpace(text, i + 1, end))
                    {
                        continued = true;
                        break;
                    }
                    if (c == '"')
                    {
                        inQuote = true;
                        any = true;
                        fieldProtected = field.Length;
                        wholeProtected = whole.Length;
                        continue;
                    }
                    if (c == '=' && key is null && fields.Count == 0)
                    {
                        key = TrimEnd(field, fieldProtected);
                        field.Clear();
                        whole.Clear();
                        fieldProtected = 0;
                        wholeProtected = 0;
                        any = true;
                        continue;
                    }
                    if (c == ',')
                    {
                        if (fields.Count >= InfLimits.MaxFieldsPerLine)
                        {
                            throw new InfParseException(fileName, lineNumber, $"more than {InfLimits.MaxFieldsPerLine} fields on one line");
                        }
                        fields.Add(TrimEnd(field, fieldProtected));
                        field.Clear();
                        fieldProtected = 0;
                        whole.Append(',');
                        any = true;
                        continue;
                    }
                    if (IsSpace(c) && field.Length == 0)
                    {
                        // Leading white space of a field is not part of it.
                        if (whole.Length > 0)
                        {
                            whole.Append(c);
                        }
                        continue;
                    }
                    field.Append(c);
                    whole.Append(c);
                    any = true;
                }
                if (inQuote)
                {
                    throw new InfParseException(fileName, lineNumber, "quoted string is not closed before the end of the line");
                }
                pos = SkipLineEnd(text, end);
                if (!continued || pos >= text.Length)
                {
                    break;
                }
                lineNumber++;
            }

            if (header is not null)
            {
                lines.Add(new LexedLine(startLine, header, null, new List<string>(), string.Empty));
                continue;
            }
            if (!any && field.Length == 0)
            {
                continue;
            }
            fields.Add(TrimEnd(field, fieldProtected));
            lines.Add(new LexedLine(startLine, null, key, fields, TrimEnd(whole, wholeProtected)));
        }
        return lines;
    }

    private static string ReadHeader(string text, int open, int end, string fileName, int lineNumber)
    {
        int close = text.IndexOf(']', open + 1, end - open - 1);
        if (close < 0)
        {
            throw new InfParseException(fileName, lineNumber, "section header has no closing ']'");
        }
        string name = text.Substring(open + 1, close - open - 1).Trim();
        if (name.Length >= 2 && name[0] == '"' && name[name.Length - 1] == '"')
        {
            name = name.Substring(1, name.Length - 2);
        }
        return name;
    }

    private static void CheckCharacter(char c, string fileName, int lineNumber)
    {
        if (c < 0x20 && c != '\t' && c != '\v' && c != '\f')
        {
            throw new InfParseException(
                fileName,
                lineNumber,
                string.Format(CultureInfo.InvariantCulture, "control character U+{0:X4}: this is not INF text (binary data?)", (int)c));
        }
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\v' or '\f';

    private static bool RestIsSpace(string text, int from, int end)
    {
        for (int i = from; i < end; i++)
        {
            if (!IsSpace(text[i]))
            {
                return false;
            }
        }
        return true;
    }

    private static string TrimEnd(StringBuilder sb, int protectedLength)
    {
        int len = sb.Length;
        while (len > protectedLength && IsSpace(sb[len - 1]))
        {
            len--;
        }
        return sb.ToString(0, len);
    }

    private static int FindLineEnd(string text, int pos)
    {
        int i = pos;
        while (i < text.Length && text[i] != '\n' && text[i] != '\r')
        {
            i++;
        }
        return i;
    }

    private static int SkipLineEnd(string text, int end)
    {
        if (end < text.Length && text[end] == '\r')
        {
            end++;
        }
        if (end < text.Length && text[end] == '\n')
        {
            end++;
        }
        return end;
    }
}
