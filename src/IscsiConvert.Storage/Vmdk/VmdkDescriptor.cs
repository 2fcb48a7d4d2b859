using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace IscsiConvert.Storage.Vmdk;

/// <summary>How an extent line lets the disk be accessed.</summary>
internal enum ExtentAccess
{
    ReadWrite,
    ReadOnly,
    NoAccess,
}

/// <summary>One extent line: <c>ACCESS SIZE TYPE ["FILE" [OFFSET]]</c>, sizes and offsets in sectors.</summary>
internal sealed record DescriptorExtent(ExtentAccess Access, long Sectors, string Type, string? FileName, long Offset, int LineNumber);

/// <summary>
/// The text descriptor of a VMDK: header keys (version, CID, parentCID, createType, parentFileNameHint), extent lines
/// and the disk database (<c>ddb.*</c>). Parsing is separate from I/O; the caller caps the text's size first.
/// </summary>
internal sealed class VmdkDescriptor
{
    /// <summary>The largest descriptor read: real ones are a few hundred bytes, embedded ones at most a few KiB.</summary>
    public const int MaxSize = 1 << 20;

    /// <summary>A parent CID of all ones means "no parent".</summary>
    public const uint NoParent = 0xFFFFFFFF;

    /// <summary>The largest size accepted for one extent line, in sectors (2^40 sectors = 512 TiB).</summary>
    private const long MaxExtentSectors = 1L << 40;

    private const int MaxExtents = 4096;

    public int Version { get; set; } = 1;

    public uint Cid { get; set; }

    public uint ParentCid { get; set; } = NoParent;

    public string CreateType { get; set; } = "monolithicSparse";

    public string? ParentFileNameHint { get; set; }

    public List<DescriptorExtent> Extents { get; } = new();

    /// <summary>The disk database entries in file order, keys as written (e.g. "ddb.adapterType").</summary>
    public List<KeyValuePair<string, string>> DiskDatabase { get; } = new();

    public string? AdapterType => Ddb("ddb.adapterType");

    public string? Uuid => Ddb("ddb.uuid.image") ?? Ddb("ddb.uuid");

    /// <summary>The total size of the extents in sectors.</summary>
    public long TotalSectors
    {
        get
        {
            long total = 0;
            foreach (DescriptorExtent e in Extents)
            {
                total += e.Sectors;
            }
            return total;
        }
    }

    public string? Ddb(string key)
    {
        foreach (KeyValuePair<string, string> kv in DiskDatabase)
        {
            if (string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return kv.Value;
            }
        }
        return null;
    }

    /// <summary>Parses descriptor text; <paramref name="baseOffset"/> is where the text starts in its file (for messages).</summary>
    public static VmdkDescriptor Parse(string text, string? path, long baseOffset)
    {
        var d = new VmdkDescriptor();
        bool sawCid = false;
        bool sawCreateType = false;
        int lineNumber = 0;
        int pos = 0;
        long lineOffset = baseOffset;
        while (pos < text.Length)
        {
            int end = text.IndexOf('\n', pos);
            if (end < 0)
            {
                end = text.Length;
            }
            lineNumber++;
            string raw = text.Substring(pos, end - pos);
            string line = raw.Trim();
            long thisLine = lineOffset;
            lineOffset += Encoding.UTF8.GetByteCount(raw) + 1;
            pos = end + 1;
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            if (TryParseAccess(line, out ExtentAccess access, out int accessLength))
            {
                if (d.Extents.Count >= MaxExtents)
                {
                    throw Malformed(path, lineNumber, thisLine, $"more than {MaxExtents} extents");
                }
                d.Extents.Add(ParseExtent(line, access, accessLength, path, lineNumber, thisLine));
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq <= 0)
            {
                throw Malformed(path, lineNumber, thisLine, $"'{Shorten(line)}' is neither a key=value pair nor an extent line");
            }
            string key = line.Substring(0, eq).Trim();
            string value = Unquote(line.Substring(eq + 1).Trim());
            if (key.Length == 0 || key.IndexOf(' ') >= 0)
            {
                throw Malformed(path, lineNumber, thisLine, $"'{Shorten(key)}' is not a valid key");
            }
            switch (key.ToLowerInvariant())
            {
                case "version":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1 || version > 3)
                    {
                        throw Malformed(path, lineNumber, thisLine, $"version '{Shorten(value)}' is not 1, 2 or 3");
                    }
                    d.Version = version;
                    break;
                case "cid":
                    d.Cid = ParseCid(value, path, lineNumber, thisLine);
                    sawCid = true;
                    break;
                case "parentcid":
                    d.ParentCid = ParseCid(value, path, lineNumber, thisLine);
                    break;
                case "createtype":
                    d.CreateType = value;
                    sawCreateType = true;
                    break;
                case "parentfilenamehint":
                    d.ParentFileNameHint = value;
                    break;
                default:
                    d.DiskDatabase.Add(new KeyValuePair<string, string>(key, value));
                    break;
            }
        }
        if (!sawCreateType)
        {
            throw new CorruptDataException("VMDK", "descriptor", baseOffset, "the createType key is missing", path);
        }
        if (!sawCid)
        {
            throw new CorruptDataException("VMDK", "descriptor", baseOffset, "the CID key is missing", path);
        }
        if (d.Extents.Count == 0)
        {
            throw new CorruptDataException("VMDK", "descriptor", baseOffset, "it lists no extents", path);
        }
        return d;
    }

    /// <summary>The descriptor as text, in the layout VMware and qemu write.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        sb.Append("# Disk DescriptorFile\n");
        sb.Append("version=").Append(Version.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("CID=").Append(Cid.ToString("x8", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("parentCID=").Append(ParentCid.ToString("x8", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("createType=\"").Append(CreateType).Append("\"\n");
        if (ParentFileNameHint is not null)
        {
            sb.Append("parentFileNameHint=\"").Append(ParentFileNameHint).Append("\"\n");
        }
        sb.Append("\n# Extent description\n");
        foreach (DescriptorExtent e in Extents)
        {
            sb.Append(e.Access switch
            {
                ExtentAccess.ReadOnly => "RDONLY",
                ExtentAccess.NoAccess => "NOACCESS",
                _ => "RW",
            });
            sb.Append(' ').Append(e.Sectors.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(e.Type);
            if (e.FileName is not null)
            {
                sb.Append(" \"").Append(e.FileName).Append('"');
                if (e.Type == "FLAT" || e.Type == "VMFS")
                {
                    sb.Append(' ').Append(e.Offset.ToString(CultureInfo.InvariantCulture));
                }
            }
            sb.Append('\n');
        }
        sb.Append("\n# The Disk Data Base\n#DDB\n\n");
        foreach (KeyValuePair<string, string> kv in DiskDatabase)
        {
            sb.Append(kv.Key).Append(" = \"").Append(kv.Value).Append("\"\n");
        }
        return sb.ToString();
    }

    private static bool TryParseAccess(string line, out ExtentAccess access, out int length)
    {
        foreach ((string word, ExtentAccess value) in new[] { ("RW ", ExtentAccess.ReadWrite), ("RDONLY ", ExtentAccess.ReadOnly), ("NOACCESS ", ExtentAccess.NoAccess) })
        {
            if (line.StartsWith(word, StringComparison.Ordinal))
            {
                access = value;
                length = word.Length;
                return true;
            }
        }
        access = ExtentAccess.NoAccess;
        length = 0;
        return false;
    }

    private static DescriptorExtent ParseExtent(string line, ExtentAccess access, int accessLength, string? path, int lineNumber, long lineOffset)
    {
        string rest = line.Substring(accessLength).TrimStart();
        string sizeText = NextToken(ref rest);
        if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out long sectors) || sectors <= 0 || sectors > MaxExtentSectors)
        {
            throw Malformed(path, lineNumber, lineOffset, $"extent size '{Shorten(sizeText)}' is not a sector count between 1 and {MaxExtentSectors}");
        }
        string type = NextToken(ref rest).ToUpperInvariant();
        if (type.Length == 0)
        {
            throw Malformed(path, lineNumber, lineOffset, "the extent line has no type");
        }
        string? fileName = null;
        long offset = 0;
        if (rest.Length > 0)
        {
            if (rest[0] == '"')
            {
                int close = rest.IndexOf('"', 1);
                if (close < 0)
                {
                    throw Malformed(path, lineNumber, lineOffset, "the extent file name has no closing quote");
                }
                fileName = rest.Substring(1, close - 1);
                rest = rest.Substring(close + 1).TrimStart();
            }
            else
            {
                fileName = NextToken(ref rest);
            }
            if (rest.Length > 0)
            {
                string offsetText = NextToken(ref rest);
                if (!long.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out offset) || offset > MaxExtentSectors)
                {
                    throw Malformed(path, lineNumber, lineOffset, $"extent offset '{Shorten(offsetText)}' is not a sector number");
                }
            }
            if (rest.Length > 0 && rest[0] != '#')
            {
                throw Malformed(path, lineNumber, lineOffset, $"unexpected text '{Shorten(rest)}' after the extent offset");
            }
        }
        if (type != "ZERO" && string.IsNullOrEmpty(fileName))
        {
            throw Malformed(path, lineNumber, lineOffset, $"a {type} extent needs a file name");
        }
        return new DescriptorExtent(access, sectors, type, fileName, offset, lineNumber);
    }

    private static string NextToken(ref string rest)
    {
        int space = rest.IndexOfAny(new[] { ' ', '\t' });
        string token = space < 0 ? rest : rest.Substring(0, space);
        rest = space < 0 ? string.Empty : rest.Substring(space).TrimStart();
        return token;
    }

    private static uint ParseCid(string value, string? path, int lineNumber, long lineOffset)
    {
        if (value.Length == 0 || value.Length > 8 || !uint.TryParse(value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint cid))
        {
            throw Malformed(path, lineNumber, lineOffset, $"'{Shorten(value)}' is not an 8-digit hexadecimal content ID");
        }
        return cid;
    }

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '"' && value[value.Length - 1] == '"' ? value.Substring(1, value.Length - 2) : value;

    private static string Shorten(string s) => s.Length <= 80 ? s : s.Substring(0, 80) + "…";

    private static CorruptDataException Malformed(string? path, int lineNumber, long offset, string problem) =>
        new("VMDK", $"descriptor line {lineNumber}", offset, problem, path);
}
