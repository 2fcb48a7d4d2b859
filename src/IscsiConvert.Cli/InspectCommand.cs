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
    public static Command Build(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The disk image (raw, VHD, VHDX, VMDK, QCOW2)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("inspect",
            "Show the Windows installations on a disk image (read-only): version, architecture, whether the volume is clean and " +
            "prepare can run on it, the network and storage drivers present, services (with BootFlags), critical device database, " +
            "DriverDatabase (SYSTEM and DRIVERS hive), INF files and driver store.") { image, json };
        command.SetAction(parse =>
        {
            using VirtualDisk disk = console.OpenDisk(parse.GetValue(image)!);
            IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
            var reports = new List<InstallationReport>();
            try
            {
                foreach (WindowsInstallation w in found)
                {
                    WindowsSystemConfig config = w.ReadConfiguration();
                    reports.Add(InstallationReport.From(w, config, w.ListNetworkAndStorageDrivers(config)));
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
                console.Output.WriteLine(CliJson.Serialize(new InspectDocument(reports), CliJson.OmitNullsOptions));
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
            o.WriteLine(r.PrepareWouldRun
                ? $"  Volume state:     {r.VolumeState}: prepare would write to it"
                : $"  Volume state:     {r.VolumeState}: prepare would refuse it (exit 3, nothing written; a --dry-run still plans). {r.VolumeStateReason}");
            o.WriteLine($"  Control set:      {r.ControlSet}");
            o.WriteLine(r.Architecture is null
                ? "  Architecture:     unknown (no PROCESSOR_ARCHITECTURE, no readable kernel image)"
                : $"  Architecture:     {r.Architecture} (from {r.ArchitectureSource})");
            o.WriteLine($"  Product type:     {r.ProductType ?? "unknown"}");
            o.WriteLine(r.Version is null
                ? "  Version:          unknown (no SOFTWARE hive)"
                : $"  Version:          {r.Version.ProductName} [{r.Version.Family}] (version {r.Version.CurrentVersion}, build {r.Version.CurrentBuild}{(r.Version.MajorVersion is uint maj ? $", {maj}.{r.Version.MinorVersion}" : "")})");
            o.WriteLine($"  Drivers match as: {r.DriverTarget ?? "unknown (version or architecture missing)"}");
            o.WriteLine(r.DriverPackages is int n ? $"  DriverDatabase:   {n} driver packages" : "  DriverDatabase:   none");
            o.WriteLine(r.DriversHivePackages is int dp ? $"  DRIVERS hive:     {dp} driver packages" : "  DRIVERS hive:     none");
            foreach (DriverDatabaseReport db in r.DriverDatabases)
            {
                o.WriteLine($"    {db.Hive}: {db.Packages} packages, {db.DeviceIds} device IDs; classes: {(db.Classes.Count == 0 ? "-" : string.Join(", ", db.Classes.Select(c => $"{c.Key} {c.Value}")))}");
            }
            o.WriteLine($"  INF files:        {r.InfFiles.Count} in \\Windows\\INF");
            o.WriteLine($"  Driver store:     {r.DriverStorePackages.Count} packages");
            o.WriteLine($"  Services:         {r.Services.Count}");
            o.WriteLine($"  Critical devices: {r.CriticalDevices.Count}");
            o.WriteLine();
            o.WriteLine("  Services (name, start, type, group, image path):");
            foreach (InspectServiceReport s in r.Services)
            {
                o.WriteLine(string.Format(CultureInfo.InvariantCulture, "    {0,-32} {1,-9} {2,-6} {3,-24} {4}",
                    s.Name, s.StartName ?? "-", s.Type is uint t ? "0x" + t.ToString("x", CultureInfo.InvariantCulture) : "-", s.Group ?? "-", s.ImagePath ?? "-"));
            }
            var bootFlagged = r.Services.Where(s => s.BootFlags is not null).ToList();
            o.WriteLine();
            o.WriteLine(bootFlagged.Count == 0 ? "  Services with BootFlags: none" : "  Services with BootFlags (name, flags, start):");
            foreach (InspectServiceReport s in bootFlagged)
            {
                o.WriteLine(string.Format(CultureInfo.InvariantCulture, "    {0,-32} 0x{1:x}  {2}", s.Name, s.BootFlags, s.StartName ?? "-"));
            }
            o.WriteLine();
            o.WriteLine(r.NetworkAndStorageDrivers.Count == 0
                ? "  Network and storage drivers: none found (no INF or DriverDatabase package of class Net, SCSIAdapter or HDC)"
                : "  Network and storage drivers (INF, class, provider, DriverVer, services with start type, where):");
            foreach (InstalledDriverReport d in r.NetworkAndStorageDrivers)
            {
                string services = d.Services.Count == 0 ? "-" : string.Join(", ", d.Services.Select(x => $"{x.Name} ({x.StartName ?? "not in SYSTEM"})"));
                o.WriteLine($"    {d.Inf,-24} {d.Class,-11} {d.Provider ?? "-",-20} {d.DriverDate ?? "-"},{d.DriverVersion ?? "-"}  {services}");
                o.WriteLine($"      {string.Join("; ", d.Sources)}");
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

    /// <summary>What `inspect --json` prints.</summary>
    internal sealed record InspectDocument(List<InstallationReport> Installations);

    /// <summary>
    /// Whether Windows left the volume clean (what prepare's writes need): "clean", "dirty" (the dirty flag: chkdsk
    /// pending), "hibernated" (an active hibernation image, e.g. Fast Startup) or "not shut down cleanly" ($LogFile
    /// open), with the reason prepare would give. The same check as prepare and `fs check` (NtfsVolume.GetWriteSafety, which CheckWritable refuses by).
    /// </summary>
    private static (string State, bool PrepareWouldRun, string? Reason) VolumeState(Ntfs.NtfsVolume volume)
    {
        (Ntfs.NtfsVolumeState state, string? reason) = volume.GetWriteSafety();
        string name = state switch
        {
            Ntfs.NtfsVolumeState.Clean => "clean",
            Ntfs.NtfsVolumeState.Dirty => "dirty",
            Ntfs.NtfsVolumeState.Hibernated => "hibernated",
            _ => "not shut down cleanly",
        };
        return (name, state == Ntfs.NtfsVolumeState.Clean, reason);
    }

    internal sealed record InstallationReport(
        int? Partition, string VolumeLabel, string VolumeState, bool PrepareWouldRun, string? VolumeStateReason, string ControlSet, string? ProcessorArchitecture, string? Architecture, string? ArchitectureSource, string? ProductType, string? DriverTarget, VersionReport? Version, bool HasDriverDatabase, int? DriverPackages, int? DriversHivePackages,
        List<DriverDatabaseReport> DriverDatabases, List<InstalledDriverReport> NetworkAndStorageDrivers,
        List<string> InfFiles, List<string> DriverStorePackages, List<InspectServiceReport> Services, List<CriticalDeviceReport> CriticalDevices)
    {
        public static InstallationReport From(WindowsInstallation w, WindowsSystemConfig c, IReadOnlyList<InstalledDriver> drivers) => From(w, c, drivers, InspectCommand.VolumeState(w.Volume));

        private static InstallationReport From(WindowsInstallation w, WindowsSystemConfig c, IReadOnlyList<InstalledDriver> drivers, (string State, bool PrepareWouldRun, string? Reason) volume) => new(
            w.PartitionIndex,
            w.Volume.VolumeLabel,
            volume.State,
            volume.PrepareWouldRun,
            volume.Reason,
            c.CurrentControlSet,
            c.ProcessorArchitecture,
            c.Architecture,
            c.ArchitectureSource,
            c.ProductType,
            c.GetTargetOs() is { } t ? string.Format(CultureInfo.InvariantCulture, "NT{0}.{1}.{2} build {3}, product type {4}", t.Architecture, t.Major, t.Minor, t.Build, t.ProductType) : null,
            c.Version is null ? null : new VersionReport(c.Version.Family.ToString(), c.Version.ProductName, c.Version.CurrentVersion, c.Version.CurrentBuild, c.Version.MajorVersion, c.Version.MinorVersion, c.Version.EditionId, c.Version.InstallationType),
            c.HasDriverDatabase,
            c.DriverPackageCount,
            c.DriversHivePackageCount,
            new[] { c.DriverDatabase, c.DriversHiveDatabase }.Where(d => d is not null).Select(d => DriverDatabaseReport.From(d!)).ToList(),
            drivers.Select(d => new InstalledDriverReport(
                d.InfName, d.ClassName, d.Provider, d.DriverDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.DriverVersion?.ToString(),
                d.Services.Select(n => c.Services.FirstOrDefault(s => string.Equals(s.Name, n, StringComparison.OrdinalIgnoreCase)) is { } s
                    ? new DriverServiceReport(n, true, s.Start, StartName(s.Start)) : new DriverServiceReport(n, false, null, null)).ToList(),
                d.Sources.ToList())).ToList(),
            w.ListInfFiles().ToList(),
            w.ListDriverStorePackages().ToList(),
            c.Services.Select(s => new InspectServiceReport(s.Name, s.Start, StartName(s.Start), s.Type, s.Group, s.ImagePath, s.BootFlags)).ToList(),
            c.CriticalDevices.Select(d => new CriticalDeviceReport(d.Id, d.ClassGuid, d.Service)).ToList());
    }

    internal sealed record DriverDatabaseReport(string Hive, int Packages, int DeviceIds, SortedDictionary<string, int> Classes, List<DriverPackageReport> PackageList)
    {
        public static DriverDatabaseReport From(DriverDatabase d)
        {
            var classes = new SortedDictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (DriverDatabasePackage p in d.Packages)
            {
                string name = p.ClassName ?? p.ClassGuid?.ToString("B") ?? "unknown";
                classes[name] = classes.TryGetValue(name, out int n) ? n + 1 : 1;
            }
            return new DriverDatabaseReport(d.HiveName, d.Packages.Count, d.DeviceIdCount, classes, d.Packages.Select(p => new DriverPackageReport(
                p.Name, p.InfName, p.ClassName, p.ClassGuid?.ToString("B"), p.Provider, p.DriverDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), p.DriverVersion?.ToString(), p.Services.ToList())).ToList());
        }
    }

    internal sealed record DriverPackageReport(string Name, string? Inf, string? Class, string? ClassGuid, string? Provider, string? DriverDate, string? DriverVersion, List<string> Services);

    internal sealed record InstalledDriverReport(string Inf, string Class, string? Provider, string? DriverDate, string? DriverVersion, List<DriverServiceReport> Services, List<string> Sources);

    internal sealed record DriverServiceReport(string Name, bool InSystemHive, uint? Start, string? StartName);

    internal sealed record VersionReport(string Family, string? ProductName, string? CurrentVersion, string? CurrentBuild, uint? MajorVersion, uint? MinorVersion, string? EditionId, string? InstallationType);

    internal sealed record InspectServiceReport(string Name, uint? Start, string? StartName, uint? Type, string? Group, string? ImagePath, uint? BootFlags);

    internal sealed record CriticalDeviceReport(string Id, string? ClassGuid, string? Service);
}
