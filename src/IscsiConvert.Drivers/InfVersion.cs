using System;
using System.Collections.Generic;
using System.Globalization;

namespace IscsiConvert.Drivers;

/// <summary>The [Version] section: what kind of driver this is, who made it, its date and version, and its catalog.</summary>
public sealed class InfVersion
{
    private readonly Dictionary<string, string> _catalogs;

    private InfVersion(string? signature, string? @class, string? classGuid, string? provider, DateTime? driverDate, Version? driverVersion, Dictionary<string, string> catalogs)
    {
        Signature = signature;
        Class = @class;
        ClassGuid = classGuid;
        Provider = provider;
        DriverDate = driverDate;
        DriverVersion = driverVersion;
        _catalogs = catalogs;
    }

    /// <summary>$Windows NT$ or $Chicago$ (null when missing).</summary>
    public string? Signature { get; }

    /// <summary>The device setup class name, such as SCSIAdapter or Net.</summary>
    public string? Class { get; }

    /// <summary>The device setup class GUID with braces, as written.</summary>
    public string? ClassGuid { get; }

    /// <summary>The provider, after string substitution.</summary>
    public string? Provider { get; }

    /// <summary>The DriverVer date (month/day/year), or null when missing or not a date.</summary>
    public DateTime? DriverDate { get; }

    /// <summary>The DriverVer version (w.x.y.z), or null when missing or not a version.</summary>
    public Version? DriverVersion { get; }

    /// <summary>The CatalogFile entries by decoration ("" for plain CatalogFile, "NTamd64" for CatalogFile.NTamd64 …).</summary>
    public IReadOnlyDictionary<string, string> CatalogFiles => _catalogs;

    /// <summary>The catalog that applies on <paramref name="target"/>: CatalogFile.NT&lt;arch&gt;, then CatalogFile.NT, then CatalogFile.</summary>
    public string? GetCatalogFile(TargetOs target)
    {
        if (target is null)
        {
            throw new ArgumentNullException(nameof(target));
        }
        foreach (string decoration in new[] { "NT" + target.Architecture, "NT", string.Empty })
        {
            if (_catalogs.TryGetValue(decoration, out string? cat))
            {
                return cat;
            }
        }
        return null;
    }

    internal static InfVersion Read(InfFile inf)
    {
        InfSection? s = inf.GetSection("Version");
        var catalogs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        DateTime? date = null;
        Version? version = null;
        if (s is null)
        {
            return new InfVersion(null, null, null, null, null, null, catalogs);
        }
        foreach (InfLine line in s.Lines)
        {
            if (line.Key is null)
            {
                continue;
            }
            if (line.Key.Equals("CatalogFile", StringComparison.OrdinalIgnoreCase))
            {
                catalogs[string.Empty] = line[0];
            }
            else if (line.Key.StartsWith("CatalogFile.", StringComparison.OrdinalIgnoreCase))
            {
                catalogs[line.Key.Substring("CatalogFile.".Length)] = line[0];
            }
            else if (line.KeyIs("DriverVer"))
            {
                date = ParseDate(line[0]);
                version = ParseVersion(line[1]);
                if (date is null && line[0].Length > 0)
                {
                    inf.Warn($"line {line.LineNumber}: DriverVer date '{line[0]}' is not mm/dd/yyyy");
                }
            }
        }
        return new InfVersion(s.GetValue("Signature"), s.GetValue("Class"), s.GetValue("ClassGuid"), s.GetValue("Provider"), date, version, catalogs);
    }

    internal static DateTime? ParseDate(string text)
    {
        // DriverVer dates are mm/dd/yyyy; setup also accepts '-' and one-digit month or day.
        string[] parts = text.Trim().Split('/', '-');
        if (parts.Length != 3 ||
            !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int month) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int day) ||
            !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int year) ||
            month is < 1 or > 12 || year is < 1 or > 9999 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return null;
        }
        return new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Unspecified);
    }

    internal static Version? ParseVersion(string text)
    {
        string[] parts = text.Trim().Split('.');
        if (parts.Length is < 1 or > 4 || parts[0].Length == 0)
        {
            return null;
        }
        var n = new int[4];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out n[i]) || n[i] > 65535)
            {
                return null;
            }
        }
        return new Version(n[0], n[1], n[2], n[3]);
    }
}
