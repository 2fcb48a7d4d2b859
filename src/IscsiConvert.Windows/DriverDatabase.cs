using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// A DriverDatabase key (Windows 8 and later): in SYSTEM, and the full one in the separate System32\config\DRIVERS
/// hive on builds that have it. Packages with their INF, class, provider, date and version; and DeviceIds, which say
/// which INFs serve a device ID.
/// </summary>
public sealed class DriverDatabase
{
    // The Version value of a package, as Windows 10 writes it (48 bytes; not documented by Microsoft, read from the
    // hives in testdata and checked there against the INFs' own [Version] ClassGuid and DriverVer):
    // 0x00 4 bytes, 0x04 4 bytes (flags), 0x08 class GUID (16 bytes, GUID byte order), 0x18 DriverVer date as a FILETIME,
    // 0x20 DriverVer version as a little-endian 64-bit value with the major part in the high 16 bits.
    internal const int VersionClassGuidOffset = 0x08;
    internal const int VersionDateOffset = 0x18;
    internal const int VersionVersionOffset = 0x20;
    internal const int VersionMinLength = 0x28;

    // Bounds on what one hive can make us hold in memory.
    private const int MaxDeviceIds = 500_000;
    private const int MaxDeviceIdDepth = 8;

    private readonly Dictionary<string, List<string>> _deviceIds;

    private DriverDatabase(string hiveName, IReadOnlyList<DriverDatabasePackage> packages, Dictionary<string, List<string>> deviceIds)
    {
        HiveName = hiveName;
        Packages = packages;
        _deviceIds = deviceIds;
    }

    /// <summary>The hive the key was read from: "SYSTEM" or "DRIVERS".</summary>
    public string HiveName { get; }

    /// <summary>DriverPackages, in hive order.</summary>
    public IReadOnlyList<DriverDatabasePackage> Packages { get; }

    /// <summary>How many device IDs DeviceIds lists.</summary>
    public int DeviceIdCount => _deviceIds.Count;

    /// <summary>Every device ID DeviceIds lists (e.g. "PCI\VEN_1000&amp;DEV_0050", "*ACPI0004"), upper case.</summary>
    public IEnumerable<string> DeviceIds => _deviceIds.Keys;

    /// <summary>
    /// The INFs (original names, such as "lsi_sas.inf") DeviceIds lists for <paramref name="deviceId"/> (compared
    /// case-insensitively), in the order the key holds them; empty when none.
    /// </summary>
    public IReadOnlyList<string> GetInfsFor(string deviceId)
    {
        if (deviceId is null)
        {
            throw new ArgumentNullException(nameof(deviceId));
        }
        return _deviceIds.TryGetValue(HardwareId.Normalize(deviceId), out List<string>? infs) ? infs : Array.Empty<string>();
    }

    /// <summary>
    /// Reads the DriverDatabase key at the root of <paramref name="hive"/>, or returns null when it has none. Class
    /// names come from <paramref name="classNames"/> (the image's Control\Class), then the three boot-path classes.
    /// </summary>
    internal static DriverDatabase? Read(RegistryHive hive, string hiveName, IReadOnlyDictionary<Guid, string> classNames)
    {
        RegistryKey? root = hive.OpenKey("DriverDatabase");
        if (root is null)
        {
            return null;
        }
        var packages = new List<DriverDatabasePackage>();
        RegistryKey? packagesKey = root.OpenSubkey("DriverPackages");
        if (packagesKey is not null)
        {
            foreach (RegistryKey k in packagesKey.GetSubkeys())
            {
                packages.Add(ReadPackage(k, classNames));
            }
        }
        var deviceIds = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        RegistryKey? ids = root.OpenSubkey("DeviceIds");
        if (ids is not null)
        {
            foreach (RegistryKey k in ids.GetSubkeys())
            {
                CollectDeviceIds(k, k.Name, 1, deviceIds);
            }
        }
        return new DriverDatabase(hiveName, packages, deviceIds);
    }

    private static DriverDatabasePackage ReadPackage(RegistryKey k, IReadOnlyDictionary<Guid, string> classNames)
    {
        Guid? classGuid = null;
        DateTime? date = null;
        Version? version = null;
        RegistryValue? v = k.GetValue("Version");
        if (v is not null && v.Type == RegistryValueType.Binary)
        {
            DecodeVersion(v.Data.Span, out classGuid, out date, out version);
        }
        var services = new List<string>();
        RegistryKey? configurations = k.OpenSubkey("Configurations");
        if (configurations is not null)
        {
            foreach (RegistryKey c in configurations.GetSubkeys())
            {
                if (RegistryRead.String(c, "Service") is { Length: > 0 } s && !services.Contains(s, StringComparer.OrdinalIgnoreCase))
                {
                    services.Add(s);
                }
            }
        }
        string? className = null;
        if (classGuid is Guid g)
        {
            className = classNames.TryGetValue(g, out string? n) ? n : DeviceSetupClasses.WellKnownName(g);
        }
        return new DriverDatabasePackage(k.Name, RegistryRead.String(k, string.Empty), RegistryRead.String(k, "Provider"), classGuid, className, date, version, services);
    }

    /// <summary>Decodes the class GUID, DriverVer date and version of a package's Version value; fields it cannot hold stay null.</summary>
    internal static void DecodeVersion(ReadOnlySpan<byte> data, out Guid? classGuid, out DateTime? date, out Version? version)
    {
        classGuid = null;
        date = null;
        version = null;
        if (data.Length < VersionMinLength)
        {
            return;
        }
        classGuid = new Guid(data.Slice(VersionClassGuidOffset, 16).ToArray());
        long fileTime = BinaryPrimitives.ReadInt64LittleEndian(data.Slice(VersionDateOffset));
        // 0 is "no date"; DateTime cannot hold FILETIMEs past 9999-12-31.
        if (fileTime > 0 && fileTime <= DateTime.MaxValue.ToFileTimeUtc())
        {
            date = DateTime.FromFileTimeUtc(fileTime).Date;
        }
        ulong packed = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(VersionVersionOffset));
        version = new Version((int)(packed >> 48), (int)((packed >> 32) & 0xFFFF), (int)((packed >> 16) & 0xFFFF), (int)(packed & 0xFFFF));
    }

    private static void CollectDeviceIds(RegistryKey key, string path, int depth, Dictionary<string, List<string>> into)
    {
        if (into.Count >= MaxDeviceIds)
        {
            return;
        }
        // A key whose values name INFs is a device ID; the path below DeviceIds is the ID (PCI\VEN_1000&DEV_0050).
        List<string>? infs = null;
        foreach (string name in key.GetValueNames())
        {
            if (name.EndsWith(".inf", StringComparison.OrdinalIgnoreCase))
            {
                (infs ??= new List<string>()).Add(name);
            }
        }
        if (infs is not null)
        {
            into[HardwareId.Normalize(path)] = infs;
        }
        if (depth >= MaxDeviceIdDepth)
        {
            return;
        }
        foreach (RegistryKey sub in key.GetSubkeys())
        {
            CollectDeviceIds(sub, path + "\\" + sub.Name, depth + 1, into);
        }
    }
}
