using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// What an iSCSI boot preparation is to do, as an immutable value: each <c>With…</c> returns a new builder and leaves
/// this one as it was, so a builder can be shared, kept as a template and extended (in C# and in PowerShell alike:
/// <c>$b = [IscsiConvert.Windows.IscsiBootBuilder]::new().WithBootAdapter($id)</c>). Arguments are checked when
/// given (a bad PCI path, an unreadable .reg file, a package without INF throw at the <c>With…</c> call), the image
/// is read only when planning. <see cref="ToSteps"/> is the composition it stands for: one <see cref="BootDeviceStep"/>
/// per device (with every package offered), then one <see cref="RegFileStep"/> per .reg file.
/// </summary>
public sealed class IscsiBootBuilder
{
    private readonly BootDeviceStep[] _devices;
    private readonly DriverPackage[] _packages;
    private readonly RegFile[] _regFiles;

    /// <summary>An empty builder.</summary>
    public IscsiBootBuilder()
        : this(Array.Empty<BootDeviceStep>(), Array.Empty<DriverPackage>(), Array.Empty<RegFile>(), null, null)
    {
    }

    private IscsiBootBuilder(BootDeviceStep[] devices, DriverPackage[] packages, RegFile[] regFiles, string? service, TargetOs? target)
    {
        _devices = devices;
        _packages = packages;
        _regFiles = regFiles;
        Service = service;
        Target = target;
    }

    /// <summary>The devices' IDs, in the order given.</summary>
    public IReadOnlyList<string> DeviceIds => _devices.Select(d => d.DeviceId).ToList();

    /// <summary>The driver packages offered.</summary>
    public IReadOnlyList<DriverPackage> DriverPackages => _packages;

    /// <summary>The .reg files.</summary>
    public IReadOnlyList<RegFile> RegFiles => _regFiles;

    /// <summary>The service named for the NICs instead of an INF, or null.</summary>
    public string? Service { get; }

    /// <summary>The Windows to match INFs for, or null to read it from the image.</summary>
    public TargetOs? Target { get; }

    /// <summary>Adds the boot NIC by device ID, e.g. <c>PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02</c> (repeatable).</summary>
    /// <param name="deviceId">The NIC's device ID.</param>
    public IscsiBootBuilder WithBootAdapter(string deviceId) => WithBootAdapter(deviceId, null);

    /// <summary>
    /// Adds the boot NIC with its PCI location as <c>lspci -P</c> prints it (<c>00:1e.0/01:01.0</c>): on Windows
    /// XP – 7 the Critical Device Database also gets the device-path entry (<c>PCIROOT(0)#PCI(1E00)#PCI(0100)</c>).
    /// </summary>
    /// <param name="deviceId">The NIC's device ID.</param>
    /// <param name="pciPath">Its PCI path, or null.</param>
    /// <exception cref="FormatException"><paramref name="pciPath"/> is not a PCI path.</exception>
    public IscsiBootBuilder WithBootAdapter(string deviceId, string? pciPath) =>
        new(Append(_devices, BootDeviceStep.Network(deviceId, pciPath)), _packages, _regFiles, Service, Target);

    /// <summary>Adds a storage controller (virtio-scsi, AHCI, NVMe…) whose driver is made boot-critical the same way (repeatable).</summary>
    /// <param name="deviceId">The controller's device ID.</param>
    public IscsiBootBuilder WithStorageController(string deviceId) =>
        new(Append(_devices, BootDeviceStep.Storage(deviceId)), _packages, _regFiles, Service, Target);

    /// <summary>Offers a driver package (its .inf, or a folder holding one), installed if it serves a device best (repeatable).</summary>
    /// <param name="infOrFolder">The package's INF or folder.</param>
    public IscsiBootBuilder WithDriverPackage(string infOrFolder) =>
        WithDriverPackage(DriverPackage.Open(infOrFolder ?? throw new ArgumentNullException(nameof(infOrFolder))));

    /// <summary>Offers a driver package already opened.</summary>
    /// <param name="package">The package.</param>
    public IscsiBootBuilder WithDriverPackage(DriverPackage package) =>
        new(_devices, Append(_packages, package ?? throw new ArgumentNullException(nameof(package))), _regFiles, Service, Target);

    /// <summary>
    /// Adds a regedit file (regedit 5.00 or REGEDIT4) applied after the drivers' changes (repeatable; usable without a
    /// device): see <see cref="RegFileStep"/>.
    /// </summary>
    /// <param name="path">The .reg file.</param>
    /// <exception cref="RegFileParseException">The file is not valid .reg text (read now, not at planning).</exception>
    public IscsiBootBuilder WithRegFile(string path) =>
        WithRegFile(RegFile.Load(path ?? throw new ArgumentNullException(nameof(path))));

    /// <summary>Adds a regedit file already read.</summary>
    /// <param name="file">The parsed file.</param>
    public IscsiBootBuilder WithRegFile(RegFile file)
    {
        _ = new RegFileStep(file ?? throw new ArgumentNullException(nameof(file))); // refuses a root the plan cannot edit now
        return new(_devices, _packages, Append(_regFiles, file), Service, Target);
    }

    /// <summary>
    /// Uses the service <paramref name="serviceName"/> of the image for the boot NICs without looking for an INF (for
    /// an image whose INF folder lacks the driver's INF but whose SYSTEM hive has its service).
    /// </summary>
    /// <param name="serviceName">The service key name, e.g. E1G60.</param>
    public IscsiBootBuilder WithService(string serviceName)
    {
        if (string.IsNullOrWhiteSpace(serviceName) || serviceName.IndexOf('\\') >= 0)
        {
            throw new ArgumentException("A service key name is needed, e.g. E1G60.", nameof(serviceName));
        }
        return new(_devices, _packages, _regFiles, serviceName.Trim(), Target);
    }

    /// <summary>The Windows version to match INFs for, when the image cannot tell (no SOFTWARE hive).</summary>
    /// <param name="target">The target, e.g. <c>TargetOs.Parse("NTamd64.10.0")</c>.</param>
    public IscsiBootBuilder ForTarget(TargetOs target) =>
        new(_devices, _packages, _regFiles, Service, target ?? throw new ArgumentNullException(nameof(target)));

    /// <summary>The steps this builder stands for: a <see cref="BootDeviceStep"/> per device, then a <see cref="RegFileStep"/> per .reg file.</summary>
    /// <exception cref="InvalidOperationException">Nothing was named.</exception>
    public IReadOnlyList<PlanStep> ToSteps()
    {
        if (_devices.Length == 0 && _regFiles.Length == 0)
        {
            throw new InvalidOperationException("Name the boot adapter with WithBootAdapter (or a controller with WithStorageController, or a .reg file with WithRegFile) first.");
        }
        var steps = new List<PlanStep>();
        foreach (BootDeviceStep d in _devices)
        {
            steps.Add(d.IsNetwork
                ? BootDeviceStep.Network(d.DeviceId, d.Device.PciPath, _packages, Service)
                : BootDeviceStep.Storage(d.DeviceId, _packages));
        }
        steps.AddRange(_regFiles.Select(f => new RegFileStep(f)));
        return steps;
    }

    private static T[] Append<T>(T[] items, T item)
    {
        var copy = new T[items.Length + 1];
        Array.Copy(items, copy, items.Length);
        copy[items.Length] = item;
        return copy;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{_devices.Length} device(s), {_packages.Length} package(s), {_regFiles.Length} .reg file(s){(Service is not null ? ", service " + Service : string.Empty)}{(Target is not null ? ", target " + Target : string.Empty)}";
}
