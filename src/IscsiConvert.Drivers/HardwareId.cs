using System;
using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>
/// Device identifiers as Plug and Play reports them. A PCI device with vendor v, device d, subsystem s, revision r and
/// class code c reports, most specific first, the hardware IDs PCI\VEN_v&amp;DEV_d&amp;SUBSYS_s&amp;REV_r,
/// PCI\VEN_v&amp;DEV_d&amp;SUBSYS_s, PCI\VEN_v&amp;DEV_d&amp;CC_ccsspp, PCI\VEN_v&amp;DEV_d&amp;CC_ccss, and the compatible IDs
/// PCI\VEN_v&amp;DEV_d&amp;REV_r, PCI\VEN_v&amp;DEV_d, PCI\VEN_v&amp;CC_ccsspp, PCI\VEN_v&amp;CC_ccss, PCI\VEN_v, PCI\CC_ccsspp, PCI\CC_ccss.
/// </summary>
public sealed class HardwareId
{
    private HardwareId(string bus, string? vendor, string? device, string? subsystem, string? revision, string? classCode, string text)
    {
        Bus = bus;
        Vendor = vendor;
        Device = device;
        Subsystem = subsystem;
        Revision = revision;
        ClassCode = classCode;
        Text = text;
    }

    /// <summary>The enumerator (PCI, USB, ACPI, ROOT …), upper case.</summary>
    public string Bus { get; }

    /// <summary>PCI vendor (4 hex digits), or null.</summary>
    public string? Vendor { get; }

    /// <summary>PCI device (4 hex digits), or null.</summary>
    public string? Device { get; }

    /// <summary>PCI subsystem (8 hex digits: subsystem then subsystem vendor), or null.</summary>
    public string? Subsystem { get; }

    /// <summary>PCI revision (2 hex digits), or null.</summary>
    public string? Revision { get; }

    /// <summary>PCI class code (2, 4 or 6 hex digits: class, subclass, programming interface), or null.</summary>
    public string? ClassCode { get; }

    /// <summary>The normalised ID.</summary>
    public string Text { get; }

    /// <summary>Upper case, trimmed, '/' as '\': IDs compare case-insensitively.</summary>
    public static string Normalize(string id)
    {
        if (id is null)
        {
            throw new ArgumentNullException(nameof(id));
        }
        return id.Trim().Replace('/', '\\').ToUpperInvariant();
    }

    /// <summary>Parses an ID; PCI IDs are split into their fields (which must be hex of the right length), others are kept whole.</summary>
    public static HardwareId Parse(string id)
    {
        string text = Normalize(id);
        int slash = text.IndexOf('\\');
        if (slash <= 0)
        {
            return new HardwareId(text, null, null, null, null, null, text);
        }
        string bus = text.Substring(0, slash);
        if (bus != "PCI")
        {
            return new HardwareId(bus, null, null, null, null, null, text);
        }
        string? ven = null, dev = null, subsys = null, rev = null, cc = null;
        foreach (string part in text.Substring(slash + 1).Split('&'))
        {
            if (Field(part, "VEN_", 4, 4) is string v) { ven = v; }
            else if (Field(part, "DEV_", 4, 4) is string d) { dev = d; }
            else if (Field(part, "SUBSYS_", 8, 8) is string s) { subsys = s; }
            else if (Field(part, "REV_", 2, 2) is string r) { rev = r; }
            else if (Field(part, "CC_", 2, 6) is string c) { cc = c; }
            else
            {
                throw new ArgumentException($"'{id}': '{part}' is not a PCI ID field (VEN_xxxx, DEV_xxxx, SUBSYS_xxxxxxxx, REV_xx, CC_xx[xx[xx]])", nameof(id));
            }
        }
        return new HardwareId(bus, ven, dev, subsys, rev, cc, text);
    }

    private static string? Field(string part, string prefix, int minLength, int maxLength)
    {
        if (!part.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }
        string value = part.Substring(prefix.Length);
        if (value.Length < minLength || value.Length > maxLength || value.Length % 2 != 0)
        {
            return null;
        }
        foreach (char c in value)
        {
            if (!Uri.IsHexDigit(c))
            {
                return null;
            }
        }
        return value;
    }

    /// <summary>The hardware IDs a device with this ID reports, most specific first.</summary>
    public IReadOnlyList<string> GetHardwareIds()
    {
        if (Bus != "PCI" || Vendor is null || Device is null)
        {
            return new[] { Text };
        }
        string vd = $"PCI\\VEN_{Vendor}&DEV_{Device}";
        var list = new List<string>();
        if (Subsystem is not null)
        {
            if (Revision is not null)
            {
                list.Add($"{vd}&SUBSYS_{Subsystem}&REV_{Revision}");
            }
            list.Add($"{vd}&SUBSYS_{Subsystem}");
        }
        if (ClassCode is { Length: 6 })
        {
            list.Add($"{vd}&CC_{ClassCode}");
        }
        if (ClassCode is { Length: >= 4 })
        {
            list.Add($"{vd}&CC_{ClassCode.Substring(0, 4)}");
        }
        if (list.Count == 0)
        {
            // Only vendor and device (and perhaps revision) given: the most specific ID we know is the hardware ID.
            if (Revision is not null)
            {
                list.Add($"{vd}&REV_{Revision}");
            }
            list.Add(vd);
        }
        return list;
    }

    /// <summary>The compatible IDs a device with this ID reports, most specific first.</summary>
    public IReadOnlyList<string> GetCompatibleIds()
    {
        if (Bus != "PCI" || Vendor is null || Device is null)
        {
            return Array.Empty<string>();
        }
        IReadOnlyList<string> hardware = GetHardwareIds();
        string vd = $"PCI\\VEN_{Vendor}&DEV_{Device}";
        var list = new List<string>();
        void Add(string s)
        {
            if (!Contains(hardware, s) && !Contains(list, s))
            {
                list.Add(s);
            }
        }
        if (Revision is not null)
        {
            Add($"{vd}&REV_{Revision}");
        }
        Add(vd);
        if (ClassCode is { Length: 6 })
        {
            Add($"PCI\\VEN_{Vendor}&CC_{ClassCode}");
        }
        if (ClassCode is { Length: >= 4 })
        {
            Add($"PCI\\VEN_{Vendor}&CC_{ClassCode.Substring(0, 4)}");
        }
        Add($"PCI\\VEN_{Vendor}");
        if (ClassCode is { Length: 6 })
        {
            Add($"PCI\\CC_{ClassCode}");
        }
        if (ClassCode is { Length: >= 4 })
        {
            Add($"PCI\\CC_{ClassCode.Substring(0, 4)}");
        }
        return list;
    }

    private static bool Contains(IReadOnlyList<string> list, string s)
    {
        foreach (string x in list)
        {
            if (x == s)
            {
                return true;
            }
        }
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
