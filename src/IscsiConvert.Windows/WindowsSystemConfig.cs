using System;
using System.Collections.Generic;
using System.Globalization;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>What the SYSTEM hive (and SOFTWARE, when there is one) of an offline Windows say about it.</summary>
public sealed class WindowsSystemConfig
{
    private WindowsSystemConfig(string controlSet, IReadOnlyList<WindowsService> services, IReadOnlyList<CriticalDeviceEntry> criticalDevices, int? driverPackageCount, int? driversHivePackageCount, WindowsVersion? version, string? processorArchitecture)
    {
        ProcessorArchitecture = processorArchitecture;
        DriversHivePackageCount = driversHivePackageCount;
        CurrentControlSet = controlSet;
        Services = services;
        CriticalDevices = criticalDevices;
        DriverPackageCount = driverPackageCount;
        Version = version;
    }

    /// <summary>The control set Windows boots with, from Select\Current: "ControlSet001".</summary>
    public string CurrentControlSet { get; }

    /// <summary>The keys under CurrentControlSet\Services, in hive order.</summary>
    public IReadOnlyList<WindowsService> Services { get; }

    /// <summary>The entries of CurrentControlSet\Control\CriticalDeviceDatabase (empty on Windows 8 and later, which have none).</summary>
    public IReadOnlyList<CriticalDeviceEntry> CriticalDevices { get; }

    /// <summary>True when the SYSTEM hive has a DriverDatabase key at its root (Windows 8 and later).</summary>
    public bool HasDriverDatabase => DriverPackageCount is not null;

    /// <summary>The subkeys of SYSTEM\DriverDatabase\DriverPackages, or null when there is no DriverDatabase.</summary>
    public int? DriverPackageCount { get; }

    /// <summary>
    /// The subkeys of DriverDatabase\DriverPackages in the separate System32\config\DRIVERS hive (the full driver
    /// database on builds that have that hive), or null when the image has no DRIVERS hive.
    /// </summary>
    public int? DriversHivePackageCount { get; }

    /// <summary>
    /// PROCESSOR_ARCHITECTURE from the control set's Session Manager\Environment ("x86", "AMD64", "ARM64", "IA64"),
    /// or null when it is absent.
    /// </summary>
    public string? ProcessorArchitecture { get; }

    /// <summary>The version from SOFTWARE, or null when the image has no SOFTWARE hive or it lacks the key.</summary>
    public WindowsVersion? Version { get; }

    /// <summary>Reads the model from an open SYSTEM hive and, when the image has them, SOFTWARE and DRIVERS.</summary>
    /// <exception cref="IscsiConvert.CorruptDataException">SYSTEM has no usable Select\Current or its control set is missing.</exception>
    public static WindowsSystemConfig Read(RegistryHive system, RegistryHive? software, RegistryHive? drivers)
    {
        if (system is null)
        {
            throw new ArgumentNullException(nameof(system));
        }
        string controlSet = ReadCurrentControlSet(system);
        RegistryKey set = system.OpenKey(controlSet)
            ?? throw Corrupt(system, controlSet, "Select\\Current names a control set that does not exist");

        var services = new List<WindowsService>();
        RegistryKey? servicesKey = set.OpenSubkey("Services");
        if (servicesKey is not null)
        {
            foreach (RegistryKey k in servicesKey.GetSubkeys())
            {
                services.Add(new WindowsService(
                    k.Name,
                    RegistryRead.DWord(k, "Type"),
                    RegistryRead.DWord(k, "Start"),
                    RegistryRead.String(k, "Group"),
                    RegistryRead.String(k, "ImagePath"),
                    RegistryRead.DWord(k, "BootFlags")));
            }
        }

        var devices = new List<CriticalDeviceEntry>();
        RegistryKey? cddb = set.OpenSubkey(@"Control\CriticalDeviceDatabase");
        if (cddb is not null)
        {
            foreach (RegistryKey k in cddb.GetSubkeys())
            {
                devices.Add(new CriticalDeviceEntry(k.Name, RegistryRead.String(k, "ClassGUID"), RegistryRead.String(k, "Service")));
            }
        }

        int? packages = CountDriverPackages(system);
        // A DRIVERS hive without a DriverDatabase key still is a DRIVERS hive: it reports zero packages, not none.
        int? driversHivePackages = drivers is null ? null : CountDriverPackages(drivers) ?? 0;

        return new WindowsSystemConfig(controlSet, services, devices, packages, driversHivePackages, software is null ? null : ReadVersion(software), ReadArchitecture(set));
    }

    private static string? ReadArchitecture(RegistryKey controlSet)
    {
        RegistryKey? environment = controlSet.OpenSubkey(@"Control\Session Manager\Environment");
        return environment is null ? null : RegistryRead.String(environment, "PROCESSOR_ARCHITECTURE");
    }

    private static int? CountDriverPackages(RegistryHive hive)
    {
        RegistryKey? driverDatabase = hive.OpenKey("DriverDatabase");
        return driverDatabase is null ? null : driverDatabase.OpenSubkey("DriverPackages")?.SubkeyCount ?? 0;
    }

    private static string ReadCurrentControlSet(RegistryHive system)
    {
        RegistryKey? select = system.OpenKey("Select");
        uint? current = select is null ? null : RegistryRead.DWord(select, "Current");
        // Windows numbers control sets 001 to 999; 0 or more is no control set it could boot.
        if (current is null || current.Value == 0 || current.Value > 999)
        {
            throw Corrupt(system, "Select", $"Current is {(current is null ? "missing or not a DWORD" : current.Value.ToString(CultureInfo.InvariantCulture))}, expected a control set number 1-999");
        }
        return "ControlSet" + current.Value.ToString("D3", CultureInfo.InvariantCulture);
    }

    private static WindowsVersion? ReadVersion(RegistryHive software)
    {
        RegistryKey? cv = software.OpenKey(@"Microsoft\Windows NT\CurrentVersion");
        if (cv is null)
        {
            return null;
        }
        return new WindowsVersion(
            RegistryRead.String(cv, "ProductName"),
            RegistryRead.String(cv, "CurrentVersion"),
            RegistryRead.String(cv, "CurrentBuild") ?? RegistryRead.String(cv, "CurrentBuildNumber"),
            RegistryRead.DWord(cv, "CurrentMajorVersionNumber"),
            RegistryRead.DWord(cv, "CurrentMinorVersionNumber"),
            RegistryRead.String(cv, "EditionID"),
            RegistryRead.String(cv, "InstallationType"));
    }

    private static CorruptDataException Corrupt(RegistryHive hive, string key, string problem) =>
        new("registry", key, 0, problem, hive.FilePath);
}
