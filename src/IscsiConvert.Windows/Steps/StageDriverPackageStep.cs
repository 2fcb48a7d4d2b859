using System;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>
/// Installs a driver package for a device the way each Windows family's setup does, without touching the Critical
/// Device Database or BootFlags: XP – 7 the files, oemN.inf, catalog, (Vista and 7) driver store folder and service
/// key; 8 and later the driver store folder, oemN.inf, catalog, files, service key and the DriverDatabase entries.
/// The install section is the one the package's INF gives the device on the image's Windows. An INF already staged
/// with the same content is recognised and its oemN number reused. The service is made boot-start (Start = 0), as
/// for every package this engine installs.
/// </summary>
public sealed class StageDriverPackageStep : PlanStep
{
    /// <summary>Installs <paramref name="package"/> for <paramref name="deviceId"/>.</summary>
    /// <param name="deviceId">The device the package serves (it picks the install section).</param>
    /// <param name="package">The package (<see cref="DriverPackage.Open"/>).</param>
    public StageDriverPackageStep(string deviceId, DriverPackage package)
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
        if (ctx.Config.HasDriverDatabase)
        {
            ctx.DriverDatabase.Stage(ctx, driver);
        }
        else
        {
            CriticalDeviceRules.Stage(ctx, driver);
        }
        ctx.Report.Add($"{DeviceId}: {driver.OriginalInfName} [{driver.Install.InstallSection}] service {driver.Function.Name} (package staged)");
    }

    /// <inheritdoc/>
    public override string ToString() => $"stage {Package.Inf.FullPath ?? Package.Inf.FileName} for {DeviceId}";
}
