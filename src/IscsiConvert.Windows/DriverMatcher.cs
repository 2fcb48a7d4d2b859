using System;
using System.Collections.Generic;
using System.Globalization;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>Ranks the INFs of an image (and supplied packages) for one device, with the reasons in words.</summary>
internal static class DriverMatcher
{
    // scannedOut: INFs read but left out unparsed because their bytes cannot list the device's IDs (InfIdScan);
    // they count as considered.
    public static DriverMatchReport Match(string deviceId, HardwareId id, IReadOnlyList<ImageInf> sources, TargetOs target, int scannedOut = 0)
    {
        IReadOnlyList<string> hardwareIds = id.GetHardwareIds();
        IReadOnlyList<string> compatibleIds = id.GetCompatibleIds();
        var readable = new List<InfFile>();
        var sourceOf = new Dictionary<InfFile, ImageInf>();
        var unreadable = new List<ImageInf>();
        foreach (ImageInf s in sources)
        {
            if (s.Inf is null)
            {
                unreadable.Add(s);
                continue;
            }
            readable.Add(s.Inf);
            sourceOf[s.Inf] = s;
        }

        IReadOnlyList<DriverMatch> ranked = DriverRanking.Rank(readable, hardwareIds, compatibleIds, target);
        var candidates = new List<DriverCandidate>(ranked.Count);
        var matchedInfs = new HashSet<InfFile>();
        for (int i = 0; i < ranked.Count; i++)
        {
            DriverMatch m = ranked[i];
            matchedInfs.Add(m.Inf);
            string? section = m.Inf.ChooseInstallSection(m.Model.InstallSection, target);
            string? service = section is null ? null : m.Inf.ResolveInstall(m.Model.InstallSection, target).FunctionDriver?.Name;
            candidates.Add(new DriverCandidate(sourceOf[m.Inf], m, section, service, Explain(m, i == 0 ? null : ranked[i - 1])));
        }

        var deviceIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (string s in hardwareIds)
        {
            deviceIds.Add(HardwareId.Normalize(s));
        }
        foreach (string s in compatibleIds)
        {
            deviceIds.Add(HardwareId.Normalize(s));
        }
        var excluded = new List<string>();
        foreach (InfFile inf in readable)
        {
            if (!matchedInfs.Contains(inf))
            {
                ExplainExclusion(sourceOf[inf], inf, deviceIds, target, excluded);
            }
        }
        return new DriverMatchReport(deviceId, hardwareIds, compatibleIds, target, candidates, excluded, unreadable, readable.Count + scannedOut);
    }

    private static string Explain(DriverMatch m, DriverMatch? previous)
    {
        int range = m.Rank & 0xF000;
        int deviceIndex = (m.Rank >> 8) & 0xF;
        int infIndex = m.Rank & 0xFF;
        string what = range switch
        {
            0x0000 => "the device's hardware ID",
            0x1000 => "the device's hardware ID",
            0x2000 => "the device's compatible ID",
            _ => "the device's compatible ID",
        };
        string inInf = infIndex == 0 ? "the INF's hardware ID" : $"the INF's compatible ID #{infIndex}";
        string text = string.Format(CultureInfo.InvariantCulture, "{0} {1} (#{2} in its list, most specific first) is {3}; rank 0x{4:X4}",
            what, m.MatchedId, deviceIndex + 1, inInf, m.Rank);
        text += m.DriverDate is DateTime d ? string.Format(CultureInfo.InvariantCulture, "; DriverVer {0:MM'/'dd'/'yyyy}", d) : "; no DriverVer date";
        text += m.DriverVersion is Version v ? "," + v.ToString() : string.Empty;
        if (previous is not null)
        {
            if (previous.Rank != m.Rank)
            {
                text += "; below the one above by identifier rank";
            }
            else if (!Nullable.Equals(previous.DriverDate, m.DriverDate))
            {
                text += "; same rank as the one above, older date";
            }
            else if (previous.DriverVersion != m.DriverVersion)
            {
                text += "; same rank and date as the one above, lower version";
            }
            else
            {
                text += "; ties with the one above (ordered by file name)";
            }
        }
        return text;
    }

    // An INF that lists one of the device's IDs only in models sections that are not the one chosen for the target:
    // one line per INF, naming those sections and what applies instead.
    private static void ExplainExclusion(ImageInf source, InfFile inf, HashSet<string> deviceIds, TargetOs target, List<string> excluded)
    {
        var listing = new List<string>();
        string? id = null;
        var chosen = new List<string>();
        foreach (InfManufacturer m in inf.GetManufacturers(target))
        {
            if (m.ChosenSection is not null && inf.HasSection(m.ChosenSection))
            {
                chosen.Add("[" + m.ChosenSection + "]");
            }
            var sections = new List<string> { m.ModelsSection };
            foreach (string d in m.Decorations)
            {
                sections.Add(m.ModelsSection + "." + d);
            }
            foreach (string name in sections)
            {
                InfSection? section = inf.GetSection(name);
                if (section is null || string.Equals(name, m.ChosenSection, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                if (FindListedId(section, deviceIds) is string found)
                {
                    id ??= found;
                    listing.Add("[" + section.Name + "]");
                }
            }
        }
        if (id is not null)
        {
            excluded.Add(string.Format(CultureInfo.InvariantCulture, "{0}: {1} {2} {3}, but {4}",
                source.Path, string.Join(", ", listing), listing.Count == 1 ? "lists" : "list", id,
                chosen.Count == 0
                    ? $"no models section of it applies to {Describe(target)}"
                    : $"on {Describe(target)} setup uses {string.Join(", ", chosen)}"));
        }
    }

    private static string? FindListedId(InfSection section, HashSet<string> deviceIds)
    {
        foreach (InfLine line in section.Lines)
        {
            for (int i = 1; i < line.Values.Count; i++)
            {
                if (line.Values[i].Length > 0 && deviceIds.Contains(HardwareId.Normalize(line.Values[i])))
                {
                    return line.Values[i];
                }
            }
        }
        return null;
    }

    internal static string Describe(TargetOs t) =>
        string.Format(CultureInfo.InvariantCulture, "NT{0} {1}.{2} build {3}{4}", t.Architecture, t.Major, t.Minor, t.Build, t.ProductType == 1 ? string.Empty : " (server)");
}
