using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using IscsiConvert.Drivers;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert inf show`: what an INF installs on a given Windows.</summary>
internal static class InfCommands
{
    public static Command Build(CliConsole console)
    {
        var inf = new Command("inf", "Read Windows driver INF files (and INX templates) the way Windows setup does.");
        inf.Subcommands.Add(BuildShow(console));
        return inf;
    }

    private static Command BuildShow(CliConsole console)
    {
        var file = new Argument<string>("INF") { Description = "The INF (or INX template) file." };
        var os = new Option<string>("--os")
        {
            Description = "The target Windows: win7-x64, win7-x86, win8-x64, win81-x64, win10-x64 (1809), win10-x86, win10-arm64, win11-x64, ws2012r2, ws2016, ws2019, ws2022, ws2025; add @BUILD to set the build (win10-x64@19045).",
            DefaultValueFactory = _ => "win10-x64",
        };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var locale = new Option<string?>("--locale") { Description = "Prefer [Strings.LLLL] for this LANGID (four hex digits, such as 0409)." };
        var includeDir = new Option<string?>("--include-dir") { Description = "Folder to look for INFs named by Include= (such as a mounted \\Windows\\INF)." };
        var command = new Command("show", "Show the models, hardware IDs, chosen install sections, services, files and registry changes of an INF for a target Windows. $ARCH$ in templates is replaced with the target's architecture, as stampinf does.")
        {
            file, os, json, locale, includeDir,
        };
        command.SetAction(parse =>
        {
            TargetOs target = OptionValues.TargetOs(parse.GetValue(os)!);
            if (parse.GetValue(locale) is string lang && !System.Text.RegularExpressions.Regex.IsMatch(lang, "^[0-9A-Fa-f]{4}$"))
            {
                throw new UsageException($"--locale: '{lang}' is not a LANGID: four hex digits, such as 0409 (English, US) or 0407 (German).");
            }
            if (parse.GetValue(includeDir) is string folder && !Directory.Exists(folder))
            {
                throw new DirectoryNotFoundException($"--include-dir: the folder '{Path.GetFullPath(folder)}' does not exist.");
            }
            InfFile parsed = InfFile.Load(parse.GetValue(file)!, new InfReadOptions
            {
                Tolerant = true,
                TemplateArchitecture = target.Architecture,
                Locale = parse.GetValue(locale),
                IncludeSearchFolder = parse.GetValue(includeDir),
            });
            InfReport report = InfReport.Build(parsed, target);
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(CliJson.Serialize(report, CliJson.OmitNullsOptions));
            }
            else
            {
                report.WriteText(console.Output, console.Verbosity <= Microsoft.Extensions.Logging.LogLevel.Warning ? console.Error : TextWriter.Null);
            }
            return 0;
        });
        return command;
    }
}

/// <summary>The `inf show` report: plain data so that text and JSON show the same facts.</summary>
internal sealed class InfReport
{
    public required string File { get; init; }

    public required string Encoding { get; init; }

    public required string Target { get; init; }

    public string? Class { get; init; }

    public string? ClassGuid { get; init; }

    public string? Provider { get; init; }

    public string? DriverDate { get; init; }

    public string? DriverVersion { get; init; }

    public string? CatalogFile { get; init; }

    public required List<ManufacturerReport> Manufacturers { get; init; }

    public required List<InstallReport> Installs { get; init; }

    public required List<string> Warnings { get; init; }

    public static InfReport Build(InfFile inf, TargetOs target)
    {
        var manufacturers = new List<ManufacturerReport>();
        var installs = new List<InstallReport>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var warnings = new List<string>();
        foreach (InfManufacturer m in inf.GetManufacturers(target))
        {
            manufacturers.Add(new ManufacturerReport
            {
                Name = m.Name,
                Decorations = m.Decorations.ToList(),
                ModelsSection = m.ChosenSection,
                Models = m.Models.Select(x => new ModelReport
                {
                    Description = x.Description,
                    InstallSection = x.InstallSection,
                    HardwareId = x.HardwareId,
                    CompatibleIds = x.CompatibleIds.ToList(),
                }).ToList(),
            });
            foreach (InfModel model in m.Models)
            {
                if (seen.Add(model.InstallSection))
                {
                    InfInstall install = inf.ResolveInstall(model.InstallSection, target);
                    installs.Add(InstallReport.From(install));
                    warnings.AddRange(install.Warnings.Where(w => !warnings.Contains(w)));
                }
            }
        }
        warnings.InsertRange(0, inf.Warnings);
        return new InfReport
        {
            File = inf.FileName,
            Encoding = inf.Encoding,
            Target = target.ToString(),
            Class = inf.Version.Class,
            ClassGuid = inf.Version.ClassGuid,
            Provider = inf.Version.Provider,
            DriverDate = inf.Version.DriverDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            DriverVersion = inf.Version.DriverVersion?.ToString(),
            CatalogFile = inf.Version.GetCatalogFile(target),
            Manufacturers = manufacturers,
            Installs = installs,
            Warnings = warnings,
        };
    }

    /// <summary>The report on <paramref name="w"/>; its warnings on <paramref name="warnings"/> (standard error, or nothing with --quiet).</summary>
    public void WriteText(TextWriter w, TextWriter warnings)
    {
        w.WriteLine($"INF:        {File} ({Encoding})");
        w.WriteLine($"Target:     {Target}");
        w.WriteLine($"Class:      {Class} {ClassGuid}");
        w.WriteLine($"Provider:   {Provider}");
        w.WriteLine($"DriverVer:  {DriverDate ?? "?"}, {DriverVersion ?? "?"}");
        w.WriteLine($"Catalog:    {CatalogFile ?? "(none)"}");
        foreach (ManufacturerReport m in Manufacturers)
        {
            w.WriteLine();
            w.WriteLine($"Manufacturer {m.Name}: models section {(m.ModelsSection is null ? "(none for this target)" : "[" + m.ModelsSection + "]")}" +
                        (m.Decorations.Count > 0 ? $" from {string.Join(", ", m.Decorations)}" : string.Empty));
            foreach (ModelReport model in m.Models)
            {
                string compat = model.CompatibleIds.Count > 0 ? $" (compatible: {string.Join(", ", model.CompatibleIds)})" : string.Empty;
                w.WriteLine($"  {model.HardwareId}{compat} -> [{model.InstallSection}] \"{model.Description}\"");
            }
        }
        foreach (InstallReport i in Installs)
        {
            w.WriteLine();
            w.WriteLine($"Install [{i.InstallSection}] uses [{i.ChosenSection ?? "(missing)"}]");
            foreach (ServiceReport s in i.Services)
            {
                w.WriteLine($"  service {s.Name}{(s.FunctionDriver ? " (function driver)" : string.Empty)}: start {StartName(s.StartType)}, type {s.ServiceType?.ToString(CultureInfo.InvariantCulture) ?? "?"}, " +
                            $"error control {s.ErrorControl?.ToString(CultureInfo.InvariantCulture) ?? "?"}, group {s.LoadOrderGroup ?? "(none)"}");
                w.WriteLine($"    binary {s.BinaryPath ?? s.Binary ?? "(none)"}");
                foreach (string r in s.Registry)
                {
                    w.WriteLine($"    reg {r}");
                }
            }
            foreach (FileReport f in i.Files)
            {
                string source = f.Source == f.Name ? string.Empty : $" (from {f.Source})";
                w.WriteLine($"  file {f.Name}{source} -> {f.Destination ?? "(unknown dirid " + (f.DirId?.ToString(CultureInfo.InvariantCulture) ?? "?") + ")"}");
            }
            foreach (string r in i.Registry)
            {
                w.WriteLine($"  reg {r}");
            }
            foreach (string r in i.HardwareRegistry)
            {
                w.WriteLine($"  hw reg {r}");
            }
            if (i.Includes.Count > 0)
            {
                w.WriteLine($"  include {string.Join(", ", i.Includes)}; needs {string.Join(", ", i.Needs)}");
            }
        }
        foreach (string warning in Warnings)
        {
            warnings.WriteLine($"warning: {warning}");
        }
    }

    private static string StartName(int? start) => start switch
    {
        0 => "boot (0)",
        1 => "system (1)",
        2 => "auto (2)",
        3 => "demand (3)",
        4 => "disabled (4)",
        null => "?",
        _ => start.Value.ToString(CultureInfo.InvariantCulture),
    };
}

internal sealed class ManufacturerReport
{
    public required string Name { get; init; }

    public required List<string> Decorations { get; init; }

    public string? ModelsSection { get; init; }

    public required List<ModelReport> Models { get; init; }
}

internal sealed class ModelReport
{
    public required string Description { get; init; }

    public required string InstallSection { get; init; }

    public required string HardwareId { get; init; }

    public required List<string> CompatibleIds { get; init; }
}

internal sealed class InstallReport
{
    public required string InstallSection { get; init; }

    public string? ChosenSection { get; init; }

    public required List<ServiceReport> Services { get; init; }

    public required List<FileReport> Files { get; init; }

    public required List<string> Registry { get; init; }

    public required List<string> HardwareRegistry { get; init; }

    public required List<string> Includes { get; init; }

    public required List<string> Needs { get; init; }

    public required List<string> CoInstallers { get; init; }

    public static InstallReport From(InfInstall i) => new()
    {
        InstallSection = i.InstallSection,
        ChosenSection = i.ChosenSection,
        Services = i.Services.Select(s => new ServiceReport
        {
            Name = s.Name,
            Flags = s.Flags,
            FunctionDriver = s.IsFunctionDriver,
            DisplayName = s.DisplayName,
            ServiceType = s.ServiceType,
            StartType = s.StartType,
            ErrorControl = s.ErrorControl,
            Binary = s.ServiceBinary,
            BinaryPath = s.ServiceBinaryPath,
            LoadOrderGroup = s.LoadOrderGroup,
            Dependencies = s.Dependencies.ToList(),
            Registry = s.Registry.Select(r => r.ToString()).ToList(),
        }).ToList(),
        Files = i.Files.Select(f => new FileReport
        {
            Name = f.FileName,
            Source = f.SourceName,
            SourcePath = f.SourcePath,
            DirId = f.DirId,
            Destination = f.DestinationPath,
        }).ToList(),
        Registry = i.Registry.Select(r => r.ToString()).ToList(),
        HardwareRegistry = i.HardwareRegistry.Select(r => r.ToString()).ToList(),
        Includes = i.Includes.ToList(),
        Needs = i.Needs.ToList(),
        CoInstallers = i.CoInstallers.ToList(),
    };
}

internal sealed class ServiceReport
{
    public required string Name { get; init; }

    public int Flags { get; init; }

    public bool FunctionDriver { get; init; }

    public string? DisplayName { get; init; }

    public int? ServiceType { get; init; }

    public int? StartType { get; init; }

    public int? ErrorControl { get; init; }

    public string? Binary { get; init; }

    public string? BinaryPath { get; init; }

    public string? LoadOrderGroup { get; init; }

    public required List<string> Dependencies { get; init; }

    public required List<string> Registry { get; init; }
}

internal sealed class FileReport
{
    public required string Name { get; init; }

    public required string Source { get; init; }

    public required string SourcePath { get; init; }

    public int? DirId { get; init; }

    public string? Destination { get; init; }
}
