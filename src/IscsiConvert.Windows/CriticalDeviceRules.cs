using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Windows XP – 7 (no DriverDatabase): the Critical Device Database. Each form of the device's ID (and the device
/// path, when its PCI location is given) gets an entry with the class GUID and service — plus, as the real Windows 7
/// hive's entries have them, DriverPackageId (the driver-store folder, Vista and 7) and the INF's UpperFilters /
/// LowerFilters; the service is made boot-start (Start = 0). A supplied package is installed first: its files where
/// CopyFiles/DestinationDirs say, the INF as \Windows\INF\oemN.inf, its catalog as CatRoot\{F750E6C3-…}\oemN.cat,
/// on Vista and 7 the whole package in System32\DriverStore\FileRepository\&lt;inf&gt;_&lt;arch&gt;_neutral_&lt;hex&gt;,
/// and the service key from AddService and its AddReg.
/// </summary>
internal static class CriticalDeviceRules
{
    internal const string CatalogRoot = WindowsInstallation.WindowsFolder + @"\System32\CatRoot\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}";
    internal const string FileRepository = WindowsInstallation.WindowsFolder + @"\System32\DriverStore\FileRepository";

    public static void Plan(BootPlanContext ctx, BootDevice device, DriverChoice choice)
    {
        string? packageId = null;
        var filters = new Dictionary<string, IReadOnlyList<string>>();
        if (choice.Supplied is { } driver)
        {
            packageId = Stage(ctx, driver);
            foreach (string name in new[] { "UpperFilters", "LowerFilters" })
            {
                if (driver.Filters(name) is { Count: > 0 } list)
                {
                    filters[name] = list;
                }
            }
        }
        else if (choice.Candidate?.Source.Origin == InfOrigin.DriverStore)
        {
            // An inbox driver read from its driver-store folder: that folder is its package ID.
            string path = choice.Candidate.Source.Path;
            string folder = path.Substring(0, path.LastIndexOf('\\'));
            packageId = folder.Substring(folder.LastIndexOf('\\') + 1);
        }
        var keys = new List<string>(IscsiBoot.CriticalDeviceIds(device.DeviceId));
        if (device.PciPath is { } pciPath)
        {
            keys.Add(PciDevicePath.ToCriticalDeviceKey(pciPath));
        }
        foreach (string id in keys)
        {
            string key = $@"{ctx.ControlSet}\Control\CriticalDeviceDatabase\{id}";
            ctx.System.SetString(key, "ClassGUID", choice.ClassGuid);
            ctx.System.SetString(key, "Service", choice.Service);
            if (packageId is not null)
            {
                ctx.System.SetString(key, "DriverPackageId", packageId);
            }
            foreach (KeyValuePair<string, IReadOnlyList<string>> f in filters)
            {
                ctx.System.Set(key, f.Key, RegistryValueType.MultiString, RegistryValue.EncodeMultiString(f.Value));
            }
        }
        ctx.System.SetDWord($@"{ctx.ControlSet}\Services\{choice.Service}", "Start", 0);
    }

    /// <summary>
    /// Installs a supplied package as XP – 7 setup does — files, oemN.inf and catalog, on Vista and 7 the driver store
    /// folder, the service key (boot start) — and returns the driver store folder (null on XP, which has none).
    /// </summary>
    public static string? Stage(BootPlanContext ctx, SuppliedDriver driver)
    {
        // Vista and 7 keep every package in the driver store; XP has none.
        string? store = ctx.Target.Major >= 6 ? driver.StoreFolderName(neutral: true) : null;
        OemInfSlot slot = OemInfSlot.Choose(ctx.Installation, driver.InfBytes, null, ctx.OemNumbers);
        ctx.OemNumbers.Add(slot.Number);
        StageFiles(ctx, driver, store, slot);
        ServiceKeyPlan.Plan(ctx, driver, store, imagePathRooted: false, owner: null);
        return store;
    }

    /// <summary>The package's files: driver store (when there is one), destinations, oemN.inf, oemN.cat.</summary>
    internal static void StageFiles(BootPlanContext ctx, SuppliedDriver driver, string? store, OemInfSlot slot)
    {
        if (store is not null)
        {
            foreach ((string relative, string host) in driver.StoreFiles)
            {
                ctx.AddFile(FileCopy.FromHostFile(host, $@"{FileRepository}\{store}\{relative}"));
            }
        }
        foreach (FileCopy f in driver.InstalledFiles(store))
        {
            ctx.AddFile(f);
        }
        ctx.AddFile(FileCopy.FromHostFile(driver.StoreFiles[0].HostPath, $@"{WindowsInstallation.WindowsFolder}\INF\{slot.FileName}"));
        if (driver.Catalog is { } catalog)
        {
            string host = driver.StoreFiles.First(f => string.Equals(f.Relative, catalog, System.StringComparison.OrdinalIgnoreCase)).HostPath;
            ctx.AddFile(FileCopy.FromHostFile(host, $@"{CatalogRoot}\oem{slot.Number}.cat"));
        }
        RequireServiceBinary(ctx, driver, store);
    }

    /// <summary>
    /// A boot-start service whose binary is not there stops the boot (STOP 0x7B all over again): the binary the service
    /// names must be a file this plan installs or one the image already holds. Refused while planning, before anything
    /// is written (a package whose CopyFiles and ServiceBinary disagree).
    /// </summary>
    private static void RequireServiceBinary(BootPlanContext ctx, SuppliedDriver driver, string? store)
    {
        if (driver.ServiceBinaryPath(store) is not { } binary)
        {
            return;
        }
        bool installed = ctx.Files.Any(f => string.Equals(f.Destination, binary, System.StringComparison.OrdinalIgnoreCase));
        if (!installed && ctx.Installation.Volume.TryGetEntry(binary) is not { IsDirectory: false })
        {
            throw new UnsafeToWriteException(
                $"{driver.OriginalInfName}: the service {driver.Function.Name} starts {binary}, which the package does not install (CopyFiles) and the image does not hold; nothing was written",
                driver.Package.Folder);
        }
    }
}
