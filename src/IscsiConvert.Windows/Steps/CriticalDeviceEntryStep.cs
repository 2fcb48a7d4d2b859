using System;

namespace IscsiConvert.Windows;

/// <summary>
/// Windows XP – 7: Critical Device Database entries for a device — every form of its ID (<see cref="IscsiBoot.CriticalDeviceIds"/>)
/// gets ClassGUID and Service — so that the service is loaded for it at boot. Only the entries: making the service
/// boot-start or installing it are other steps (<see cref="BootDeviceStep"/> does all of it).
/// </summary>
public sealed class CriticalDeviceEntryStep : PlanStep
{
    /// <summary>Entries for <paramref name="deviceId"/> naming <paramref name="service"/> and <paramref name="classGuid"/>.</summary>
    /// <param name="deviceId">The device ID, e.g. <c>PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086</c>.</param>
    /// <param name="service">The service key name, e.g. E1G60.</param>
    /// <param name="classGuid">The device setup class, e.g. <see cref="DeviceSetupClasses.Net"/>.</param>
    public CriticalDeviceEntryStep(string deviceId, string service, Guid classGuid)
    {
        DeviceId = BootDeviceStep.CheckId(deviceId);
        Service = string.IsNullOrWhiteSpace(service) ? throw new ArgumentException("A service key name is needed.", nameof(service)) : service.Trim();
        ClassGuid = classGuid;
    }

    /// <summary>The device ID.</summary>
    public string DeviceId { get; }

    /// <summary>The service named.</summary>
    public string Service { get; }

    /// <summary>The class GUID named.</summary>
    public Guid ClassGuid { get; }

    internal override void Plan(BootPlanContext ctx)
    {
        if (ctx.Config.HasDriverDatabase)
        {
            throw new NotSupportedException("Windows 8 and later have no Critical Device Database; make the driver boot-critical with BootDeviceStep instead.");
        }
        foreach (string id in IscsiBoot.CriticalDeviceIds(DeviceId))
        {
            string key = $@"{ctx.ControlSet}\Control\CriticalDeviceDatabase\{id}";
            ctx.System.SetString(key, "ClassGUID", ClassGuid.ToString("B").ToUpperInvariant());
            ctx.System.SetString(key, "Service", Service);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"critical device entry {DeviceId} -> {Service}";
}
