using System;
using System.Collections.Generic;
using System.Globalization;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>What the SYSTEM hive (and SOFTWARE, when there is one) of an offline Windows say about it.</summary>
public sealed class WindowsSystemConfig
{
    private WindowsSystemConfig(string controlSet, IReadOnlyList<WindowsService> services, IReadOnlyList<CriticalDeviceEntry> criticalDevices, int? driverPackageCount, int? driversHivePackageCount, WindowsVersion? version, string? processorArchitecture)
    {
        ProcessorArchitecture = processorArchitecture;
        Architecture = NormalizeArchitecture(processorArchitecture);
        ArchitectureSource = Architecture is null ? null : $@"SYSTEM\{controlSet}\Control\Session Manager\Environment\PROCESSOR_ARCHITECTURE";
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

    /// <summary>
    /// The processor architecture as INF decorations name it (x86, amd64, arm64, ia64, arm): from
    /// <see cref="ProcessorArchitecture"/>, else (when the installation read it) from the PE header of the kernel
    /// image; null when neither says. <see cref="ArchitectureSource"/> says which.
    /// </summary>
    public string? Architecture { get; private set; }

    /// <summary>Where <see cref="Architecture"/> came from: the registry value (SYSTEM\ControlSet001\Control\Session Manager\Environment\PROCESSOR_ARCHITECTURE) or the file whose PE header was read (\Windows\System32\ntoskrnl.exe).</summary>
    public string? ArchitectureSource { get; private set; }

    /// <summary>Control\ProductOptions\ProductType: "WinNT" (workstation), "ServerNT" (server), "LanmanNT" (domain controller); null when absent.</summary>
    public string? ProductType { get; private set; }

    /// <summary>The DriverDatabase key of the SYSTEM hive (Windows 8 and later), or null when SYSTEM has none.</summary>
    public DriverDatabase? DriverDatabase { get; private set; }

    /// <summary>The DriverDatabase of the separate System32\config\DRIVERS hive, or null when the image has no such hive or key.</summary>
    public DriverDatabase? DriversHiveDatabase { get; private set; }

    /// <summary>The version from SOFTWARE, or null when the image has no SOFTWARE hive or it lacks the key.</summary>
    public WindowsVersion? Version { get; }

    /// <summary>
    /// The Windows drivers are chosen for, as INF decorations see it: architecture, NT major.minor, build and product
    /// type; null when the architecture or the version (SOFTWARE) cannot be read.
    /// </summary>
    public TargetOs? GetTargetOs()
    {
        if (Architecture is null || Version is null)
        {
            return null;
        }
        int major, minor;
        if (Version.MajorVersion is uint maj)
        {
            major = (int)Math.Min(maj, 1000);
            minor = (int)Math.Min(Version.MinorVersion ?? 0, 1000);
        }
        else if (!TryParseVersion(Version.CurrentVersion, out major, out minor))
        {
            return null;
        }
        int build = int.TryParse(Version.CurrentBuild?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int b) ? b : 0;
        int productType = ProductType?.Trim().ToUpperInvariant() switch
        {
            "LANMANNT" => 2,
            "SERVERNT" => 3,
            _ => Version.InstallationType?.StartsWith("Server", StringComparison.OrdinalIgnoreCase) == true ? 3 : 1,
        };
        return new TargetOs(Architecture, major, minor, build, productType);
    }

    private static bool TryParseVersion(string? text, out int major, out int minor)
    {
        major = minor = 0;
        string[] parts = (text ?? string.Empty).Trim().Split('.');
        return parts.Length == 2 &&
            int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out major) && major < 1000 &&
            int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out minor) && minor < 1000;
    }

    /// <summary>The INF architecture name for a PROCESSOR_ARCHITECTURE value (x86, AMD64, ARM64, IA64, ARM), or null.</summary>
    internal static string? NormalizeArchitecture(string? processorArchitecture) => processorArchitecture?.Trim().ToUpperInvariant() switch
    {
        "X86" => "x86",
        "AMD64" => "amd64",
        "ARM64" => "arm64",
        "IA64" => "ia64",
        "ARM" => "arm",
        _ => null,
    };

    /// <summary>Used by the installation when the environment does not name the architecture but a kernel image does.</summary>
    internal void SetArchitectureFromFile(string architecture, string source)
    {
        Architecture = architecture;
        ArchitectureSource = source;
    }

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

        var config = new WindowsSystemConfig(controlSet, services, devices, packages, driversHivePackages, software is null ? null : ReadVersion(software), ReadArchitecture(set));
        RegistryKey? productOptions = set.OpenSubkey(@"Control\ProductOptions");
        config.ProductType = productOptions is null ? null : RegistryRead.String(productOptions, "ProductType");
        IReadOnlyDictionary<Guid, string> classNames = ReadClassNames(set);
        config.DriverDatabase = DriverDatabase.Read(system, "SYSTEM", classNames);
        config.DriversHiveDatabase = drivers is null ? null : DriverDatabase.Read(drivers, "DRIVERS", classNames);
        return config;
    }

    // The image's own names for its setup classes: Control\Class\{GUID}\Class.
    private static Dictionary<Guid, string> ReadClassNames(RegistryKey controlSet)
    {
        var names = new Dictionary<Guid, string>();
        RegistryKey? classes = controlSet.OpenSubkey(@"Control\Class");
        if (classes is null)
        {
            return names;
        }
        foreach (RegistryKey k in classes.GetSubkeys())
        {
            if (Guid.TryParse(k.Name, out Guid g) && RegistryRead.String(k, "Class") is { Length: > 0 } name)
            {
                names[g] = name;
            }
        }
        return names;
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
