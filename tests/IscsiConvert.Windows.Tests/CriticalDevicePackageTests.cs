using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// Windows 7 with a supplied package, on the real Windows 7 SYSTEM hive inside a volume built by mkntfs + ntfs-3g:
/// the CDDB entries carry DriverPackageId and the INF's UpperFilters like Windows' own entries in the same hive, the
/// device-path entry from --pci-path is there, the package is in the driver store, the service has its AddReg, the
/// catalog is installed; read back with hivexregedit and ntfs-3g. A second run writes nothing. --service without an
/// INF writes Net-class entries for a service the hive has.
/// </summary>
public sealed class CriticalDevicePackageTests : IDisposable
{
    private const string Win7Hive = "registry/win7-system/SYSTEM";
    private static readonly TargetOs Windows7X86 = new("x86", 6, 1, 7601);
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private string Win7Image(string name) => NtfsImageBuilder.Build(_tmp, _tmp.File(name), mount =>
    {
        string config = Path.Combine(mount, "Windows", "System32", "config");
        Directory.CreateDirectory(config);
        File.Copy(TestData.Require(Win7Hive), Path.Combine(config, "SYSTEM"));
        Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
    });

    [Fact]
    public void A_supplied_package_gets_driver_store_cddb_with_package_id_and_filters_device_path_service_addreg_and_catalog()
    {
        string real = TestData.Require(Win7Hive);
        string image = Win7Image("win7.raw");
        string package = TestNicPackage.Write(_tmp, "ivnic7");
        IscsiBootPlan plan = Prepare(image, b => b.WithBootAdapter(TestNicPackage.Device, "00:1e.0/01:01.0").WithDriverPackage(package));
        string store = plan.Files.Single(f => f.Destination.EndsWith(@"\ivnic.inf", StringComparison.Ordinal) && f.Destination.Contains("FileRepository", StringComparison.Ordinal)).Destination.Split('\\')[^2];
        Assert.Matches("^ivnic\\.inf_x86_neutral_[0-9a-f]{16}$", store);

        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string Cat(string path, string to)
        {
            Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' '{path}' > '{to}'");
            return to;
        }
        string Sha(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        Assert.Equal(Sha(Path.Combine(package, "ivnic.inf")), Sha(Cat("/Windows/INF/oem0.inf", _tmp.File("oem0"))));
        Assert.Equal(Sha(Path.Combine(package, "ivnic.sys")), Sha(Cat("/Windows/System32/drivers/ivnic.sys", _tmp.File("sys"))));
        Assert.Equal(Sha(Path.Combine(package, "ivnic.cat")), Sha(Cat("/Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/oem0.cat", _tmp.File("cat"))));
        Assert.Equal(Sha(Path.Combine(package, "ivnic.sys")), Sha(Cat($"/Windows/System32/DriverStore/FileRepository/{store}/ivnic.sys", _tmp.File("storesys"))));
        string hive = Cat("/Windows/System32/config/SYSTEM", _tmp.File("SYSTEM.after"));

        // Windows' own entry with a driver package and an upper filter: msports.inf's *PNP0500 (ClassGUID, DriverPackageId,
        // Service as REG_SZ, UpperFilters as REG_MULTI_SZ).
        const string Cddb = @"\ControlSet001\Control\CriticalDeviceDatabase\";
        var reference = HivexOracle.Values(real, Cddb + "*PNP0500");
        foreach (string id in new[] { "pci#ven_1af4&dev_1000&subsys_00011af4&rev_00", "pci#ven_1af4&dev_1000&subsys_00011af4", "pci#ven_1af4&dev_1000", "PCIROOT(0)#PCI(1E00)#PCI(0100)" })
        {
            var entry = HivexOracle.Values(hive, Cddb + id);
            Assert.Equal(reference.Keys.Order(StringComparer.Ordinal), entry.Keys.Order(StringComparer.Ordinal));
            foreach (string name in reference.Keys)
            {
                Assert.Equal(reference[name].Type, entry[name].Type);
            }
            Assert.Equal(TestNicPackage.NetClassGuid, HivexOracle.Get(hive, Cddb + id, "ClassGUID"));
            Assert.Equal(TestNicPackage.Service, HivexOracle.Get(hive, Cddb + id, "Service"));
            Assert.Equal(store, HivexOracle.Get(hive, Cddb + id, "DriverPackageId"));
            Assert.Equal("ivfilt", HivexOracle.Get(hive, Cddb + id, "UpperFilters"));
        }
        const string Service = @"ControlSet001\Services\ivnic";
        Assert.Equal("0", HivexOracle.Get(hive, Service, "Start"));
        Assert.Equal(@"System32\drivers\ivnic.sys", HivexOracle.Get(hive, Service, "ImagePath"));
        Assert.Equal("NDIS", HivexOracle.Get(hive, Service, "Group"));
        Assert.Equal("Example NIC driver", HivexOracle.Get(hive, Service, "DisplayName"));
        Assert.Equal("64", HivexOracle.Get(hive, Service + @"\Parameters", "QueueDepth"));
        Assert.Equal("fast", HivexOracle.Get(hive, Service + @"\Parameters", "Mode"));

        byte[] before = File.ReadAllBytes(image);
        IscsiBootPlan again = Prepare(image, b => b.WithBootAdapter(TestNicPackage.Device, "00:1e.0/01:01.0").WithDriverPackage(package));
        Assert.True(again.IsEmpty, string.Join("\n", again.Changes.Select(c => c.ToString()).Concat(again.Files.Select(f => f.ToString()))));
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void Service_without_an_inf_writes_net_class_entries_for_the_hives_service_and_says_so()
    {
        string image = Win7Image("win7-service.raw");
        // The image's INF folder is empty: without --service no driver is found.
        using (VirtualDisk disk = DiskImage.Open(image))
        using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk)))
        {
            Assert.Throws<NotSupportedException>(() => IscsiBoot.For(w).WithBootAdapter(@"PCI\VEN_8086&DEV_100E").ForTarget(Windows7X86).Plan());
        }
        IscsiBootPlan plan = Prepare(image, b => b.WithBootAdapter(@"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086").WithService("E1G60"));
        Assert.Contains(plan.Warnings, w => w.Contains("no INF", StringComparison.Ordinal) && w.Contains("E1G60", StringComparison.Ordinal));
        Assert.Empty(plan.Files);
        string hive = _tmp.File("SYSTEM.service");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        foreach (string id in new[] { "pci#ven_8086&dev_100e&subsys_001e8086", "pci#ven_8086&dev_100e" })
        {
            Assert.Equal(TestNicPackage.NetClassGuid, HivexOracle.Get(hive, @"ControlSet001\Control\CriticalDeviceDatabase\" + id, "ClassGUID"));
            Assert.Equal("E1G60", HivexOracle.Get(hive, @"ControlSet001\Control\CriticalDeviceDatabase\" + id, "Service"));
        }
        Assert.Equal("0", HivexOracle.Get(hive, @"ControlSet001\services\E1G60", "Start"));
    }

    private static IscsiBootPlan Prepare(string image, Func<IscsiBoot, IscsiBoot> configure)
    {
        using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
        IscsiBootPlan plan;
        using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true)))
        {
            plan = configure(IscsiBoot.For(w).ForTarget(Windows7X86)).Apply();
        }
        if (!plan.IsEmpty)
        {
            disk.Flush();
        }
        return plan;
    }
}
