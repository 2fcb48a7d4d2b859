using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The model over volumes built by mkntfs + ntfs-3g holding the real Windows 7 SYSTEM hive from testdata; every expected
/// value comes from hivexget/hivexsh reading that same hive file directly, or from MANIFEST.md.
/// </summary>
public class WindowsInstallationTests
{
    private const string Win7System = "registry/win7-system/SYSTEM";

    [Fact]
    public void Bare_ntfs_volume_with_win7_system_hive_is_found_and_read_like_hivex_reads_it()
    {
        string hive = TestData.Require(Win7System);
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.BuildWindows(tmp, tmp.File("win7.raw"), hive);

        using VirtualDisk disk = DiskImage.Open(image);
        IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
        try
        {
            WindowsInstallation w = Assert.Single(found);
            Assert.Null(w.PartitionIndex);
            WindowsSystemConfig config = w.ReadConfiguration();

            uint current = HivexOracle.DWord(hive, @"\Select", "Current")!.Value;
            Assert.Equal($"ControlSet{current:D3}", config.CurrentControlSet);
            string set = @"\" + config.CurrentControlSet;

            // Services: the same names as hivexsh lists, and the values of a sample as hivexget prints them.
            IReadOnlyList<string> serviceNames = HivexOracle.Subkeys(hive, set + @"\Services");
            Assert.Equal(serviceNames.OrderBy(n => n, StringComparer.OrdinalIgnoreCase),
                config.Services.Select(s => s.Name).OrderBy(n => n, StringComparer.OrdinalIgnoreCase));
            foreach (string name in new[] { "Tcpip", "E1G60", "i8042prt", "atapi", "msiscsi", "Disk", "Netlogon" })
            {
                string key = $@"{set}\Services\{name}";
                WindowsService? s = config.Services.SingleOrDefault(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase));
                if (!serviceNames.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    Assert.Null(s);
                    continue;
                }
                Assert.NotNull(s);
                Assert.Equal(HivexOracle.DWord(hive, key, "Start"), s.Start);
                Assert.Equal(HivexOracle.DWord(hive, key, "Type"), s.Type);
                Assert.Equal(HivexOracle.Get(hive, key, "Group"), s.Group);
                Assert.Equal(HivexOracle.Get(hive, key, "ImagePath"), s.ImagePath);
                Assert.Equal(HivexOracle.DWord(hive, key, "BootFlags"), s.BootFlags);
            }

            // CriticalDeviceDatabase: MANIFEST.md states 2548 subkeys; names as hivexsh lists them; a sample's values.
            Assert.Equal(2548, config.CriticalDevices.Count);
            IReadOnlyList<string> cddbNames = HivexOracle.Subkeys(hive, set + @"\Control\CriticalDeviceDatabase");
            Assert.Equal(cddbNames.OrderBy(n => n, StringComparer.OrdinalIgnoreCase),
                config.CriticalDevices.Select(e => e.Id).OrderBy(n => n, StringComparer.OrdinalIgnoreCase));
            foreach (string id in new[] { cddbNames[0], cddbNames[500], cddbNames[1000], cddbNames[2000], cddbNames[cddbNames.Count - 1] })
            {
                string key = $@"{set}\Control\CriticalDeviceDatabase\{id}";
                CriticalDeviceEntry e = config.CriticalDevices.Single(x => x.Id == id);
                Assert.Equal(HivexOracle.Get(hive, key, "ClassGUID"), e.ClassGuid);
                Assert.Equal(HivexOracle.Get(hive, key, "Service"), e.Service);
            }

            // MANIFEST.md: a Windows 7 SP1 x86 hive.
            Assert.Equal(HivexOracle.Get(hive, set + @"\Control\Session Manager\Environment", "PROCESSOR_ARCHITECTURE"), config.ProcessorArchitecture);
            Assert.Equal("x86", config.ProcessorArchitecture);

            // MANIFEST.md: the Windows 7 hive has no DriverDatabase; the volume has no SOFTWARE hive.
            Assert.False(config.HasDriverDatabase);
            Assert.Null(config.DriverPackageCount);
            Assert.Null(config.Version);
        }
        finally
        {
            foreach (WindowsInstallation w in found)
            {
                w.Dispose();
            }
        }
    }

    [Fact]
    public void Installation_in_a_gpt_partition_is_found_on_that_partition()
    {
        string hive = TestData.Require(Win7System);
        using var tmp = new TempDir();
        string volume = NtfsImageBuilder.BuildWindows(tmp, tmp.File("volume.raw"), hive);
        string diskPath = tmp.File("disk.raw");
        int windowsIndex;
        using (VirtualDisk disk = DiskImage.Create(diskPath, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = NtfsImageBuilder.VolumeSize + (24L << 20) }))
        {
            PartitionTable table = PartitionTable.CreateGpt(disk.Content, 512, IdentifierSource.Sequential(7));
            table.AddPartition(NewPartition.Of(PartitionKind.EfiSystem, 16L << 20, "EFI system partition"));
            PartitionInfo p = table.AddPartition(NewPartition.Of(PartitionKind.BasicData, NtfsImageBuilder.VolumeSize, "Basic data partition"));
            windowsIndex = p.Index;
            using SparseStream target = table.Open(p);
            byte[] bytes = File.ReadAllBytes(volume);
            target.WriteAt(0, bytes);
            disk.Flush();
        }

        // The partition's number as sgdisk prints it for the basic data partition.
        Oracle.Require("sgdisk");
        string listing = Oracle.RunChecked("sgdisk", "-p", diskPath);
        string line = listing.Split('\n').Single(l => l.Contains("Basic data partition", StringComparison.Ordinal));
        int sgdiskNumber = int.Parse(line.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

        using VirtualDisk opened = DiskImage.Open(diskPath);
        IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(opened);
        try
        {
            WindowsInstallation w = Assert.Single(found);
            Assert.Equal(windowsIndex, w.PartitionIndex);
            Assert.Equal(sgdiskNumber, w.PartitionIndex);
            uint current = HivexOracle.DWord(hive, @"\Select", "Current")!.Value;
            Assert.Equal($"ControlSet{current:D3}", w.ReadConfiguration().CurrentControlSet);
        }
        finally
        {
            foreach (WindowsInstallation w in found)
            {
                w.Dispose();
            }
        }
    }

    [Fact]
    public void Dirty_windows10_system_hive_is_recovered_in_memory_from_its_logs_on_the_volume()
    {
        // MANIFEST.md: SYSTEM_B is dirty; SYSTEM_B.recovered-by-yarp is the reference recovery from its .LOG1/.LOG2.
        string reference = TestData.Require("registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp");
        using var tmp = new TempDir();
        string dirty = TestData.Gunzip("registry/win10-dirty-system/SYSTEM_B.gz", tmp.Path);
        string log1 = TestData.Gunzip("registry/win10-dirty-system/SYSTEM_B.LOG1.gz", tmp.Path);
        string log2 = TestData.Gunzip("registry/win10-dirty-system/SYSTEM_B.LOG2.gz", tmp.Path);
        string image = NtfsImageBuilder.Build(tmp, tmp.File("win10.raw"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(dirty, Path.Combine(config, "SYSTEM"));
            File.Copy(log1, Path.Combine(config, "SYSTEM.LOG1"));
            File.Copy(log2, Path.Combine(config, "SYSTEM.LOG2"));
        });
        byte[] before = File.ReadAllBytes(image);

        using (VirtualDisk disk = DiskImage.Open(image))
        {
            IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
            using WindowsInstallation w = Assert.Single(found);
            WindowsSystemConfig config = w.ReadConfiguration();

            uint current = HivexOracle.DWord(reference, @"\Select", "Current")!.Value;
            Assert.Equal($"ControlSet{current:D3}", config.CurrentControlSet);
            // The dirty file alone lists one service fewer than the recovered hive: recovery must have happened.
            IReadOnlyList<string> recovered = HivexOracle.Subkeys(reference, $@"\{config.CurrentControlSet}\Services");
            Assert.NotEqual(recovered.Count, HivexOracle.Subkeys(dirty, $@"\{config.CurrentControlSet}\Services").Count);
            Assert.Equal(recovered.OrderBy(n => n, StringComparer.OrdinalIgnoreCase),
                config.Services.Select(s => s.Name).OrderBy(n => n, StringComparer.OrdinalIgnoreCase));
            Assert.True(config.HasDriverDatabase);
            Assert.Equal(HivexOracle.Subkeys(reference, @"\DriverDatabase\DriverPackages").Count, config.DriverPackageCount);
            Assert.Equal(222, config.DriverPackageCount); // MANIFEST.md
            Assert.Empty(config.CriticalDevices); // Windows 10 has no CriticalDeviceDatabase
        }

        // Read-only: the image is byte-for-byte unchanged.
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(image)));
    }

    [Fact]
    public void Two_installations_on_one_disk_are_both_reported()
    {
        string hive = TestData.Require(Win7System);
        using var tmp = new TempDir();
        string volume = NtfsImageBuilder.BuildWindows(tmp, tmp.File("volume.raw"), hive);
        string empty = NtfsImageBuilder.Build(tmp, tmp.File("data.raw"), _ => { });
        string diskPath = tmp.File("disk.raw");
        var expected = new List<int>();
        using (VirtualDisk disk = DiskImage.Create(diskPath, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = (3 * NtfsImageBuilder.VolumeSize) + (8L << 20) }))
        {
            PartitionTable table = PartitionTable.CreateGpt(disk.Content, 512, IdentifierSource.Sequential(11));
            foreach (string source in new[] { volume, empty, volume })
            {
                PartitionInfo p = table.AddPartition(NewPartition.Of(PartitionKind.BasicData, NtfsImageBuilder.VolumeSize, "Basic data partition"));
                using SparseStream target = table.Open(p);
                target.WriteAt(0, File.ReadAllBytes(source));
                if (source == volume)
                {
                    expected.Add(p.Index);
                }
            }
            disk.Flush();
        }

        // sgdisk numbers the partitions 1, 2, 3; Windows is on the first and the third.
        Oracle.Require("sgdisk");
        string listing = Oracle.RunChecked("sgdisk", "-p", diskPath);
        Assert.Equal(3, listing.Split('\n').Count(l => l.Contains("Basic data partition", StringComparison.Ordinal)));

        using VirtualDisk opened = DiskImage.Open(diskPath);
        IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(opened);
        try
        {
            Assert.Equal(new int?[] { 1, 3 }, found.Select(w => w.PartitionIndex).ToArray());
            Assert.Equal(expected.Select(i => (int?)i), found.Select(w => w.PartitionIndex));
        }
        finally
        {
            foreach (WindowsInstallation w in found)
            {
                w.Dispose();
            }
        }
    }

    [Fact]
    public void Version_comes_from_software_and_the_drivers_hive_is_counted_when_the_image_has_them()
    {
        string hive = TestData.Require(Win7System);
        using var tmp = new TempDir();
        // SOFTWARE and DRIVERS are written by hivexregedit onto hivex's own minimal hive: no code of ours builds them.
        string software = HivexOracle.Build(tmp, "SOFTWARE", "HKEY_LOCAL_MACHINE\\SOFTWARE",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]",
            "\"ProductName\"=\"Windows 10 Pro\"",
            "\"CurrentVersion\"=\"6.3\"",
            "\"CurrentBuild\"=\"19045\"",
            "\"CurrentBuildNumber\"=\"19045\"",
            "\"EditionID\"=\"Professional\"",
            "\"InstallationType\"=\"Client\"",
            "\"CurrentMajorVersionNumber\"=dword:0000000a",
            "\"CurrentMinorVersionNumber\"=dword:00000000");
        string drivers = HivexOracle.Build(tmp, "DRIVERS", "HKEY_LOCAL_MACHINE\\DRIVERS",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages\\netrtl64.inf_amd64_1]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages\\netvioscsi.inf_amd64_2]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages\\e1i63x64.inf_amd64_3]");
        string image = NtfsImageBuilder.Build(tmp, tmp.File("win.raw"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(hive, Path.Combine(config, "SYSTEM"));
            File.Copy(software, Path.Combine(config, "SOFTWARE"));
            File.Copy(drivers, Path.Combine(config, "DRIVERS"));
        });

        using VirtualDisk disk = DiskImage.Open(image);
        IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
        using WindowsInstallation w = Assert.Single(found);
        WindowsSystemConfig config = w.ReadConfiguration();
        const string cv = @"\Microsoft\Windows NT\CurrentVersion";
        WindowsVersion v = Assert.IsType<WindowsVersion>(config.Version);
        Assert.Equal(HivexOracle.Get(software, cv, "ProductName"), v.ProductName);
        Assert.Equal(HivexOracle.Get(software, cv, "CurrentVersion"), v.CurrentVersion);
        Assert.Equal(HivexOracle.Get(software, cv, "CurrentBuild"), v.CurrentBuild);
        Assert.Equal(HivexOracle.Get(software, cv, "EditionID"), v.EditionId);
        Assert.Equal(HivexOracle.Get(software, cv, "InstallationType"), v.InstallationType);
        Assert.Equal(HivexOracle.DWord(software, cv, "CurrentMajorVersionNumber"), v.MajorVersion);
        Assert.Equal(HivexOracle.DWord(software, cv, "CurrentMinorVersionNumber"), v.MinorVersion);
        Assert.Equal(WindowsFamily.Windows10OrLater, v.Family);
        Assert.Equal(HivexOracle.Subkeys(drivers, @"\DriverDatabase\DriverPackages").Count, config.DriversHivePackageCount);
        Assert.Equal(3, config.DriversHivePackageCount);
        Assert.False(config.HasDriverDatabase); // the Windows 7 SYSTEM hive has none (MANIFEST.md)
    }

    [Fact]
    public void Inf_folder_and_driver_store_are_listed_as_ntfsls_lists_them()
    {
        string hive = TestData.Require(Win7System);
        string infDir = Path.GetDirectoryName(TestData.Require("inf/virtio-win/viorng.inf"))!;
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.Build(tmp, tmp.File("win.raw"), mount =>
        {
            string windows = Path.Combine(mount, "Windows");
            Directory.CreateDirectory(Path.Combine(windows, "System32", "config"));
            File.Copy(hive, Path.Combine(windows, "System32", "config", "SYSTEM"));
            string inf = Path.Combine(windows, "INF");
            Directory.CreateDirectory(Path.Combine(inf, "sub.inf"));
            foreach (string f in Directory.GetFiles(infDir, "*.inf"))
            {
                File.Copy(f, Path.Combine(inf, Path.GetFileName(f)));
            }
            File.WriteAllText(Path.Combine(inf, "oem0.INF"), "[Version]\r\n");
            File.WriteAllText(Path.Combine(inf, "setupapi.dev.log"), "log");
            string repo = Path.Combine(windows, "System32", "DriverStore", "FileRepository");
            Directory.CreateDirectory(Path.Combine(repo, "viorng.inf_amd64_0123456789abcdef"));
            Directory.CreateDirectory(Path.Combine(repo, "netkvm.inf_x86_fedcba9876543210"));
            File.WriteAllText(Path.Combine(repo, "stray.txt"), "x");
        });

        Oracle.Require("ntfsls");
        static string[] Listing(string image, string path) =>
            Oracle.RunChecked("ntfsls", "-F", "-p", path, image).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && l != "./" && l != "../").ToArray();
        string[] infs = Listing(image, "/Windows/INF").Where(l => !l.EndsWith("/", StringComparison.Ordinal) && l.EndsWith(".inf", StringComparison.OrdinalIgnoreCase)).ToArray();
        string[] packages = Listing(image, "/Windows/System32/DriverStore/FileRepository").Where(l => l.EndsWith("/", StringComparison.Ordinal)).Select(l => l.TrimEnd('/')).ToArray();
        Assert.True(infs.Length > 2);

        using VirtualDisk disk = DiskImage.Open(image);
        IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
        using WindowsInstallation w = Assert.Single(found);
        Assert.Equal(infs.OrderBy(n => n, StringComparer.Ordinal), w.ListInfFiles().OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(packages.OrderBy(n => n, StringComparer.Ordinal), w.ListDriverStorePackages().OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(2, w.ListDriverStorePackages().Count);
    }

    /// <summary>
    /// CompactOS compresses system files with WOF (XPRESS): such an INF is read through its compressed stream and
    /// parses as the original does. One compressed with LZX (not read) is listed with an error saying so, and the other
    /// INFs still load. The compressed stream is wimlib's (an independent compressor), the volume ntfs-3g's.
    /// </summary>
    [Fact]
    public void Compact_os_infs_are_read_through_wof_and_an_lzx_one_is_reported()
    {
        string hive = TestData.Require(Win7System);
        string infDir = Path.GetDirectoryName(TestData.Require("inf/virtio-win/viorng.inf"))!;
        byte[] viorng = File.ReadAllBytes(Path.Combine(infDir, "viorng.inf"));
        using var tmp = new TempDir();
        byte[] compressed = WimXpress.Compress(tmp.Path, viorng, 4096);
        string image = NtfsImageBuilder.Build(tmp, tmp.File("win.raw"), mount =>
        {
            string windows = Path.Combine(mount, "Windows");
            Directory.CreateDirectory(Path.Combine(windows, "System32", "config"));
            File.Copy(hive, Path.Combine(windows, "System32", "config", "SYSTEM"));
            string inf = Path.Combine(windows, "INF");
            Directory.CreateDirectory(inf);
            File.Copy(Path.Combine(infDir, "pvpanic.inf"), Path.Combine(inf, "pvpanic.inf"));
            Ntfs3gMount.SetWofCompressed(Path.Combine(inf, "viorng.inf"), viorng.Length, compressed, algorithm: 0);
            // An LZX one (algorithm 1): a stub in the data stream, which IscsiConvert does not decompress.
            File.Copy(Path.Combine(infDir, "pvpanic.inf"), Path.Combine(inf, "lzx.inf"));
            Ntfs3gMount.SetReparsePoint(Path.Combine(inf, "lzx.inf"), 0x80000017, 1, 2, 1, 1);
        });

        using VirtualDisk disk = DiskImage.Open(image);
        using WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk));
        IReadOnlyList<ImageInf> infs = w.LoadInfs();
        ImageInf lzx = Assert.Single(infs, i => i.Path.EndsWith("lzx.inf", StringComparison.Ordinal));
        Assert.Null(lzx.Inf);
        Assert.Contains("LZX", lzx.Error, StringComparison.Ordinal);
        ImageInf fromWof = Assert.Single(infs, i => i.Path.EndsWith("viorng.inf", StringComparison.Ordinal));
        Assert.Null(fromWof.Error);
        InfFile original = InfFile.Parse(viorng, "viorng.inf", new InfReadOptions { Tolerant = true });
        Assert.Equal(original.Sections.Select(x => x.Name), fromWof.Inf!.Sections.Select(x => x.Name));
        Assert.NotNull(Assert.Single(infs, i => i.Path.EndsWith("pvpanic.inf", StringComparison.Ordinal)).Inf);
    }

    [Fact]
    public void Disk_without_ntfs_has_no_installation()
    {
        // MANIFEST.md: an ext2 volume with no partition table, in a dynamic VHD.
        using VirtualDisk disk = DiskImage.Open(TestData.Require("disks/vhd/ext2.vhd"));
        Assert.Empty(WindowsInstallation.Find(disk));
    }

    [Fact]
    public void Ntfs_volume_without_windows_has_no_installation()
    {
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.Build(tmp, tmp.File("data.raw"), mount =>
        {
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "System32"));
            File.WriteAllText(Path.Combine(mount, "Windows", "readme.txt"), "not Windows");
        });
        using VirtualDisk disk = DiskImage.Open(image);
        Assert.Empty(WindowsInstallation.Find(disk));
    }
}
