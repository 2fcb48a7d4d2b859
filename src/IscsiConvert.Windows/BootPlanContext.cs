using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using IscsiConvert.Drivers;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Windows;

/// <summary>What a device is to the boot: the NIC that carries the iSCSI disk, or a storage controller.</summary>
internal enum BootDeviceRole
{
    Network,
    Storage,
}

/// <summary>One device to make boot-critical, as the caller named it.</summary>
internal sealed record BootDevice(string DeviceId, BootDeviceRole Role, string? PciPath);

/// <summary>
/// The driver chosen for a device: its service and class, and the supplied package it comes from (null when the
/// image has it, or when only a service was named with --service).
/// </summary>
internal sealed record DriverChoice(string Service, string ClassGuid, DriverCandidate? Candidate, SuppliedDriver? Supplied);

/// <summary>Everything one plan collects while the family rules run: the hives' edits, the files, and what to report.</summary>
internal sealed class BootPlanContext
{
    private readonly Dictionary<string, FileCopy> _filesByDestination = new(StringComparer.OrdinalIgnoreCase);

    private readonly TargetOs? _target;

    public BootPlanContext(WindowsInstallation installation, WindowsSystemConfig config, TargetOs? target, HiveEdits system, HiveEdits? drivers,
        HiveEdits? software, DateTime importDateUtc, CancellationToken cancellationToken)
    {
        Installation = installation;
        Config = config;
        _target = target;
        ControlSet = config.CurrentControlSet;
        System = system;
        Drivers = drivers;
        Software = software;
        DriverDatabase = new DriverDatabaseRules(importDateUtc);
        CancellationToken = cancellationToken;
    }

    /// <summary>The SOFTWARE hive's edits, when a step writes there.</summary>
    public HiveEdits? Software { get; }

    /// <summary>The Windows 8+ rules, holding the ImportDate a staged package gets.</summary>
    public DriverDatabaseRules DriverDatabase { get; }

    /// <summary>Checked between steps and files: planning reads only, so stopping anywhere leaves the image as it is.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The edits of the hive <paramref name="name"/> (SYSTEM, DRIVERS or SOFTWARE) the plan opened.</summary>
    public HiveEdits Hive(string name) => name.ToUpperInvariant() switch
    {
        "SYSTEM" => System,
        "DRIVERS" => Drivers ?? throw new NotSupportedException("The image has no DRIVERS hive with a DriverDatabase (Windows before 8, or a build without that hive)."),
        "SOFTWARE" => Software ?? throw new NotSupportedException("The image has no SOFTWARE hive."),
        _ => throw new NotSupportedException($"The hive {name} is not one a plan edits (SYSTEM, DRIVERS, SOFTWARE)."),
    };

    /// <summary>Every change the plan makes, SYSTEM's, DRIVERS' then SOFTWARE's, values that already hold their data left out.</summary>
    public List<RegistryChange> Changes()
    {
        var changes = new List<RegistryChange>();
        foreach (HiveEdits? h in new[] { System, Drivers, Software })
        {
            if (h is not null)
            {
                h.DropDeletionsThatChangeNothing();
                changes.AddRange(h.All.Where(c => c.IsChange));
            }
        }
        return changes;
    }

    public WindowsInstallation Installation { get; }

    public WindowsSystemConfig Config { get; }

    /// <summary>The Windows the INFs are matched for; known whenever there are devices (a plan of .reg files alone needs none).</summary>
    public TargetOs Target => _target ?? throw new InvalidOperationException("No target Windows version: pass ForTarget(...).");

    public string ControlSet { get; }

    public HiveEdits System { get; }

    /// <summary>The DRIVERS hive's edits, when the image has that hive with a DriverDatabase.</summary>
    public HiveEdits? Drivers { get; }

    /// <summary>Files to write, in order; files the volume already holds with the same content are left out.</summary>
    public List<FileCopy> Files { get; } = new();

    /// <summary>For each device, the driver chosen and how.</summary>
    public List<string> Report { get; } = new();

    /// <summary>What the caller should know: INF lines not applied, dirty hives, --service without an INF.</summary>
    public List<string> Warnings { get; } = new();

    /// <summary>oemN numbers given out by this plan (two packages must not get the same one).</summary>
    public HashSet<int> OemNumbers { get; } = new();

    public void AddFile(FileCopy file)
    {
        CancellationToken.ThrowIfCancellationRequested();
        if (_filesByDestination.TryGetValue(file.Destination, out FileCopy? planned))
        {
            if (!string.Equals(planned.Sha256, file.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new NotSupportedException($"Two different files would be written to {file.Destination} ({planned.Source} and {file.Source}).");
            }
            return;
        }
        _filesByDestination.Add(file.Destination, file);
        if (!HoldsAlready(file))
        {
            Files.Add(file);
        }
    }

    // The volume already has this destination with these bytes (a package staged before): nothing to write.
    private bool HoldsAlready(FileCopy file)
    {
        NtfsEntry? entry = Installation.Volume.TryGetEntry(file.Destination);
        // A file with a reparse point is not read as content (its data stream is a stub); writing over it is refused.
        if (entry is null || entry.IsDirectory || entry.Size != file.Size || entry.ReparseTag is not null)
        {
            return false;
        }
        using Stream s = Installation.Volume.OpenFile(file.Destination);
        using var sha = SHA256.Create();
        return string.Equals(FileCopy.ToHex(sha.ComputeHash(s)), file.Sha256, StringComparison.OrdinalIgnoreCase);
    }
}
