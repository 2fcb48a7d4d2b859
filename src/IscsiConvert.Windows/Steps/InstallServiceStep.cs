using System;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>
/// Writes the service key of the function driver a package's INF installs for a device — AddService's type, error
/// control, group, ImagePath and the service's AddReg — as a boot-start service (Start = 0), without copying files or
/// staging the package (for a driver whose files the image already has, or that another step copies).
/// </summary>
public sealed class InstallServiceStep : PlanStep
{
    /// <summary>The service <paramref name="package"/>'s INF installs for <paramref name="deviceId"/>.</summary>
    /// <param name="deviceId">The device (it picks the install section).</param>
    /// <param name="package">The package whose INF has the AddService.</param>
    public InstallServiceStep(string deviceId, DriverPackage package)
    {
        DeviceId = BootDeviceStep.CheckId(deviceId);
        Package = package ?? throw new ArgumentNullException(nameof(package));
    }

    /// <summary>The device.</summary>
    public string DeviceId { get; }

    /// <summary>The package.</summary>
    public DriverPackage Package { get; }

    internal override bool NeedsTarget => true;

    internal override void Plan(BootPlanContext ctx)
    {
        SuppliedDriver driver = BootDeviceStep.ResolveSupplied(ctx, DeviceId, new[] { Package });
        // Windows 8 and later write a third-party ImagePath rooted (\SystemRoot\…), XP – 7 relative to the Windows folder.
        ServiceKeyPlan.Plan(ctx, driver, storeFolder: null, imagePathRooted: ctx.Config.HasDriverDatabase, owner: null);
        ctx.Report.Add($"{DeviceId}: {driver.OriginalInfName} [{driver.Install.InstallSection}] service {driver.Function.Name} (service key only)");
    }

    /// <inheritdoc/>
    public override string ToString() => $"install the service of {Package.Inf.FullPath ?? Package.Inf.FileName} for {DeviceId}";
}
