using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Ntfs;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Makes a Windows installation start its boot NIC's driver as a boot driver, so that it can boot from an iSCSI disk.
/// This slice covers Windows XP–7 (no DriverDatabase in SYSTEM): the driver that serves the adapter is found by
/// matching its hardware ID against the image's INFs and the supplied driver packages the way Plug and Play ranks
/// them; the Critical Device Database gets an entry for every form of the ID (most to least specific) with the INF's
/// class GUID and the driver's service; the service is made boot-start. A driver that comes from a supplied package is
/// installed as well: its files go where its CopyFiles/DestinationDirs say, its INF to \Windows\INF\oemN.inf, and its
/// service key is written from AddService. On Windows 8 and later (a DriverDatabase in SYSTEM) a driver the image
/// already has gets Start = 0 and the network-boot BootFlags bit; staging a new package in the DriverDatabase is not
/// done yet and is refused with a clear message.
/// <code>
/// IscsiBootPlan plan = IscsiBoot.For(installation).WithBootAdapter(@"PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086").Plan();
/// IscsiBoot.For(writableInstallation).WithBootAdapter(...).Apply();   // writes SYSTEM and flushes the volume
/// </code>
/// </summary>
public sealed class IscsiBoot
{
    private readonly WindowsInstallation _installation;
    // BootFlags bit read by the boot loader: load this boot-start driver when booting from the network (iSCSI).
    private const uint NetworkBootFlag = 0x1;

    private readonly List<string> _adapters = new();
    private readonly List<DriverPackage> _packages = new();
    private TargetOs? _target;

    private IscsiBoot(WindowsInstallation installation)
    {
        _installation = installation;
    }

    /// <summary>Starts describing the change for one installation (from <see cref="WindowsInstallation.Find(Storage.VirtualDisk, bool)"/>).</summary>
    public static IscsiBoot For(WindowsInstallation installation) =>
        new(installation ?? throw new ArgumentNullException(nameof(installation)));

    /// <summary>The boot NIC's device ID, e.g. <c>PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02</c> (repeatable).</summary>
    public IscsiBoot WithBootAdapter(string deviceId)
    {
        if (string.IsNullOrWhiteSpace(deviceId))
        {
            throw new ArgumentException("A device ID is needed, e.g. PCI\\VEN_8086&DEV_100E.", nameof(deviceId));
        }
        _adapters.Add(deviceId.Trim());
        return this;
    }

    /// <summary>A driver package (its .inf, or a folder holding one) to install if it serves the adapter best (repeatable).</summary>
    public IscsiBoot WithDriverPackage(string infOrFolder)
    {
        _packages.Add(DriverPackage.Open(infOrFolder ?? throw new ArgumentNullException(nameof(infOrFolder))));
        return this;
    }

    /// <summary>The Windows version to match INFs for, when the image cannot tell (no SOFTWARE hive).</summary>
    public IscsiBoot ForTarget(TargetOs target)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        return this;
    }

    /// <summary>Works out every change without writing anything.</summary>
    /// <exception cref="NotSupportedException">What is needed is not in this slice (see the class summary).</exception>
    public IscsiBootPlan Plan()
    {
        if (_adapters.Count == 0)
        {
            throw new InvalidOperationException("Name the boot adapter with WithBootAdapter first.");
        }
        WindowsSystemConfig config = _installation.ReadConfiguration();
        TargetOs target = _target ?? config.GetTargetOs()
            ?? throw new InvalidOperationException("The image does not say which Windows it is (no SOFTWARE hive or architecture); pass ForTarget(...).");
        string controlSet = config.CurrentControlSet;
        var changes = new List<RegistryChange>();
        var drivers = new List<string>();
        using RegistryHive system = _installation.OpenSystemHive();
        var files = new List<FileCopy>();
        var infNames = new HashSet<string>(_installation.ListInfFiles(), StringComparer.OrdinalIgnoreCase);
        foreach (string adapter in _adapters)
        {
            DriverMatchReport match = _installation.MatchDriver(adapter, _packages, target);
            DriverCandidate best = match.Best ?? throw new NotSupportedException(
                $"No INF in the image{(_packages.Count > 0 ? " or the supplied packages" : string.Empty)} serves {adapter} for {target}; supply the driver package with WithDriverPackage (--driver).");
            // Between drivers PnP ranks equal (same rank, date and version — typically the package and its copy already
            // in the image's INF folder), the supplied package wins: it is what the caller asked to install.
            best = match.Candidates.FirstOrDefault(c => c.Source.Origin == InfOrigin.Supplied && c.Rank == best.Rank &&
                c.Source.Inf?.Version.DriverDate == best.Source.Inf?.Version.DriverDate && c.Source.Inf?.Version.DriverVersion == best.Source.Inf?.Version.DriverVersion) ?? best;
            string service = best.Service ?? throw new NotSupportedException($"{best.InfPath} installs no function driver service for {adapter}.");
            string classGuid = best.Source.Inf?.Version.ClassGuid is { } g && Guid.TryParse(g, out Guid parsed)
                ? parsed.ToString("B").ToUpperInvariant() // as Windows writes it in the CDDB
                : throw new NotSupportedException($"{best.InfPath} names no valid ClassGuid.");
            string servicePath = $@"{controlSet}\Services\{service}";
            RegistryKey? serviceKey = system.OpenKey(servicePath);
            drivers.Add($"{adapter}: {best.InfPath} [{best.InstallSection}] service {service}{(best.Source.Origin == InfOrigin.Supplied ? " (supplied package: installed)" : string.Empty)}");
            if (config.HasDriverDatabase)
            {
                // Windows 8 and later: no CDDB. A driver the image already has (its INF in the image, its service in
                // SYSTEM) is made a boot driver for network boot: Start = 0 and BootFlags bit 0x1 (what Windows itself
                // sets on inbox NIC services such as e1iexpress). Staging a new package in the DriverDatabase is not done yet.
                if (best.Source.Origin == InfOrigin.Supplied || serviceKey is null)
                {
                    throw new NotSupportedException(
                        $"This SYSTEM hive has a DriverDatabase (Windows 8 or later) and {(serviceKey is null ? $"no service {service}" : "the best driver is a supplied package")}: " +
                        "staging a new driver package in the DriverDatabase and DriverStore is not implemented yet.");
                }
                uint bootFlags = (serviceKey.GetValue("BootFlags") is { Type: RegistryValueType.DWord } flags ? flags.AsDWord() : 0) | NetworkBootFlag;
                changes.Add(Change(serviceKey, servicePath, "Start", RegistryValueType.DWord, "0"));
                changes.Add(Change(serviceKey, servicePath, "BootFlags", RegistryValueType.DWord, bootFlags.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                continue;
            }
            foreach (string id in CriticalDeviceIds(adapter))
            {
                string key = $@"{controlSet}\Control\CriticalDeviceDatabase\{id}";
                RegistryKey? existing = system.OpenKey(key);
                changes.Add(Change(existing, key, "ClassGUID", RegistryValueType.String, classGuid));
                changes.Add(Change(existing, key, "Service", RegistryValueType.String, service));
            }
            if (best.Source.Origin == InfOrigin.Supplied)
            {
                DriverPackage package = _packages.First(p => string.Equals(p.Inf.FullPath ?? p.Inf.FileName, best.InfPath, StringComparison.Ordinal));
                PlanInstall(package, best, target, serviceKey, servicePath, changes, files, infNames);
            }
            else if (serviceKey is null)
            {
                throw new NotSupportedException($"The image has no service {service} (from {best.InfPath}); supply the driver package with WithDriverPackage (--driver).");
            }
            changes.Add(Change(serviceKey, servicePath, "Start", RegistryValueType.DWord, "0"));
        }
        return new IscsiBootPlan(_installation, controlSet, target, drivers, changes.Where(c => c.IsChange).Distinct().ToList(), files);
    }

    /// <summary>Plans, then writes the SYSTEM hive back to the volume and flushes it. The installation must have been
    /// opened writable; nothing is written when planning fails.</summary>
    public IscsiBootPlan Apply()
    {
        if (!_installation.Volume.IsWritable)
        {
            throw new InvalidOperationException("Open the image writable (WindowsInstallation.Find(disk, writable: true)) to apply changes.");
        }
        IscsiBootPlan plan = Plan();
        foreach (FileCopy file in plan.Files)
        {
            _installation.Volume.CreateDirectory(file.Destination.Substring(0, file.Destination.LastIndexOf('\\')));
            using FileStream source = File.OpenRead(file.Source);
            _installation.Volume.WriteFile(file.Destination, source);
        }
        _installation.UpdateSystemHive(hive =>
        {
            foreach (RegistryChange c in plan.Changes)
            {
                RegistryKey key = hive.Root.CreateSubkey(c.Key);
                byte[] data = c.Type == RegistryValueType.DWord ? RegistryValue.EncodeDWord(uint.Parse(c.NewValue, System.Globalization.CultureInfo.InvariantCulture)) : RegistryValue.EncodeString(c.NewValue);
                key.SetValue(c.ValueName, c.Type, data);
            }
        });
        return plan;
    }

    // The files, INF copy and service key of a driver that comes from a supplied package.
    private void PlanInstall(DriverPackage package, DriverCandidate best, TargetOs target, RegistryKey? serviceKey, string servicePath,
        List<RegistryChange> changes, List<FileCopy> files, HashSet<string> infNames)
    {
        DriverPackageCheck check = package.Check(target);
        if (!check.IsComplete)
        {
            throw new NotSupportedException($"The driver package {package.Folder} is incomplete or unsafe: missing {string.Join(", ", check.MissingFiles)}; unsafe paths {string.Join(", ", check.UnsafePaths)}.");
        }
        InfInstall install = package.Inf.ResolveInstall(best.InstallSection!, target);
        foreach (InfFileCopy file in install.Files)
        {
            string relative = file.SourcePath.Length == 0 ? file.SourceName : file.SourcePath + "\\" + file.SourceName;
            string source = package.FindFile(relative) ?? throw new NotSupportedException($"{relative} is missing from {package.Folder}.");
            string destination = file.DestinationPath is { } d && !d.Contains(DirIds.DriverStorePackage)
                ? d
                : throw new NotSupportedException($"{file.FileName}: its destination (dirid {file.DirId}) is not a folder of an XP–7 system.");
            files.Add(new FileCopy(source, destination));
        }
        if (package.Inf.FullPath is { } infPath)
        {
            string name = Enumerable.Range(0, 10000).Select(n => $"oem{n}.inf").First(n => !infNames.Contains(n));
            infNames.Add(name);
            files.Add(new FileCopy(infPath, @"\Windows\INF\" + name));
        }
        InfService function = install.FunctionDriver ?? throw new NotSupportedException($"{best.InfPath} [{best.InstallSection}] has no function driver service.");
        changes.Add(Change(serviceKey, servicePath, "Type", RegistryValueType.DWord, (function.ServiceType ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        changes.Add(Change(serviceKey, servicePath, "ErrorControl", RegistryValueType.DWord, (function.ErrorControl ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (function.ServiceBinaryPath is { } binary)
        {
            // Setup writes driver paths relative to the Windows folder: system32\DRIVERS\netkvm.sys.
            string image = binary.StartsWith(@"\Windows\", StringComparison.OrdinalIgnoreCase) ? binary.Substring(@"\Windows\".Length) : binary;
            changes.Add(Change(serviceKey, servicePath, "ImagePath", RegistryValueType.ExpandString, image));
        }
        if (function.LoadOrderGroup is { Length: > 0 } group)
        {
            changes.Add(Change(serviceKey, servicePath, "Group", RegistryValueType.String, group));
        }
        if (function.DisplayName is { Length: > 0 } display)
        {
            changes.Add(Change(serviceKey, servicePath, "DisplayName", RegistryValueType.String, display));
        }
    }

    /// <summary>
    /// The CDDB key names for a device ID, most specific first: the ID itself, then without REV_, then without SUBSYS_
    /// (PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02 → pci#ven_8086&amp;dev_100e&amp;subsys_001e8086&amp;rev_02,
    /// pci#ven_8086&amp;dev_100e&amp;subsys_001e8086, pci#ven_8086&amp;dev_100e): lower case, "\" as "#".
    /// </summary>
    public static IReadOnlyList<string> CriticalDeviceIds(string deviceId)
    {
        string id = deviceId.Trim().ToLowerInvariant().Replace('\\', '#');
        var result = new List<string> { id };
        string[] parts = id.Split('&');
        List<string> kept = parts.ToList();
        int rev = kept.FindIndex(p => p.StartsWith("rev_", StringComparison.Ordinal));
        if (rev >= 0)
        {
            kept.RemoveAt(rev);
            result.Add(string.Join("&", kept));
        }
        int subsys = kept.FindIndex(p => p.StartsWith("subsys_", StringComparison.Ordinal));
        if (subsys >= 0)
        {
            kept.RemoveAt(subsys);
            result.Add(string.Join("&", kept));
        }
        return result.Distinct().ToList();
    }

    private static RegistryChange Change(RegistryKey? key, string path, string name, RegistryValueType type, string value)
    {
        RegistryValue? old = key?.GetValue(name);
        string? before = old is null ? null : old.Type == RegistryValueType.DWord ? old.AsDWord().ToString(System.Globalization.CultureInfo.InvariantCulture) : old.AsString();
        return new RegistryChange(path, name, type, before, value);
    }
}

/// <summary>One registry value the plan sets: key (under the SYSTEM root), value, its old and new data.</summary>
public sealed record RegistryChange(string Key, string ValueName, RegistryValueType Type, string? OldValue, string NewValue)
{
    /// <summary>False when the value already holds the new data (nothing to do).</summary>
    public bool IsChange => !string.Equals(OldValue, NewValue, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public override string ToString() => $@"SYSTEM\{Key}\{ValueName} = {NewValue}{(OldValue is null ? " (new)" : $" (was {OldValue})")}";
}

/// <summary>A file copied from a driver package onto the Windows volume.</summary>
public sealed record FileCopy(string Source, string Destination)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Destination} <- {Source}";
}

/// <summary>What <see cref="IscsiBoot"/> changes (or changed) in an installation.</summary>
public sealed class IscsiBootPlan
{
    internal IscsiBootPlan(WindowsInstallation installation, string controlSet, TargetOs target, IReadOnlyList<string> drivers, IReadOnlyList<RegistryChange> changes, IReadOnlyList<FileCopy> files)
    {
        Files = files;
        PartitionIndex = installation.PartitionIndex;
        ControlSet = controlSet;
        Target = target;
        Drivers = drivers;
        Changes = changes;
    }

    /// <summary>The partition of the installation (null for a bare volume).</summary>
    public int? PartitionIndex { get; }

    /// <summary>The control set edited (Select\Current).</summary>
    public string ControlSet { get; }

    /// <summary>The Windows version the INFs were matched for.</summary>
    public TargetOs Target { get; }

    /// <summary>For each adapter, the INF, install section and service chosen.</summary>
    public IReadOnlyList<string> Drivers { get; }

    /// <summary>The files copied onto the volume (driver binaries, the INF as oemN.inf), in order.</summary>
    public IReadOnlyList<FileCopy> Files { get; }

    /// <summary>The registry values set, in order (values that already held the data are left out).</summary>
    public IReadOnlyList<RegistryChange> Changes { get; }
}
