using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>
/// Makes one device's driver boot-critical — the heart of the iSCSI preparation. The driver is found by matching the
/// device ID against the image's INFs and the supplied packages as Plug and Play ranks them (or is the service named);
/// then the Windows family's rules write it: XP – 7 (<see cref="CriticalDeviceRules"/>) Critical Device Database
/// entries and boot start, a supplied package installed; 8 and later (<see cref="DriverDatabaseRules"/>) a supplied
/// package staged in the driver store and DriverDatabase, boot start and, for the NIC, the network-boot BootFlags bit.
/// </summary>
public sealed class BootDeviceStep : PlanStep
{
    private readonly DriverPackage[] _packages;

    private BootDeviceStep(BootDevice device, IEnumerable<DriverPackage>? packages, string? service)
    {
        Device = device;
        _packages = packages?.ToArray() ?? Array.Empty<DriverPackage>();
        if (_packages.Any(p => p is null))
        {
            throw new ArgumentException("A driver package is null.", nameof(packages));
        }
        if (service is not null && (string.IsNullOrWhiteSpace(service) || service.IndexOf('\\') >= 0))
        {
            throw new ArgumentException("A service key name is needed, e.g. E1G60.", nameof(service));
        }
        Service = service?.Trim();
    }

    /// <summary>The boot NIC.</summary>
    /// <param name="deviceId">Its device ID, e.g. <c>PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02</c>.</param>
    /// <param name="pciPath">Its PCI location as <c>lspci -P</c> prints it (XP – 7 also get the device-path CDDB entry), or null.</param>
    /// <param name="packages">Driver packages to install if one serves it best.</param>
    /// <param name="service">Use this service of the image without reading an INF (Net class assumed), or null.</param>
    /// <exception cref="FormatException"><paramref name="pciPath"/> is not a PCI path.</exception>
    public static BootDeviceStep Network(string deviceId, string? pciPath = null, IEnumerable<DriverPackage>? packages = null, string? service = null)
    {
        if (pciPath is not null)
        {
            PciDevicePath.ToCriticalDeviceKey(pciPath); // refuse a bad path now, not at Plan
        }
        return new BootDeviceStep(new BootDevice(CheckId(deviceId), BootDeviceRole.Network, pciPath), packages, service);
    }

    /// <summary>A storage controller (virtio-scsi, AHCI, NVMe…).</summary>
    /// <param name="deviceId">Its device ID.</param>
    /// <param name="packages">Driver packages to install if one serves it best.</param>
    public static BootDeviceStep Storage(string deviceId, IEnumerable<DriverPackage>? packages = null) =>
        new(new BootDevice(CheckId(deviceId), BootDeviceRole.Storage, null), packages, null);

    internal BootDevice Device { get; }

    /// <summary>The device ID.</summary>
    public string DeviceId => Device.DeviceId;

    /// <summary>True for the boot NIC, false for a storage controller.</summary>
    public bool IsNetwork => Device.Role == BootDeviceRole.Network;

    /// <summary>The service named instead of an INF, or null.</summary>
    public string? Service { get; }

    /// <summary>The packages offered.</summary>
    public IReadOnlyList<DriverPackage> Packages => _packages;

    internal override bool NeedsTarget => true;

    internal override void Plan(BootPlanContext ctx)
    {
        DriverChoice choice = Choose(ctx);
        if (ctx.Config.HasDriverDatabase)
        {
            ctx.DriverDatabase.Plan(ctx, Device, choice);
        }
        else
        {
            CriticalDeviceRules.Plan(ctx, Device, choice);
        }
    }

    internal static string CheckId(string deviceId)
    {
        if (string.IsNullOrWhiteSpace(deviceId))
        {
            throw new ArgumentException("A device ID is needed, e.g. PCI\\VEN_8086&DEV_100E.", nameof(deviceId));
        }
        return deviceId.Trim();
    }

    // The driver for the device: the best INF as PnP ranks them, or the service named.
    private DriverChoice Choose(BootPlanContext ctx)
    {
        if (Service is not null && Device.Role == BootDeviceRole.Network)
        {
            if (ctx.System.Hive.OpenKey($@"{ctx.ControlSet}\Services\{Service}") is null)
            {
                throw new NotSupportedException($"The image has no service {Service} in {ctx.ControlSet}\\Services.");
            }
            ctx.Report.Add($"{DeviceId}: service {Service} as given (no INF read; Net class assumed)");
            ctx.Warnings.Add($"{DeviceId}: no INF was used — the entries name the service {Service} given with --service, with the Net class GUID.");
            return new DriverChoice(Service, DeviceSetupClasses.Net.ToString("B").ToUpperInvariant(), null, null);
        }
        DriverMatchReport match = ctx.Installation.MatchDriver(DeviceId, HardwareId.Parse(DeviceId), _packages, ctx.Target, scanFirst: true);
        DriverCandidate best = match.Best ?? throw new NotSupportedException(
            $"No INF in the image{(_packages.Length > 0 ? " or the supplied packages" : string.Empty)} serves {DeviceId} for {ctx.Target}; supply the driver package that installs it.");
        // Between drivers PnP ranks equal (same rank, date and version — typically the package and its copy already
        // in the image's INF folder), the supplied package wins: it is what the caller asked to install.
        best = match.Candidates.FirstOrDefault(c => c.Source.Origin == InfOrigin.Supplied && c.Rank == best.Rank &&
            c.Source.Inf?.Version.DriverDate == best.Source.Inf?.Version.DriverDate && c.Source.Inf?.Version.DriverVersion == best.Source.Inf?.Version.DriverVersion) ?? best;
        string service = best.Service ?? throw new NotSupportedException($"{best.InfPath} installs no function driver service for {DeviceId}.");
        string classGuid = ClassGuidOf(best);
        SuppliedDriver? supplied = null;
        if (best.Source.Origin == InfOrigin.Supplied)
        {
            supplied = Resolve(ctx, best, _packages);
        }
        else if (ctx.System.Hive.OpenKey($@"{ctx.ControlSet}\Services\{service}") is null)
        {
            throw new NotSupportedException($"The image has no service {service} (from {best.InfPath}); supply the driver package that installs it.");
        }
        ctx.Report.Add($"{DeviceId}{(Device.Role == BootDeviceRole.Storage ? " (storage)" : string.Empty)}: {best.InfPath} [{best.InstallSection}] service {service}{(supplied is not null ? " (supplied package: installed)" : string.Empty)}");
        return new DriverChoice(service, classGuid, best, supplied);
    }

    internal static string ClassGuidOf(DriverCandidate candidate) =>
        candidate.Source.Inf?.Version.ClassGuid is { } g && Guid.TryParse(g, out Guid parsed)
            ? parsed.ToString("B").ToUpperInvariant() // as Windows writes it in the CDDB
            : throw new NotSupportedException($"{candidate.InfPath} names no valid ClassGuid.");

    /// <summary>The supplied package of a candidate, resolved for the target (its install section, files, service).</summary>
    internal static SuppliedDriver Resolve(BootPlanContext ctx, DriverCandidate candidate, IReadOnlyList<DriverPackage> packages)
    {
        DriverPackage package = packages.First(p => string.Equals(p.Inf.FullPath ?? p.Inf.FileName, candidate.InfPath, StringComparison.Ordinal));
        return SuppliedDriver.Resolve(package, candidate.InstallSection!, ctx.Target);
    }

    /// <summary>The best candidate among <paramref name="packages"/> alone for <paramref name="deviceId"/>, resolved.</summary>
    internal static SuppliedDriver ResolveSupplied(BootPlanContext ctx, string deviceId, IReadOnlyList<DriverPackage> packages)
    {
        DriverMatchReport match = ctx.Installation.MatchDriver(deviceId, HardwareId.Parse(deviceId), packages, ctx.Target, scanFirst: true);
        DriverCandidate candidate = match.Candidates.FirstOrDefault(c => c.Source.Origin == InfOrigin.Supplied) ?? throw new NotSupportedException(
            $"The package {string.Join(", ", packages.Select(p => p.Inf.FullPath ?? p.Inf.FileName))} does not serve {deviceId} for {ctx.Target}.");
        return Resolve(ctx, candidate, packages);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"make {(IsNetwork ? "the boot NIC" : "the storage controller")} {DeviceId}'s driver boot-critical{(Service is not null ? " (service " + Service + ")" : string.Empty)}";
}
