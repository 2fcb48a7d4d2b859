using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Makes a Windows installation start its boot NIC's driver (and, if asked, storage controllers' drivers) as a boot
/// driver, so that it can boot from an iSCSI disk. The driver that serves each device is found by matching its
/// hardware ID against the image's INFs and the supplied driver packages the way Plug and Play ranks them; what is
/// written then depends on the Windows family, each in its own rules type:
/// Windows XP – 7 (<see cref="CriticalDeviceRules"/>): Critical Device Database entries and boot start, a supplied
/// package installed (and on Vista/7 put in the driver store);
/// Windows 8 and later (<see cref="DriverDatabaseRules"/>): a supplied package staged in the driver store and the
/// DriverDatabase (SYSTEM, and the DRIVERS hive where there is one), boot start and the network-boot BootFlags bit.
/// <see cref="Plan"/> only reads; the plan is data (typed registry changes, files with size and SHA-256).
/// <code>
/// IscsiBootPlan plan = IscsiBoot.For(installation).WithBootAdapter(@"PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086").Plan();
/// IscsiBoot.For(writableInstallation).WithBootAdapter(...).WithDriverPackage(@"C:\virtio\netkvm").Apply();
/// </code>
/// </summary>
public sealed class IscsiBoot
{
    private readonly WindowsInstallation _installation;
    private readonly List<BootDevice> _devices = new();
    private readonly List<DriverPackage> _packages = new();
    private readonly List<RegFile> _regFiles = new();
    private string? _service;
    private TargetOs? _target;
    private bool _allowDirtyHive;
    private TimeProvider _clock = TimeProvider.System;

    private IscsiBoot(WindowsInstallation installation)
    {
        _installation = installation;
    }

    /// <summary>Starts describing the change for one installation (from <see cref="WindowsInstallation.Find(Storage.VirtualDisk, bool)"/>).</summary>
    public static IscsiBoot For(WindowsInstallation installation) =>
        new(installation ?? throw new ArgumentNullException(nameof(installation)));

    /// <summary>The boot NIC's device ID, e.g. <c>PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02</c> (repeatable).</summary>
    public IscsiBoot WithBootAdapter(string deviceId) => WithBootAdapter(deviceId, null);

    /// <summary>
    /// The boot NIC's device ID and its PCI location as <c>lspci -P</c> prints it (<c>00:1e.0/01:01.0</c>): on Windows
    /// XP – 7 the Critical Device Database also gets the device-path entry (<c>PCIROOT(0)#PCI(1E00)#PCI(0100)</c>).
    /// </summary>
    public IscsiBoot WithBootAdapter(string deviceId, string? pciPath)
    {
        if (pciPath is not null)
        {
            PciDevicePath.ToCriticalDeviceKey(pciPath); // refuse a bad path now, not at Plan
        }
        _devices.Add(new BootDevice(CheckId(deviceId), BootDeviceRole.Network, pciPath));
        return this;
    }

    /// <summary>A storage controller's device ID (virtio-scsi, AHCI, NVMe…) whose driver is made boot-critical the same way (repeatable).</summary>
    public IscsiBoot WithStorageController(string deviceId)
    {
        _devices.Add(new BootDevice(CheckId(deviceId), BootDeviceRole.Storage, null));
        return this;
    }

    /// <summary>A driver package (its .inf, or a folder holding one) to install if it serves a device best (repeatable).</summary>
    public IscsiBoot WithDriverPackage(string infOrFolder)
    {
        _packages.Add(DriverPackage.Open(infOrFolder ?? throw new ArgumentNullException(nameof(infOrFolder))));
        return this;
    }

    /// <summary>
    /// A regedit file (regedit 5.00 or REGEDIT4) whose values the plan sets too, after the driver's (repeatable): keys
    /// under <c>HKEY_LOCAL_MACHINE\SYSTEM</c> go to the SYSTEM hive, <c>CurrentControlSet</c> standing for the control
    /// set the image boots; keys under <c>HKEY_LOCAL_MACHINE\SOFTWARE</c> to the SOFTWARE hive. Other roots and
    /// deletions are refused when planning. Usable without a device: then the plan is the file's values alone.
    /// </summary>
    /// <exception cref="RegFileParseException">The file is not valid .reg text (read now, not at Plan).</exception>
    public IscsiBoot WithRegFile(string path) =>
        WithRegFile(RegFile.Load(path ?? throw new ArgumentNullException(nameof(path))));

    /// <summary>A regedit file already read (see <see cref="WithRegFile(string)"/>); read it without a root prefix.</summary>
    public IscsiBoot WithRegFile(RegFile file)
    {
        _regFiles.Add(file ?? throw new ArgumentNullException(nameof(file)));
        return this;
    }

    /// <summary>
    /// Use the service <paramref name="serviceName"/> of the image for the boot NICs without looking for an INF (for
    /// an image whose INF folder lacks the driver's INF but whose SYSTEM hive has its service): on XP – 7 the Critical
    /// Device Database gets Net-class entries naming it; on every version it is made a boot driver.
    /// </summary>
    public IscsiBoot WithService(string serviceName)
    {
        if (string.IsNullOrWhiteSpace(serviceName) || serviceName.IndexOf('\\') >= 0)
        {
            throw new ArgumentException("A service key name is needed, e.g. E1G60.", nameof(serviceName));
        }
        _service = serviceName.Trim();
        return this;
    }

    /// <summary>The Windows version to match INFs for, when the image cannot tell (no SOFTWARE hive).</summary>
    public IscsiBoot ForTarget(TargetOs target)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        return this;
    }

    /// <summary>
    /// Edit a dirty hive whose transaction logs exist but cannot be applied, as it is (what those logs hold is lost).
    /// Without this such a hive is refused. Dirty hives without logs are always edited, with a warning in the plan.
    /// </summary>
    public IscsiBoot AllowDirtyHive(bool allow = true)
    {
        _allowDirtyHive = allow;
        return this;
    }

    /// <summary>The clock for the ImportDate of a package staged on Windows 8 and later (a package already staged keeps its own).</summary>
    public IscsiBoot WithTimeProvider(TimeProvider clock)
    {
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        return this;
    }

    private static string CheckId(string deviceId)
    {
        if (string.IsNullOrWhiteSpace(deviceId))
        {
            throw new ArgumentException("A device ID is needed, e.g. PCI\\VEN_8086&DEV_100E.", nameof(deviceId));
        }
        return deviceId.Trim();
    }

    /// <summary>Works out every change without writing anything.</summary>
    /// <exception cref="NotSupportedException">No driver serves a device, or a package cannot be installed.</exception>
    /// <exception cref="WindowsVersionUnknownException">There are devices to match, no <see cref="ForTarget"/>, and the image does not say which Windows it is.</exception>
    /// <exception cref="UnsafeToWriteException">A hive is dirty with logs that cannot be applied and <see cref="AllowDirtyHive"/> was not given.</exception>
    public IscsiBootPlan Plan()
    {
        if (_devices.Count == 0 && _regFiles.Count == 0)
        {
            throw new InvalidOperationException("Name the boot adapter with WithBootAdapter (or a controller with WithStorageController, or a .reg file with WithRegFile) first.");
        }
        // Each hive is read from the image once per plan: configuration, condition and edits share the open hive.
        using RegistryHive system = _installation.OpenSystemHive();
        using RegistryHive? driversHive = _installation.OpenHive("DRIVERS");
        WindowsSystemConfig config = _installation.ReadConfiguration(system, driversHive);
        TargetOs? target = _target ?? config.GetTargetOs();
        if (target is null && _devices.Count > 0)
        {
            throw new WindowsVersionUnknownException("The image does not say which Windows it is (no SOFTWARE hive, or no version or architecture in it); name the target with ForTarget (--os).",
                WindowsInstallation.WindowsFolder + @"\System32\config\SOFTWARE");
        }
        bool editsSoftware = _regFiles.Any(f => RegFileRules.HivesNamed(f).Contains("SOFTWARE"));
        var warnings = new List<string>();
        CheckHive("SYSTEM", _installation.GetHiveCondition("SYSTEM", system), warnings);
        bool useDriversHive = config.HasDriverDatabase && driversHive?.OpenKey("DriverDatabase") is not null;
        if (useDriversHive)
        {
            CheckHive("DRIVERS", _installation.GetHiveCondition("DRIVERS", driversHive!), warnings);
        }
        if (editsSoftware)
        {
            CheckHive("SOFTWARE", _installation.GetHiveCondition("SOFTWARE"), warnings);
        }
        using RegistryHive? softwareHive = editsSoftware
            ? _installation.OpenSoftwareHive() ?? throw new NotSupportedException("A .reg file sets values under HKEY_LOCAL_MACHINE\\SOFTWARE, but the image has no SOFTWARE hive.")
            : null;
        var ctx = new BootPlanContext(_installation, config, target, new HiveEdits("SYSTEM", system), useDriversHive ? new HiveEdits("DRIVERS", driversHive!) : null);
        ctx.Warnings.AddRange(warnings);
        var criticalDevices = new CriticalDeviceRules();
        var driverDatabase = new DriverDatabaseRules(_clock.GetUtcNow().UtcDateTime);
        foreach (BootDevice device in _devices)
        {
            DriverChoice choice = Choose(ctx, device);
            if (config.HasDriverDatabase)
            {
                driverDatabase.Plan(ctx, device, choice);
            }
            else
            {
                criticalDevices.Plan(ctx, device, choice);
            }
        }
        HiveEdits? software = softwareHive is null ? null : new HiveEdits("SOFTWARE", softwareHive);
        foreach (RegFile file in _regFiles)
        {
            RegFileRules.Plan(file, ctx.ControlSet, name => name == "SOFTWARE" ? software! : ctx.System, ctx.Warnings);
        }
        var changes = new List<RegistryChange>();
        changes.AddRange(ctx.System.All.Where(c => c.IsChange));
        if (ctx.Drivers is { } d)
        {
            changes.AddRange(d.All.Where(c => c.IsChange));
        }
        if (software is not null)
        {
            changes.AddRange(software.All.Where(c => c.IsChange));
        }
        return new IscsiBootPlan(_installation, ctx.ControlSet, target, ctx.Report, changes, FoldersToCreate(ctx.Files), ctx.Files, ctx.Warnings);
    }

    // The folders the files need that the volume does not have, each parent before its children.
    private List<string> FoldersToCreate(IEnumerable<FileCopy> files)
    {
        var folders = new List<string>();
        foreach (FileCopy file in files)
        {
            var missing = new Stack<string>();
            for (string dir = Parent(file.Destination); dir.Length > 0 && !folders.Contains(dir, StringComparer.OrdinalIgnoreCase) &&
                _installation.Volume.TryGetEntry(dir) is null; dir = Parent(dir))
            {
                missing.Push(dir);
            }
            folders.AddRange(missing);
        }
        return folders;

        static string Parent(string path) => path.Substring(0, Math.Max(0, path.LastIndexOf('\\')));
    }

    private void CheckHive(string name, HiveCondition? condition, List<string> warnings)
    {
        switch (condition)
        {
            case HiveCondition.DirtyWithoutLogs:
                warnings.Add($"The {name} hive is dirty and has no transaction logs (usual for a hive copied from a running machine): it is edited as Windows would load it and saved clean.");
                break;
            case HiveCondition.DirtyLogsUnusable when _allowDirtyHive:
                warnings.Add($"The {name} hive is dirty and its transaction logs cannot be applied: edited as it is, as allowed; what the logs held is lost.");
                break;
            case HiveCondition.DirtyLogsUnusable:
                throw new UnsafeToWriteException($"The {name} hive is dirty and its transaction logs cannot be applied; saving it would lose what they hold. Allow it explicitly (AllowDirtyHive, --allow-dirty-hive) to edit the hive as it is.",
                    WindowsInstallation.WindowsFolder + @"\System32\config\" + name);
            case HiveCondition.RecoveredFromLogs:
                warnings.Add($"The {name} hive was dirty; its transaction logs were applied and it is saved clean (the logs emptied).");
                break;
        }
    }

    // The driver for one device: the best INF as PnP ranks them, or the service named with WithService.
    private DriverChoice Choose(BootPlanContext ctx, BootDevice device)
    {
        if (_service is not null && device.Role == BootDeviceRole.Network)
        {
            if (ctx.System.Hive.OpenKey($@"{ctx.ControlSet}\Services\{_service}") is null)
            {
                throw new NotSupportedException($"The image has no service {_service} in {ctx.ControlSet}\\Services.");
            }
            ctx.Report.Add($"{device.DeviceId}: service {_service} as given (no INF read; Net class assumed)");
            ctx.Warnings.Add($"{device.DeviceId}: no INF was used — the entries name the service {_service} given with --service, with the Net class GUID.");
            return new DriverChoice(_service, DeviceSetupClasses.Net.ToString("B").ToUpperInvariant(), null, null);
        }
        DriverMatchReport match = _installation.MatchDriver(device.DeviceId, HardwareId.Parse(device.DeviceId), _packages, ctx.Target, scanFirst: true);
        DriverCandidate best = match.Best ?? throw new NotSupportedException(
            $"No INF in the image{(_packages.Count > 0 ? " or the supplied packages" : string.Empty)} serves {device.DeviceId} for {ctx.Target}; supply the driver package with WithDriverPackage (--driver).");
        // Between drivers PnP ranks equal (same rank, date and version — typically the package and its copy already
        // in the image's INF folder), the supplied package wins: it is what the caller asked to install.
        best = match.Candidates.FirstOrDefault(c => c.Source.Origin == InfOrigin.Supplied && c.Rank == best.Rank &&
            c.Source.Inf?.Version.DriverDate == best.Source.Inf?.Version.DriverDate && c.Source.Inf?.Version.DriverVersion == best.Source.Inf?.Version.DriverVersion) ?? best;
        string service = best.Service ?? throw new NotSupportedException($"{best.InfPath} installs no function driver service for {device.DeviceId}.");
        string classGuid = best.Source.Inf?.Version.ClassGuid is { } g && Guid.TryParse(g, out Guid parsed)
            ? parsed.ToString("B").ToUpperInvariant() // as Windows writes it in the CDDB
            : throw new NotSupportedException($"{best.InfPath} names no valid ClassGuid.");
        SuppliedDriver? supplied = null;
        if (best.Source.Origin == InfOrigin.Supplied)
        {
            DriverPackage package = _packages.First(p => string.Equals(p.Inf.FullPath ?? p.Inf.FileName, best.InfPath, StringComparison.Ordinal));
            supplied = SuppliedDriver.Resolve(package, best.InstallSection!, ctx.Target);
        }
        else if (ctx.System.Hive.OpenKey($@"{ctx.ControlSet}\Services\{service}") is null)
        {
            throw new NotSupportedException($"The image has no service {service} (from {best.InfPath}); supply the driver package with WithDriverPackage (--driver).");
        }
        ctx.Report.Add($"{device.DeviceId}{(device.Role == BootDeviceRole.Storage ? " (storage)" : string.Empty)}: {best.InfPath} [{best.InstallSection}] service {service}{(supplied is not null ? " (supplied package: installed)" : string.Empty)}");
        return new DriverChoice(service, classGuid, best, supplied);
    }

    /// <summary>
    /// Plans, then writes: the files first (new files only, invisible to Windows until the registry names them), then
    /// the DRIVERS hive, then SYSTEM last, which is what makes the boot use them; then flushes the volume. The
    /// installation must have been opened writable; nothing is written when planning fails, and a plan with no
    /// change writes nothing at all.
    /// </summary>
    public IscsiBootPlan Apply()
    {
        if (!_installation.Volume.IsWritable)
        {
            throw new InvalidOperationException("Open the image writable (WindowsInstallation.Find(disk, writable: true)) to apply changes.");
        }
        IscsiBootPlan plan = Plan();
        foreach (string folder in plan.Folders)
        {
            _installation.Volume.CreateDirectory(folder);
        }
        foreach (FileCopy file in plan.Files)
        {
            using FileStream source = File.OpenRead(file.Source);
            _installation.Volume.WriteFile(file.Destination, source);
        }
        foreach (string hive in new[] { "DRIVERS", "SOFTWARE", "SYSTEM" })
        {
            var changes = plan.Changes.Where(c => c.Hive == hive).ToList();
            if (changes.Count > 0)
            {
                _installation.StageHiveEdit(hive, h => HiveEdits.Apply(h, changes), _allowDirtyHive);
            }
        }
        // One commit for every file and hive: a failure before it leaves the image as it was (all or nothing).
        _installation.Volume.Flush();
        return plan;
    }

    /// <summary>
    /// The CDDB key names for a device ID, most specific first: the ID itself, then without REV_, then without SUBSYS_
    /// (PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02 → pci#ven_8086&amp;dev_100e&amp;subsys_001e8086&amp;rev_02,
    /// pci#ven_8086&amp;dev_100e&amp;subsys_001e8086, pci#ven_8086&amp;dev_100e): lower case, "\" as "#".
    /// </summary>
    public static IReadOnlyList<string> CriticalDeviceIds(string deviceId)
    {
        if (deviceId is null)
        {
            throw new ArgumentNullException(nameof(deviceId));
        }
        string id = deviceId.Trim().ToLowerInvariant().Replace('\\', '#');
        var result = new List<string> { id };
        List<string> kept = id.Split('&').ToList();
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
}

/// <summary>What <see cref="IscsiBoot"/> changes (or changed) in an installation.</summary>
public sealed class IscsiBootPlan
{
    internal IscsiBootPlan(WindowsInstallation installation, string controlSet, TargetOs? target, IReadOnlyList<string> drivers, IReadOnlyList<RegistryChange> changes, IReadOnlyList<string> folders, IReadOnlyList<FileCopy> files, IReadOnlyList<string> warnings)
    {
        Folders = folders;
        Files = files;
        PartitionIndex = installation.PartitionIndex;
        ControlSet = controlSet;
        Target = target;
        Drivers = drivers;
        Changes = changes;
        Warnings = warnings;
    }

    /// <summary>The partition of the installation (null for a bare volume).</summary>
    public int? PartitionIndex { get; }

    /// <summary>The control set edited (Select\Current).</summary>
    public string ControlSet { get; }

    /// <summary>The Windows version the INFs were matched for (null for a plan of .reg files alone on an image that does not tell).</summary>
    public TargetOs? Target { get; }

    /// <summary>For each device, the INF, install section and service chosen.</summary>
    public IReadOnlyList<string> Drivers { get; }

    /// <summary>The folders created on the volume for the files (those it lacks), each parent before its children.</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>The files written onto the volume, in order (files the volume already holds with the same bytes are left out).</summary>
    public IReadOnlyList<FileCopy> Files { get; }

    /// <summary>The registry values set, in order, SYSTEM's, DRIVERS' then SOFTWARE's (values that already held the data are left out).</summary>
    public IReadOnlyList<RegistryChange> Changes { get; }

    /// <summary>What the caller should know: dirty hives, INF lines not applied, a service used without an INF.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>True when the image already has every change: applying writes nothing.</summary>
    public bool IsEmpty => Files.Count == 0 && Changes.Count == 0;
}
