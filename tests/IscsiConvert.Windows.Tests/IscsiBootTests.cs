using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The first slice of the injection engine on the real Windows 7 SYSTEM hive (inside an NTFS volume built by mkntfs +
/// ntfs-3g): the Critical Device Database entries and the boot start of the inbox e1000 driver's service, read back
/// with hivexget from the hive that ntfscat copies out of the volume after the change.
/// </summary>
public sealed class IscsiBootTests : IDisposable
{
    private const string NetClassGuid = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
    private const string Device = @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02";
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    // A FIXTURE written for this test (not Intel's file), shaped like the Windows 7 inbox INF of the e1000 NIC from
    // Microsoft's documented INF syntax: Class=Net, a models section for NTx86 naming PCI\VEN_8086&DEV_100E, and an
    // install section whose function-driver service is E1G60 — the service the real Windows 7 hive has.
    private const string E1000Inf =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nClassGuid=" + NetClassGuid + "\r\nProvider=%Msft%\r\nDriverVer=06/21/2006,6.1.7600.16385\r\n" +
        "[Manufacturer]\r\n%Intel%=Intel,NTx86,NTamd64\r\n" +
        "[Intel.NTx86]\r\n%E100E%=E1000, PCI\\VEN_8086&DEV_100E\r\n[Intel.NTamd64]\r\n%E100E%=E1000, PCI\\VEN_8086&DEV_100E\r\n" +
        "[E1000]\r\nCopyFiles=E1000.CopyFiles\r\n[E1000.Services]\r\nAddService=E1G60, 2, E1000.Service\r\n" +
        "[E1000.Service]\r\nServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%12%\\e1g6032e.sys\r\nLoadOrderGroup=NDIS\r\n" +
        "[E1000.CopyFiles]\r\ne1g6032e.sys\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n" +
        "[Strings]\r\nMsft=\"Microsoft\"\r\nIntel=\"Intel\"\r\nE100E=\"Intel(R) PRO/1000 MT Network Connection\"\r\n";

    private static readonly TargetOs Windows7X86 = new("x86", 6, 1, 7601);

    private string Win7Image() => NtfsImageBuilder.Build(_tmp, _tmp.File("win7.raw"), mount =>
    {
        string windows = Path.Combine(mount, "Windows");
        Directory.CreateDirectory(Path.Combine(windows, "System32", "config"));
        File.Copy(TestData.Require("registry/win7-system/SYSTEM"), Path.Combine(windows, "System32", "config", "SYSTEM"));
        Directory.CreateDirectory(Path.Combine(windows, "INF"));
        File.WriteAllText(Path.Combine(windows, "INF", "net1000.inf"), E1000Inf, new UTF8Encoding(false));
    });

    [Fact]
    public void Cddb_entries_and_boot_start_for_an_inbox_nic_are_written_as_hivex_reads_them()
    {
        string image = Win7Image();
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        IscsiBootPlan plan;
        using (VirtualDisk disk = DiskImage.Open(image))
        {
            WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk));
            using (w)
            {
                plan = IscsiBoot.For(w).WithBootAdapter(Device).ForTarget(Windows7X86).Plan();
            }
        }
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
        Assert.Equal("ControlSet001", plan.ControlSet);
        Assert.Contains(plan.Changes, c => c.Key == @"ControlSet001\Services\E1G60" && c.ValueName == "Start" && c.OldValue == "3" && c.NewValue == "0");

        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true));
            using (w)
            {
                IscsiBoot.For(w).WithBootAdapter(Device).ForTarget(Windows7X86).Apply();
            }
            disk.Flush();
        }

        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string hive = _tmp.File("SYSTEM.after");
        Oracle.Require("ntfscat");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        string[] keys = { "pci#ven_8086&dev_100e&subsys_001e8086&rev_02", "pci#ven_8086&dev_100e&subsys_001e8086", "pci#ven_8086&dev_100e" };
        foreach (string key in keys)
        {
            string path = @"ControlSet001\Control\CriticalDeviceDatabase\" + key;
            Assert.Equal(NetClassGuid, Oracle.RunChecked("hivexget", hive, path, "ClassGUID").Trim());
            Assert.Equal("E1G60", Oracle.RunChecked("hivexget", hive, path, "Service").Trim());
        }
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, @"ControlSet001\services\E1G60", "Start").Trim());
        // The rest of the hive is as it was: another service keeps its start type, the CDDB keeps its other entries.
        string original = TestData.Require("registry/win7-system/SYSTEM");
        Assert.Equal(Oracle.RunChecked("hivexget", original, @"ControlSet001\services\Tcpip", "Start"), Oracle.RunChecked("hivexget", hive, @"ControlSet001\services\Tcpip", "Start"));
        const string Cddb = @"ControlSet001\Control\CriticalDeviceDatabase";
        var expected = HivexOracle.Subkeys(original, Cddb).Union(keys, StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase);
        Assert.Equal(expected, HivexOracle.Subkeys(hive, Cddb).Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
    }

    private static string StampedNetKvm(string arch = "x86") => NetKvmInf.Stamped(arch);

    [Fact]
    public void A_supplied_driver_package_is_installed_files_inf_and_service_and_made_boot_start()
    {
        const string VirtioNet = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";
        string image = Win7Image();
        string package = _tmp.File("netkvm-package");
        Directory.CreateDirectory(package);
        File.WriteAllText(Path.Combine(package, "netkvm.inf"), StampedNetKvm(), new UTF8Encoding(false));
        byte[] sys = new byte[150_000];
        new Random(3).NextBytes(sys);
        File.WriteAllBytes(Path.Combine(package, "netkvm.sys"), sys);
        File.WriteAllBytes(Path.Combine(package, "netkvmp.exe"), new byte[] { 0x4D, 0x5A, 1, 2, 3 });
        File.WriteAllBytes(Path.Combine(package, "netkvm.cat"), new byte[] { 0x30, 0x82 });

        using (VirtualDisk disk = DiskImage.Open(image))
        {
            using WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk));
            // Without the package the image has no driver for the device: refused, saying what to do.
            var ex = Assert.Throws<NotSupportedException>(() => IscsiBoot.For(w).WithBootAdapter(VirtioNet).ForTarget(Windows7X86).Plan());
            Assert.Contains("driver package", ex.Message, StringComparison.Ordinal);
        }
        IscsiBootPlan plan;
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true));
            plan = IscsiBoot.For(w).WithBootAdapter(VirtioNet).WithDriverPackage(package).ForTarget(Windows7X86).Apply();
            disk.Flush();
        }
        Assert.Contains(plan.Files, f => f.Destination == @"\Windows\System32\drivers\netkvm.sys");
        Assert.Contains(plan.Files, f => f.Destination == @"\Windows\INF\oem0.inf");

        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string Sha(byte[] b) => Convert.ToHexString(SHA256.HashData(b));
        string Cat(string path, string to)
        {
            Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' '{path}' > '{to}'");
            return to;
        }
        Assert.Equal(Sha(sys), Sha(File.ReadAllBytes(Cat("/Windows/System32/drivers/netkvm.sys", _tmp.File("netkvm.sys.out")))));
        Assert.Equal(Sha(File.ReadAllBytes(Path.Combine(package, "netkvm.inf"))), Sha(File.ReadAllBytes(Cat("/Windows/INF/oem0.inf", _tmp.File("oem0.out")))));
        Assert.Equal(5, File.ReadAllBytes(Cat("/Windows/System32/netkvmp.exe", _tmp.File("netkvmp.out"))).Length);
        string hive = Cat("/Windows/System32/config/SYSTEM", _tmp.File("SYSTEM.pkg"));
        const string Service = @"ControlSet001\Services\netkvm";
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, Service, "Start").Trim());
        Assert.Equal("1", Oracle.RunChecked("hivexget", hive, Service, "Type").Trim());
        Assert.Equal("1", Oracle.RunChecked("hivexget", hive, Service, "ErrorControl").Trim());
        Assert.Equal(@"System32\drivers\netkvm.sys", Oracle.RunChecked("hivexget", hive, Service, "ImagePath").Trim(), ignoreCase: true);
        Assert.Equal("NDIS", Oracle.RunChecked("hivexget", hive, Service, "Group").Trim());
        foreach (string key in new[] { "pci#ven_1af4&dev_1000&subsys_00011af4&rev_00", "pci#ven_1af4&dev_1000&subsys_00011af4", "pci#ven_1af4&dev_1000" })
        {
            Assert.Equal("netkvm", Oracle.RunChecked("hivexget", hive, @"ControlSet001\Control\CriticalDeviceDatabase\" + key, "Service").Trim());
            Assert.Equal(NetClassGuid, Oracle.RunChecked("hivexget", hive, @"ControlSet001\Control\CriticalDeviceDatabase\" + key, "ClassGUID").Trim());
        }
    }

    // A FIXTURE shaped like the Windows 10 inbox Intel 82574L INF (e1i63x64.inf: Class=Net, NTamd64 models, service
    // e1iexpress — the service the real Windows 10 1709 hive has, with BootFlags 1 and demand start).
    internal const string E1iInf =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nClassGuid=" + NetClassGuid + "\r\nProvider=%Msft%\r\nDriverVer=06/21/2006,12.15.22.6\r\n" +
        "[Manufacturer]\r\n%Intel%=Intel,NTamd64\r\n[Intel.NTamd64]\r\n%E10D3%=E10D3, PCI\\VEN_8086&DEV_10D3\r\n" +
        "[E10D3]\r\nCopyFiles=E10D3.CopyFiles\r\n[E10D3.Services]\r\nAddService=e1iexpress, 2, E10D3.Service\r\n" +
        "[E10D3.Service]\r\nServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%12%\\e1i63x64.sys\r\nLoadOrderGroup=NDIS\r\n" +
        "[E10D3.CopyFiles]\r\ne1i63x64.sys\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n" +
        "[Strings]\r\nMsft=\"Microsoft\"\r\nIntel=\"Intel\"\r\nE10D3=\"Intel(R) 82574L Gigabit Network Connection\"\r\n";

    [Fact]
    public void On_windows_10_an_inbox_nic_becomes_a_network_boot_driver()
    {
        const string Nic = @"PCI\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_01";
        string image = NtfsImageBuilder.Build(_tmp, _tmp.File("win10.raw"), mount =>
        {
            string windows = Path.Combine(mount, "Windows");
            Directory.CreateDirectory(Path.Combine(windows, "System32", "config"));
            File.Copy(TestData.Require("registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp"), Path.Combine(windows, "System32", "config", "SYSTEM"));
            Directory.CreateDirectory(Path.Combine(windows, "INF"));
            File.WriteAllText(Path.Combine(windows, "INF", "e1i63x64.inf"), E1iInf, new UTF8Encoding(false));
        });
        string original = TestData.Require("registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp");
        Assert.Equal("1", Oracle.RunChecked("hivexget", original, @"ControlSet001\Services\e1iexpress", "BootFlags").Trim());

        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true));
            IscsiBootPlan plan = IscsiBoot.For(w).WithBootAdapter(Nic).ForTarget(TargetOs.Windows10X64).Apply();
            Assert.DoesNotContain(plan.Changes, c => c.Key.Contains("CriticalDeviceDatabase", StringComparison.Ordinal));
            RegistryChange start = Assert.Single(plan.Changes);
            Assert.Equal(("Start", "3", "0"), (start.ValueName, start.OldValue, start.NewValue));
            disk.Flush();
        }
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string hive = _tmp.File("SYSTEM.win10");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, @"ControlSet001\Services\e1iexpress", "Start").Trim());
        Assert.Equal("1", Oracle.RunChecked("hivexget", hive, @"ControlSet001\Services\e1iexpress", "BootFlags").Trim());
        Assert.Equal(HivexOracle.Subkeys(original, @"DriverDatabase\DriverPackages").Count, HivexOracle.Subkeys(hive, @"DriverDatabase\DriverPackages").Count);
    }

}
