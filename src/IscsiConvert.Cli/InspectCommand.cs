using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using IscsiConvert.Storage;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert inspect IMAGE`: what the offline Windows model reads from each installation on the image.</summary>
internal static class InspectCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static Command Build(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The disk image (raw, VHD, VHDX, VMDK, QCOW2)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("inspect",
            "Find the Windows installations on a disk image (read-only) and show their control set, version, services, " +
            "critical device database and driver database.") { image, json };
        command.SetAction(parse =>
        {
            using VirtualDisk disk = DiskImage.Open(parse.GetValue(image)!);
            IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
            var reports = new List<InstallationReport>();
            try
            {
                foreach (WindowsInstallation w in found)
                {
                    reports.Add(InstallationReport.From(w, w.ReadConfiguration()));
                }
            }
            finally
            {
                foreach (WindowsInstallation w in found)
                {
                    w.Dispose();
                }
            }
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(JsonSerializer.Serialize(new { installations = reports }, JsonOptions));
                return 0;
            }
            WriteText(console, reports);
            return 0;
        });
        return command;
    }

    private static void WriteText(CliConsole console, List<InstallationReport> reports)
    {
        var o = console.Output;
        if (reports.Count == 0)
        {
            o.WriteLine("No Windows installation found (no NTFS volume holds \\Windows\\System32\\config\\SYSTEM).");
            return;
        }
        if (reports.Count > 1)
        {
            o.WriteLine($"{reports.Count} Windows installations found; each is listed, none is chosen.");
        }
        foreach (InstallationReport r in reports)
        {
            o.WriteLine(r.Partition is int p ? $"Windows on partition {p}" : "Windows on the whole disk (no partition table)");
            o.WriteLine($"  Volume label:     {r.VolumeLabel}");
            o.WriteLine($"  Control set:      {r.ControlSet}");
            o.WriteLine($"  Architecture:     {r.Architecture ?? "unknown"}");
            o.WriteLine(r.Version is null
                ? "  Version:          unknown (no SOFTWARE hive)"
                : $"  Version:          {r.Version.ProductName} [{r.Version.Family}] (version {r.Version.CurrentVersion}, build {r.Version.CurrentBuild}{(r.Version.MajorVersion is uint maj ? $", {maj}.{r.Version.MinorVersion}" : "")})");
            o.WriteLine(r.DriverPackages is int n ? $"  DriverDatabase:   {n} driver packages" : "  DriverDatabase:   none");
            o.WriteLine(r.DriversHivePackages is int dp ? $"  DRIVERS hive:     {dp} driver packages" : "  DRIVERS hive:     none");
            o.WriteLine($"  INF files:        {r.InfFiles.Count} in \\Windows\\INF");
            o.WriteLine($"  Driver store:     {r.DriverStorePackages.Count} packages");
            o.WriteLine($"  Services:         {r.Services.Count}");
            o.WriteLine($"  Critical devices: {r.CriticalDevices.Count}");
            o.WriteLine();
            o.WriteLine("  Services (name, start, type, group, image path):");
            foreach (ServiceReport s in r.Services)
            {
                o.WriteLine(string.Format(CultureInfo.InvariantCulture, "    {0,-32} {1,-9} {2,-6} {3,-24} {4}",
                    s.Name, s.StartName ?? "-", s.Type is uint t ? "0x" + t.ToString("x", CultureInfo.InvariantCulture) : "-", s.Group ?? "-", s.ImagePath ?? "-"));
            }
            if (r.CriticalDevices.Count > 0)
            {
                o.WriteLine();
                o.WriteLine("  Critical device database (id, service, class GUID):");
                foreach (CriticalDeviceReport d in r.CriticalDevices)
                {
                    o.WriteLine($"    {d.Id,-56} {d.Service ?? "-",-16} {d.ClassGuid ?? "-"}");
                }
            }
            o.WriteLine();
        }
    }

    private static string? StartName(uint? start) => start switch
    {
        0 => "boot",
        1 => "system",
        2 => "automatic",
        3 => "manual",
        4 => "disabled",
        null => null,
        _ => start.Value.ToString(CultureInfo.InvariantCulture),
    };

    private sealed record InstallationReport(
        int? Partition, string VolumeLabel, string ControlSet, string? Architecture, VersionReport? Version, bool HasDriverDatabase, int? DriverPackages, int? DriversHivePackages,
        List<string> InfFiles, List<string> DriverStorePackages, List<ServiceReport> Services, List<CriticalDeviceReport> CriticalDevices)
    {
        public static InstallationReport From(WindowsInstallation w, WindowsSystemConfig c) => new(
            w.PartitionIndex,
            w.Volume.VolumeLabel,
            c.CurrentControlSet,
            c.ProcessorArchitecture,
            c.Version is null ? null : new VersionReport(c.Version.Family.ToString(), c.Version.ProductName, c.Version.CurrentVersion, c.Version.CurrentBuild, c.Version.MajorVersion, c.Version.MinorVersion, c.Version.EditionId, c.Version.InstallationType),
            c.HasDriverDatabase,
            c.DriverPackageCount,
            c.DriversHivePackageCount,
            w.ListInfFiles().ToList(),
            w.ListDriverStorePackages().ToList(),
            c.Services.Select(s => new ServiceReport(s.Name, s.Start, StartName(s.Start), s.Type, s.Group, s.ImagePath, s.BootFlags)).ToList(),
            c.CriticalDevices.Select(d => new CriticalDeviceReport(d.Id, d.ClassGuid, d.Service)).ToList());
    }

    private sealed record VersionReport(string Family, string? ProductName, string? CurrentVersion, string? CurrentBuild, uint? MajorVersion, uint? MinorVersion, string? EditionId, string? InstallationType);

    private sealed record ServiceReport(string Name, uint? Start, string? StartName, uint? Type, string? Group, string? ImagePath, uint? BootFlags);

    private sealed record CriticalDeviceReport(string Id, string? ClassGuid, string? Service);
}
