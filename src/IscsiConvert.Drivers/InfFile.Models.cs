using System;
using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>[Manufacturer] and models sections: which devices the INF serves on a given Windows.</summary>
public sealed partial class InfFile
{
    /// <summary>
    /// The [Manufacturer] entries, each with the models section setup would use on <paramref name="target"/>: the
    /// most specific TargetOSVersion decoration that applies (highest version and build not above the target's, an
    /// architecture-specific one before a generic one); the undecorated section only on x86, since x64 and ARM
    /// setup ignores undecorated models sections.
    /// </summary>
    public IReadOnlyList<InfManufacturer> GetManufacturers(TargetOs target)
    {
        if (target is null)
        {
            throw new ArgumentNullException(nameof(target));
        }
        var result = new List<InfManufacturer>();
        InfSection? manufacturer = GetSection("Manufacturer");
        if (manufacturer is null)
        {
            return result;
        }
        foreach (InfLine line in manufacturer.Lines)
        {
            string name;
            string rawName;
            string models;
            var decorations = new List<string>();
            if (line.Key is null)
            {
                name = line[0];
                rawName = line[0];
                models = line[0];
            }
            else
            {
                name = line.Key;
                rawName = line.RawKey ?? line.Key;
                models = line[0];
                for (int i = 1; i < line.Values.Count; i++)
                {
                    if (line.Values[i].Length > 0)
                    {
                        decorations.Add(line.Values[i]);
                    }
                }
            }
            if (models.Length == 0)
            {
                continue;
            }
            string? chosen = ChooseModelsSection(models, decorations, target);
            var list = new List<InfModel>();
            if (chosen is not null)
            {
                InfSection? section = GetSection(chosen);
                if (section is null)
                {
                    Warn($"models section [{chosen}] named by [Manufacturer] line {line.LineNumber} does not exist");
                }
                else
                {
                    ReadModels(name, rawName, section, list);
                }
            }
            result.Add(new InfManufacturer(name, models, decorations, chosen, list));
        }
        return result;
    }

    /// <summary>Every model of every manufacturer for <paramref name="target"/>.</summary>
    public IReadOnlyList<InfModel> GetModels(TargetOs target)
    {
        var list = new List<InfModel>();
        foreach (InfManufacturer m in GetManufacturers(target))
        {
            list.AddRange(m.Models);
        }
        return list;
    }

    internal static string? ChooseModelsSection(string models, IReadOnlyList<string> decorations, TargetOs target)
    {
        TargetOsDecoration? best = null;
        foreach (string d in decorations)
        {
            TargetOsDecoration dec = TargetOsDecoration.Parse(d);
            if (dec.Matches(target) && (best is null || TargetOsDecoration.CompareSpecificity(dec, best) > 0))
            {
                best = dec;
            }
        }
        if (best is not null)
        {
            return models + "." + best.Text;
        }
        return target.Architecture == "x86" ? models : null;
    }

    private static void ReadModels(string manufacturer, string rawManufacturer, InfSection section, List<InfModel> list)
    {
        foreach (InfLine line in section.Lines)
        {
            // description = install-section, hw-id[, compatible-id, …]
            if (line.Key is null || line.Values.Count < 2 || line[0].Length == 0)
            {
                continue;
            }
            var compatible = new List<string>();
            for (int i = 2; i < line.Values.Count; i++)
            {
                if (line.Values[i].Length > 0)
                {
                    compatible.Add(line.Values[i]);
                }
            }
            list.Add(new InfModel(manufacturer, section.Name, line.Key, line[0], line[1], compatible, line.LineNumber, rawManufacturer, line.RawKey ?? line.Key));
        }
    }

    /// <summary>
    /// The install section setup uses for <paramref name="installSection"/> on <paramref name="target"/>: the
    /// .NT&lt;arch&gt; variant, then .NT, then the plain name; null when none exists.
    /// </summary>
    public string? ChooseInstallSection(string installSection, TargetOs target)
    {
        if (installSection is null || target is null)
        {
            throw new ArgumentNullException(installSection is null ? nameof(installSection) : nameof(target));
        }
        foreach (string name in new[] { installSection + ".NT" + target.Architecture, installSection + ".NT", installSection })
        {
            InfSection? s = GetSection(name);
            if (s is not null)
            {
                return s.Name;
            }
        }
        return null;
    }

    /// <summary>Everything installing <paramref name="installSection"/> on <paramref name="target"/> would do: files, services, registry.</summary>
    public InfInstall ResolveInstall(string installSection, TargetOs target) => InfInstall.Resolve(this, installSection, target);
}
