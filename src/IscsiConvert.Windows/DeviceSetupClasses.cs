using System;

namespace IscsiConvert.Windows;

/// <summary>
/// The device setup classes the boot path cares about (Microsoft's "System-Defined Device Setup Classes"). Other
/// class names come from the image itself (<c>Control\Class\{GUID}\Class</c>), never from a table of ours.
/// </summary>
internal static class DeviceSetupClasses
{
    /// <summary>Net: network adapters.</summary>
    public static readonly Guid Net = new("4d36e972-e325-11ce-bfc1-08002be10318");

    /// <summary>SCSIAdapter: SCSI, RAID, SAS, NVMe and virtual storage controllers (storport/scsiport miniports).</summary>
    public static readonly Guid ScsiAdapter = new("4d36e97b-e325-11ce-bfc1-08002be10318");

    /// <summary>HDC: IDE/ATA/AHCI controllers.</summary>
    public static readonly Guid Hdc = new("4d36e96a-e325-11ce-bfc1-08002be10318");

    /// <summary>The name of one of the three classes above, or null.</summary>
    public static string? WellKnownName(Guid classGuid) =>
        classGuid == Net ? "Net" : classGuid == ScsiAdapter ? "SCSIAdapter" : classGuid == Hdc ? "HDC" : null;

    /// <summary>Whether a class (by name, as an INF's [Version] Class says it) is a network adapter class: Net.</summary>
    public static bool IsNetworkClass(string? className) => string.Equals(className, "Net", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a class is a storage controller class a boot disk hangs off: SCSIAdapter or HDC.</summary>
    public static bool IsStorageClass(string? className) =>
        string.Equals(className, "SCSIAdapter", StringComparison.OrdinalIgnoreCase) || string.Equals(className, "HDC", StringComparison.OrdinalIgnoreCase);
}
