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
using IscsiConvert.Storage;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert match IMAGE --hwid ID`: which INFs of the image (and supplied packages) Plug and Play would pick for a device.</summary>
internal static class MatchCommand
{
    public static Command Build(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The disk image (raw, VHD, VHDX, VMDK, QCOW2) holding Windows." };
        var hwid = new Option<string>("--hwid")
        {
            Description = "The device's most specific ID, e.g. PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02 (quote it in a shell: & and \\). " +
                "PCI IDs are expanded to the hardware and compatible IDs the device reports.",
            Required = true,
        };
        var driver = new Option<string[]>("--driver")
        {
            Description = "A driver package to consider besides the image's INFs: an .inf (or .inx) file, or a folder whose .inf files are each a package. Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var partition = new Option<int?>("--partition", "-p") { Description = "The partition of the Windows installation (as `inspect` lists them), when the image has more than one." };
        var os = new Option<string?>("--os")
        {
            Description = "Match for this Windows instead of the image's own (read from its SOFTWARE and SYSTEM hives): win7-x64, win7-x86, win10-x64[@BUILD], ws2019, … as for `inf show`.",
        };
        var all = new Option<bool>("--all") { Description = "List every candidate (default: the best 20)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("match",
            "Rank the INFs that can serve a device on an offline Windows the way Plug and Play ranks them: the image's \\Windows\\INF " +
            "and driver store, plus --driver packages; models sections are chosen for the image's Windows version and architecture " +
            "(INF decorations such as NTamd64.10.0...16299), then a hardware-ID match beats a compatible-ID match, a more specific ID " +
            "beats a less specific one, then the newer DriverVer date and the higher version win. Read-only.")
        {
            image, hwid, driver, partition, os, all, json,
        };
        command.SetAction(parse =>
        {
            string imagePath = parse.GetValue(image)!;
            // A bad --os is a usage error before the image is read (as prepare checks it).
            TargetOs? named = parse.GetValue(os) is string osName ? OptionValues.TargetOs(osName) : null;
            using VirtualDisk disk = console.OpenDisk(imagePath);
            IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
            try
            {
                WindowsInstallation w = InstallationChoice.Choose(imagePath, found, parse.GetValue(partition));
                TargetOs? target = named ?? w.ReadConfiguration().GetTargetOs();
                if (target is null)
                {
                    throw new UsageException($"{imagePath}: the Windows version or processor architecture cannot be read from the image (no SOFTWARE hive?); name the target with --os, e.g. --os win10-x64.");
                }
                var packages = new List<DriverPackage>();
                foreach (string path in parse.GetValue(driver) ?? Array.Empty<string>())
                {
                    packages.AddRange(OpenPackages(path, target));
                }
                DriverMatchReport report = w.MatchDriver(parse.GetValue(hwid)!, packages, target);
                var output = MatchOutput.From(w, report, parse.GetValue(all) ? int.MaxValue : 20);
                if (parse.GetValue(json))
                {
                    console.Output.WriteLine(CliJson.Serialize(output, CliJson.OmitNullsOptions));
                }
                else
                {
                    output.WriteText(console.Output);
                }
                return 0;
            }
            finally
            {
                foreach (WindowsInstallation x in found)
                {
                    x.Dispose();
                }
            }
        });
        return command;
    }

    private static IEnumerable<DriverPackage> OpenPackages(string path, TargetOs target)
    {
        var options = new InfReadOptions { Tolerant = true, TemplateArchitecture = target.Architecture };
        if (!Directory.Exists(path))
        {
            return new[] { DriverPackage.Open(path, options) };
        }
        var infs = Directory.EnumerateFiles(path)
            .Where(f => f.EndsWith(".inf", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        if (infs.Count == 0)
        {
            throw new ArgumentException($"--driver {path}: the folder holds no .inf file");
        }
        return infs.Select(f => DriverPackage.Open(f, options)).ToList();
    }
}

/// <summary>The `match` report: plain data so that text and JSON show the same facts.</summary>
internal sealed class MatchOutput
{
    public int? Partition { get; init; }

    public required string DeviceId { get; init; }

    public required IReadOnlyList<string> HardwareIds { get; init; }

    public required IReadOnlyList<string> CompatibleIds { get; init; }

    public required string Target { get; init; }

    public required int InfsConsidered { get; init; }

    public required int CandidateCount { get; init; }

    public required List<CandidateOutput> Candidates { get; init; }

    public required IReadOnlyList<string> Excluded { get; init; }

    public required List<string> Unreadable { get; init; }

    public static MatchOutput From(WindowsInstallation w, DriverMatchReport r, int limit) => new()
    {
        Partition = w.PartitionIndex,
        DeviceId = r.DeviceId,
        HardwareIds = r.HardwareIds,
        CompatibleIds = r.CompatibleIds,
        Target = TargetText(r.Target),
        InfsConsidered = r.InfCount,
        CandidateCount = r.Candidates.Count,
        Candidates = r.Candidates.Take(limit).Select((c, i) => new CandidateOutput
        {
            Position = i + 1,
            Inf = c.InfPath,
            Origin = c.Source.Origin switch
            {
                InfOrigin.InfFolder => "inf-folder",
                InfOrigin.DriverStore => "driver-store",
                _ => "supplied",
            },
            Class = c.Match.Inf.Version.Class,
            Provider = c.Match.Inf.Version.Provider,
            DriverDate = c.Match.DriverDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            DriverVersion = c.Match.DriverVersion?.ToString(),
            Model = c.Model.Description,
            ModelsSection = c.Model.ModelsSection,
            InfHardwareId = c.Model.HardwareId,
            MatchedId = c.Match.MatchedId,
            HardwareIdMatch = c.Match.IsHardwareIdMatch,
            Rank = "0x" + c.Rank.ToString("X4", CultureInfo.InvariantCulture),
            InstallSection = c.InstallSection,
            Service = c.Service,
            Why = c.Reason,
        }).ToList(),
        Excluded = r.Excluded,
        Unreadable = r.Unreadable.Select(u => $"{u.Path}: {u.Error}").ToList(),
    };

    private static string TargetText(TargetOs t) =>
        string.Format(CultureInfo.InvariantCulture, "NT{0}.{1}.{2} build {3}, product type {4}", t.Architecture, t.Major, t.Minor, t.Build, t.ProductType);

    public void WriteText(TextWriter o)
    {
        o.WriteLine($"Device:      {DeviceId}");
        o.WriteLine($"Hardware IDs:   {string.Join(", ", HardwareIds)}");
        o.WriteLine($"Compatible IDs: {(CompatibleIds.Count == 0 ? "-" : string.Join(", ", CompatibleIds))}");
        o.WriteLine($"Windows:     {Target}{(Partition is int p ? $" on partition {p}" : string.Empty)}");
        o.WriteLine($"INFs read:   {InfsConsidered}");
        o.WriteLine();
        if (CandidateCount == 0)
        {
            o.WriteLine("No INF serves this device on this Windows.");
        }
        else
        {
            o.WriteLine(CandidateCount == Candidates.Count
                ? $"{CandidateCount} candidate(s), best first (the first is what Plug and Play would install):"
                : $"{CandidateCount} candidates, the best {Candidates.Count} shown (--all for every one), best first:");
            foreach (CandidateOutput c in Candidates)
            {
                o.WriteLine($"  {c.Position}. {c.Inf} ({c.Origin})");
                o.WriteLine($"     model:   {c.Model} [{c.ModelsSection}] {c.InfHardwareId}");
                o.WriteLine($"     install: {c.InstallSection ?? "(no install section for this target)"}, service {c.Service ?? "-"}");
                o.WriteLine($"     driver:  {c.Class ?? "-"} by {c.Provider ?? "-"}, DriverVer {c.DriverDate ?? "-"},{c.DriverVersion ?? "-"}");
                o.WriteLine($"     rank:    {c.Rank} — {c.Why}");
            }
        }
        if (Excluded.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("Not offered (the INF lists the device only for another Windows):");
            foreach (string e in Excluded)
            {
                o.WriteLine($"  {e}");
            }
        }
        if (Unreadable.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("INFs that could not be read:");
            foreach (string u in Unreadable)
            {
                o.WriteLine($"  {u}");
            }
        }
    }
}

/// <summary>One candidate of the `match` report.</summary>
internal sealed class CandidateOutput
{
    public required int Position { get; init; }

    public required string Inf { get; init; }

    public required string Origin { get; init; }

    public string? Class { get; init; }

    public string? Provider { get; init; }

    public string? DriverDate { get; init; }

    public string? DriverVersion { get; init; }

    public required string Model { get; init; }

    public required string ModelsSection { get; init; }

    public required string InfHardwareId { get; init; }

    public required string MatchedId { get; init; }

    public required bool HardwareIdMatch { get; init; }

    public required string Rank { get; init; }

    public string? InstallSection { get; init; }

    public string? Service { get; init; }

    public required string Why { get; init; }
}
