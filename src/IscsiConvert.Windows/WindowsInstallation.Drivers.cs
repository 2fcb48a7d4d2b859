using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using IscsiConvert.Drivers;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Windows;

/// <summary>The installation's INFs: reading them, matching a device against them, and its network and storage drivers.</summary>
public sealed partial class WindowsInstallation
{
    private const string InfFolder = WindowsFolder + @"\INF";
    // INF.Parse refuses files over 64 MiB (the Drivers layer's limit); checking the size first avoids reading them at all.
    private const long MaxInfBytes = 64L * 1024 * 1024;
    private const string DriverStoreFolder = WindowsFolder + @"\System32\DriverStore\FileRepository";

    /// <summary>
    /// Reads every INF of the image: <c>\Windows\INF\*.inf</c>, then the .inf files of each driver-store package
    /// folder. INFs are read tolerantly (an odd line of someone else's INF does not hide the rest), with
    /// <c>$ARCH$</c> replaced by <paramref name="templateArchitecture"/> when given; one that cannot be read is
    /// returned with its <see cref="ImageInf.Error"/> instead of stopping the rest.
    /// </summary>
    public IReadOnlyList<ImageInf> LoadInfs(string? templateArchitecture = null) => LoadInfs(templateArchitecture, null, out _);

    // LoadInfs; with a scan, only the INFs whose bytes may list the device's IDs are parsed and returned (the others
    // are counted in scannedOut).
    private List<ImageInf> LoadInfs(string? templateArchitecture, InfIdScan? scan, out int scannedOut)
    {
        var options = new InfReadOptions { Tolerant = true, TemplateArchitecture = templateArchitecture };
        var result = new List<ImageInf>();
        scannedOut = 0;
        foreach (string name in ListInfFiles())
        {
            Add(LoadInf(InfFolder + @"\" + name, InfOrigin.InfFolder, options, scan), ref scannedOut);
        }
        foreach (string package in ListDriverStorePackages())
        {
            string folder = DriverStoreFolder + @"\" + package;
            foreach (NtfsEntry e in Volume.ListDirectory(folder))
            {
                if (!e.IsDirectory && e.Name.EndsWith(".inf", StringComparison.OrdinalIgnoreCase))
                {
                    Add(LoadInf(folder + @"\" + e.Name, InfOrigin.DriverStore, options, scan), ref scannedOut);
                }
            }
        }
        return result;

        void Add(ImageInf? inf, ref int scannedOut)
        {
            if (inf is null)
            {
                scannedOut++;
            }
            else
            {
                result.Add(inf);
            }
        }
    }

    // One INF, parsed; null when the scan tells it cannot list the device's IDs.
    private ImageInf? LoadInf(string path, InfOrigin origin, InfReadOptions options, InfIdScan? scan)
    {
        NtfsEntry entry = Volume.GetEntry(path);
        if (entry.Size > MaxInfBytes)
        {
            return new ImageInf(path, origin, null, $"{entry.Size} bytes; INF files over {MaxInfBytes} bytes are not read");
        }
        var data = new byte[entry.Size];
        Stream opened;
        try
        {
            opened = Volume.OpenFile(path);
        }
        catch (UnsupportedFormatException ex)
        {
            // Content the NTFS layer cannot read (LZX-compressed by compact /exe:lzx, a WIMBoot pointer, a cloud file):
            // reported with this INF, the others still load.
            return new ImageInf(path, origin, null, ex.Message);
        }
        using (Stream s = opened)
        {
            int read = 0;
            while (read < data.Length)
            {
                int n = s.Read(data, read, data.Length - read);
                if (n == 0)
                {
                    return new ImageInf(path, origin, null, $"the file ended after {read} of {data.Length} bytes");
                }
                read += n;
            }
        }
        if (scan is not null && !scan.MayList(data))
        {
            return null;
        }
        try
        {
            return new ImageInf(path, origin, InfFile.Parse(data, path, options), null);
        }
        catch (InfParseException ex)
        {
            return new ImageInf(path, origin, null, ex.Message);
        }
    }

    /// <summary>
    /// The INFs that can serve the device <paramref name="deviceId"/> (such as
    /// <c>PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02</c>, expanded to the hardware and compatible IDs
    /// the device reports) on this Windows, best first, ranked as Plug and Play ranks them: a match on one of the
    /// device's hardware IDs before one on a compatible ID, a more specific ID first, then the newer DriverVer date,
    /// then the higher DriverVer version. Candidates come from the image's INFs (\Windows\INF and the driver store)
    /// and <paramref name="packages"/>; models sections are chosen for <paramref name="target"/> (default: the
    /// image's own version and architecture) with the INF decoration rules, so an INF whose decorations exclude the
    /// target is not offered (it is listed in <see cref="DriverMatchReport.Excluded"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No <paramref name="target"/> was given and the image's version or architecture cannot be read.</exception>
    public DriverMatchReport MatchDriver(string deviceId, IEnumerable<DriverPackage>? packages = null, TargetOs? target = null)
    {
        if (deviceId is null)
        {
            throw new ArgumentNullException(nameof(deviceId));
        }
        HardwareId id = HardwareId.Parse(deviceId);
        target ??= ReadConfiguration().GetTargetOs()
            ?? throw new WindowsVersionUnknownException($"{this}: the Windows version or processor architecture cannot be read from the image (no SOFTWARE hive?); give the target explicitly.",
                WindowsFolder + @"\System32\config\SOFTWARE");
        return MatchDriver(deviceId, id, packages, target, scanFirst: false);
    }

    // scanFirst: parse only the INFs whose bytes may list one of the device's IDs (InfIdScan): the same candidates and
    // exclusions as parsing every INF (tested on the real INF corpus), in a fraction of the time; only INFs that cannot
    // be parsed and cannot name the device go unreported. IscsiBoot matches this way; the public MatchDriver (the
    // `match` diagnostic) parses every INF so that it can report each one that cannot be read.
    internal DriverMatchReport MatchDriver(string deviceId, HardwareId id, IEnumerable<DriverPackage>? packages, TargetOs target, bool scanFirst)
    {
        InfIdScan? scan = scanFirst ? InfIdScan.For(id.GetHardwareIds(), id.GetCompatibleIds()) : null;
        List<ImageInf> sources = LoadInfs(target.Architecture, scan, out int scannedOut);
        if (packages is not null)
        {
            foreach (DriverPackage p in packages)
            {
                sources.Add(new ImageInf(p.Inf.FullPath ?? p.Inf.FileName, InfOrigin.Supplied, p.Inf, null));
            }
        }
        return DriverMatcher.Match(deviceId, id, sources, target, scannedOut);
    }

    /// <summary>
    /// The network (Net) and storage controller (SCSIAdapter, HDC) drivers the image has: the INFs of those classes
    /// in \Windows\INF and the driver store (by their [Version] Class), and the packages of those classes in the
    /// DriverDatabase of SYSTEM and of the DRIVERS hive (by their class GUID). One entry per INF name, in the order
    /// first seen; services are the AddService names of the INF or the Service values of the package's configurations.
    /// </summary>
    public IReadOnlyList<InstalledDriver> ListNetworkAndStorageDrivers(WindowsSystemConfig config)
    {
        if (config is null)
        {
            throw new ArgumentNullException(nameof(config));
        }
        var byName = new Dictionary<string, InstalledDriver>(StringComparer.OrdinalIgnoreCase);
        var list = new List<InstalledDriver>();
        InstalledDriver? Entry(string infName, string? className)
        {
            if (!DeviceSetupClasses.IsNetworkClass(className) && !DeviceSetupClasses.IsStorageClass(className))
            {
                return null;
            }
            if (!byName.TryGetValue(infName, out InstalledDriver? d))
            {
                d = new InstalledDriver(infName, className!);
                byName.Add(infName, d);
                list.Add(d);
            }
            return d;
        }
        foreach (ImageInf inf in LoadInfs(config.Architecture))
        {
            if (inf.Inf is null)
            {
                continue;
            }
            InfVersion v = inf.Inf.Version;
            string? className = v.Class ?? (Guid.TryParse(v.ClassGuid, out Guid g) ? DeviceSetupClasses.WellKnownName(g) : null);
            int slash = inf.Path.LastIndexOf('\\');
            if (Entry(inf.Path.Substring(slash + 1), className) is not InstalledDriver d)
            {
                continue;
            }
            d.AddSource(inf.Path);
            d.Provider ??= v.Provider;
            d.DriverDate ??= v.DriverDate;
            d.DriverVersion ??= v.DriverVersion;
            foreach (InfSection section in inf.Inf.Sections)
            {
                foreach (InfLine line in section.WithKey("AddService"))
                {
                    if (line[0].Length > 0)
                    {
                        d.AddService(line[0]);
                    }
                }
            }
        }
        foreach (DriverDatabase? db in new[] { config.DriverDatabase, config.DriversHiveDatabase })
        {
            if (db is null)
            {
                continue;
            }
            foreach (DriverDatabasePackage p in db.Packages)
            {
                if (Entry(p.InfName ?? p.Name, p.ClassName) is not InstalledDriver d)
                {
                    continue;
                }
                d.AddSource(string.Format(CultureInfo.InvariantCulture, "DriverDatabase ({0}): {1}", db.HiveName, p.Name));
                d.Provider ??= p.Provider;
                d.DriverDate ??= p.DriverDate;
                d.DriverVersion ??= p.DriverVersion;
                foreach (string s in p.Services)
                {
                    d.AddService(s);
                }
            }
        }
        return list;
    }
}
