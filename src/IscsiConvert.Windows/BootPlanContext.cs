using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
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

    public BootPlanContext(WindowsInstallation installation, WindowsSystemConfig config, TargetOs? target, HiveEdits system, HiveEdits? drivers)
    {
        Installation = installation;
        Config = config;
        _target = target;
        ControlSet = config.CurrentControlSet;
        System = system;
        Drivers = drivers;
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
        if (entry is null || entry.IsDirectory || entry.Size != file.Size)
        {
            return false;
        }
        using Stream s = Installation.Volume.OpenFile(file.Destination);
        using var sha = SHA256.Create();
        return string.Equals(FileCopy.ToHex(sha.ComputeHash(s)), file.Sha256, StringComparison.OrdinalIgnoreCase);
    }
}
