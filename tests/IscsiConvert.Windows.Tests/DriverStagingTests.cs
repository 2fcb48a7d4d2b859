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
/// Windows 8+ staging of a supplied NIC package on a GPT VHDX built around the real Windows 10 1709 SYSTEM hive (and a
/// DRIVERS hive made by hivexregedit): every key and value is read back with hivexregedit and compared — type, length,
/// layout — with an entry Windows itself wrote in the same real hive; the files with ntfs-3g; the image with
/// ntfsfix -n and qemu-img check. A second prepare finds everything in place and writes nothing.
/// </summary>
public sealed class DriverStagingTests : IDisposable
{
    private const string Win10Hive = "registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp";
    private static readonly DateTime ImportDate = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => ImportDate;
    }

    [Fact]
    public void A_supplied_nic_package_is_staged_like_windows_own_packages_and_a_second_run_is_a_no_op()
    {
        string real = TestData.Require(Win10Hive);
        // A DRIVERS hive (HKLM\DRIVERS on builds that have one) whose OemInfMap says oem0 – oem15 are taken.
        string driversHive = HivexOracle.Build(_tmp, "DRIVERS", @"\", @"[\DriverDatabase]", "\"OemInfMap\"=hex:ff,ff");
        string volume = NtfsImageBuilder.Build(_tmp, _tmp.File("win10.volume"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(real, Path.Combine(config, "SYSTEM"));
            File.Copy(driversHive, Path.Combine(config, "DRIVERS"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "System32", "drivers"));
        });
        (string disk, int partition) = GptImage.Wrap(_tmp, volume, "win10.vhdx");
        string package = TestNicPackage.Write(_tmp, "ivnic");

        IscsiBootPlan plan = Prepare(disk, package);
        // SYSTEM's OemInfMap (ff fc) takes oem0 – oem13, the DRIVERS hive's (ff ff) oem0 – oem15: the first free is oem16.
        Assert.Contains(plan.Files, f => f.Destination == @"\Windows\INF\oem16.inf");
        FileCopy inStore = Assert.Single(plan.Files, f => f.Destination.EndsWith(@"\ivnic.inf", StringComparison.Ordinal) && f.Destination.Contains("FileRepository", StringComparison.Ordinal));
        string store = inStore.Destination.Split('\\')[^2];
        Assert.Matches("^ivnic\\.inf_amd64_[0-9a-f]{16}$", store);

        QemuImg.Check(disk, "vhdx");
        string vol = GptImage.ExtractVolume(_tmp, disk, partition, "after.volume");
        ToolResult fix = Oracle.Run("ntfsfix", "-n", vol);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string Cat(string path, string to)
        {
            Oracle.RunChecked("sh", "-c", $"ntfscat '{vol}' '{path}' > '{to}'");
            return to;
        }
        string Sha(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        Assert.Contains(store, Oracle.RunChecked("ntfsls", "-f", vol, "-p", "/Windows/System32/DriverStore/FileRepository"), StringComparison.Ordinal);
        Assert.Equal(new[] { "ivnic.cat", "ivnic.inf", "ivnic.sys" }, Oracle.RunChecked("ntfsls", "-f", vol, "-p", "/Windows/System32/DriverStore/FileRepository/" + store)
            .Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l != "." && l != "..").Order(StringComparer.Ordinal));
        Assert.Equal(Sha(Path.Combine(package, "ivnic.inf")), Sha(Cat("/Windows/INF/oem16.inf", _tmp.File("oem16.out"))));
        Assert.Equal(Sha(Path.Combine(package, "ivnic.sys")), Sha(Cat("/Windows/System32/drivers/ivnic.sys", _tmp.File("sys.out"))));
        Assert.Equal(Sha(Path.Combine(package, "ivnic.cat")), Sha(Cat("/Windows/System32/CatRoot/{F750E6C3-38EE-11D1-85E5-00C04FC295EE}/oem16.cat", _tmp.File("cat.out"))));
        string system = Cat("/Windows/System32/config/SYSTEM", _tmp.File("SYSTEM.after"));
        string drivers = Cat("/Windows/System32/config/DRIVERS", _tmp.File("DRIVERS.after"));

        foreach (string hive in new[] { system, drivers })
        {
            AssertShapedLikeWindows(real, hive, store);
        }
        // OemInfMap: SYSTEM's ff fc gains bit 16 (a third byte), DRIVERS' ff ff too.
        Assert.Equal(new byte[] { 0xFF, 0xFC, 0x80 }, HivexOracle.Values(system, @"\DriverDatabase")["OemInfMap"].Data);
        Assert.Equal(new byte[] { 0xFF, 0xFF, 0x80 }, HivexOracle.Values(drivers, @"\DriverDatabase")["OemInfMap"].Data);

        // The service: as Windows writes a third-party driver's (iwdbus, oem11.inf), boot start and the network-boot flag.
        var svc = HivexOracle.Values(system, @"\ControlSet001\Services\ivnic");
        var inboxOem = HivexOracle.Values(real, @"\ControlSet001\Services\iwdbus");
        foreach (string name in new[] { "Type", "ErrorControl", "ImagePath", "Group", "DisplayName", "Owners" })
        {
            Assert.Equal(inboxOem[name].Type, svc[name].Type);
        }
        Assert.Equal("0", HivexOracle.Get(system, @"ControlSet001\Services\ivnic", "Start"));
        Assert.Equal("1", HivexOracle.Get(system, @"ControlSet001\Services\ivnic", "BootFlags"));
        Assert.Equal(@"\SystemRoot\System32\drivers\ivnic.sys", HivexOracle.Get(system, @"ControlSet001\Services\ivnic", "ImagePath"));
        Assert.Equal("oem16.inf", HivexOracle.Get(system, @"ControlSet001\Services\ivnic", "Owners"));
        Assert.Equal("@oem16.inf,%SvcDesc%;Example NIC driver", HivexOracle.Get(system, @"ControlSet001\Services\ivnic", "DisplayName"));
        Assert.Equal("64", HivexOracle.Get(system, @"ControlSet001\Services\ivnic\Parameters", "QueueDepth"));
        Assert.Equal("fast", HivexOracle.Get(system, @"ControlSet001\Services\ivnic\Parameters", "Mode"));
        // Nothing else of the database moved: Windows' own packages are all still there.
        Assert.Equal(HivexOracle.Subkeys(real, @"DriverDatabase\DriverPackages").Append(store).Order(StringComparer.OrdinalIgnoreCase),
            HivexOracle.Subkeys(system, @"DriverDatabase\DriverPackages").Order(StringComparer.OrdinalIgnoreCase));

        // A second prepare: the INF is recognised as oem16.inf (same bytes), every value and file is in place.
        byte[] before = File.ReadAllBytes(disk);
        IscsiBootPlan again = Prepare(disk, package);
        Assert.True(again.IsEmpty, string.Join("\n", again.Changes.Select(c => c.ToString()).Concat(again.Files.Select(f => f.ToString()))));
        Assert.Equal(before, File.ReadAllBytes(disk));
    }

    // A storage controller package written for this test (SCSIAdapter class, a storport-style miniport service).
    private const string StorageInf =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=SCSIAdapter\r\nClassGuid={4D36E97B-E325-11CE-BFC1-08002BE10318}\r\nProvider=%Vendor%\r\nDriverVer=01/02/2025,2.0.0.1\r\n" +
        "[Manufacturer]\r\n%Vendor%=Models,NTamd64\r\n[Models.NTamd64]\r\n%Desc%=Stor.Install, PCI\\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01, PCI\\VEN_1AF4&DEV_1048\r\n" +
        "[Stor.Install]\r\nCopyFiles=Stor.CopyFiles\r\n[Stor.Install.Services]\r\nAddService=ivstor, 2, Stor.Service\r\n" +
        "[Stor.Service]\r\nServiceType=1\r\nStartType=0\r\nErrorControl=1\r\nServiceBinary=%12%\\ivstor.sys\r\nLoadOrderGroup=SCSI miniport\r\nAddReg=Stor.Reg\r\n" +
        "[Stor.Reg]\r\nHKR,Parameters,BusType,0x00010001,10\r\n[Stor.CopyFiles]\r\nivstor.sys\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n" +
        "[Strings]\r\nVendor=\"Example Storage\"\r\nDesc=\"Example virtio SCSI controller\"\r\n";

    [Fact]
    public void A_storage_controller_goes_through_the_same_path_next_to_the_nic_each_with_its_own_oem_number()
    {
        string real = TestData.Require(Win10Hive);
        string image = NtfsImageBuilder.Build(_tmp, _tmp.File("win10-storage.raw"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(real, Path.Combine(config, "SYSTEM"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
        });
        string nic = TestNicPackage.Write(_tmp, "ivnic-s");
        string storage = _tmp.File("ivstor");
        Directory.CreateDirectory(storage);
        File.WriteAllText(Path.Combine(storage, "ivstor.inf"), StorageInf);
        File.WriteAllBytes(Path.Combine(storage, "ivstor.sys"), new byte[] { 0x4D, 0x5A, 9, 9, 9 });
        using (VirtualDisk d = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(d, writable: true)))
            {
                IscsiBootPlan plan = IscsiBoot.For(w).WithBootAdapter(TestNicPackage.Device).WithStorageController(@"PCI\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01")
                    .WithDriverPackage(nic).WithDriverPackage(storage).ForTarget(TargetOs.Windows10X64).WithTimeProvider(new FixedClock()).Apply();
                Assert.Contains(plan.Drivers, l => l.Contains("(storage)", StringComparison.Ordinal) && l.Contains("ivstor", StringComparison.Ordinal));
            }
            d.Flush();
        }
        Assert.True(Oracle.Run("ntfsfix", "-n", image).ExitCode == 0);
        string hive = _tmp.File("SYSTEM.storage");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        // oem14 for the NIC, oem15 for the controller: OemInfMap ff fc becomes ff ff.
        Assert.Equal(new byte[] { 0xFF, 0xFF }, HivexOracle.Values(hive, @"\DriverDatabase")["OemInfMap"].Data);
        var scsi = HivexOracle.Values(hive, @"\DriverDatabase\DeviceIds\{4d36e97b-e325-11ce-bfc1-08002be10318}");
        Assert.True(scsi.ContainsKey("stornvme.inf") && scsi.ContainsKey("oem15.inf"));
        Assert.Equal(new byte[] { 1, 0xFF, 0, 0 }, HivexOracle.Values(hive, @"\DriverDatabase\DeviceIds\PCI\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01")["oem15.inf"].Data);
        Assert.Equal("oem14.inf", HivexOracle.Get(hive, @"ControlSet001\Services\ivnic", "Owners"));
        Assert.Equal("0", HivexOracle.Get(hive, @"ControlSet001\Services\ivstor", "Start"));
        Assert.Equal("SCSI miniport", HivexOracle.Get(hive, @"ControlSet001\Services\ivstor", "Group"));
        Assert.Equal("10", HivexOracle.Get(hive, @"ControlSet001\Services\ivstor\Parameters", "BusType"));
        // The network-boot flag is for the NIC; a boot-start storage driver loads without it.
        Assert.Null(HivexOracle.Get(hive, @"ControlSet001\Services\ivstor", "BootFlags"));
        Assert.Equal("1", HivexOracle.Get(hive, @"ControlSet001\Services\ivnic", "BootFlags"));
    }

    [Fact]
    public void A_package_that_runs_from_the_driver_store_gets_its_image_path_there()
    {
        // DestinationDirs 13 (Windows 8.1 and later): the driver stays in its driver-store folder, as lxc/distrobuilder's
        // viosock ImagePath (\SystemRoot\System32\DriverStore\FileRepository\<package>\viosock.sys) shows.
        string image = NtfsImageBuilder.BuildWindows(_tmp, _tmp.File("win10-dirid13.raw"), TestData.Require(Win10Hive));
        string package = TestNicPackage.Write(_tmp, "ivnic13");
        string inf = Path.Combine(package, "ivnic.inf");
        File.WriteAllText(inf, File.ReadAllText(inf).Replace("DefaultDestDir=12", "DefaultDestDir=13", StringComparison.Ordinal).Replace(@"%12%\ivnic.sys", @"%13%\ivnic.sys", StringComparison.Ordinal));
        IscsiBootPlan plan;
        using (VirtualDisk d = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(d, writable: true)))
            {
                plan = IscsiBoot.For(w).WithBootAdapter(TestNicPackage.Device).WithDriverPackage(package).ForTarget(TargetOs.Windows10X64).WithTimeProvider(new FixedClock()).Apply();
            }
            d.Flush();
        }
        string store = plan.Files.Single(f => f.Destination.EndsWith(@"\ivnic.inf", StringComparison.Ordinal) && f.Destination.Contains("FileRepository", StringComparison.Ordinal)).Destination.Split('\\')[^2];
        Assert.DoesNotContain(plan.Files, f => f.Destination.Contains(@"\drivers\", StringComparison.OrdinalIgnoreCase));
        Assert.True(Oracle.Run("ntfsfix", "-n", image).ExitCode == 0);
        string hive = _tmp.File("SYSTEM.dirid13");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal($@"\SystemRoot\System32\DriverStore\FileRepository\{store}\ivnic.sys", HivexOracle.Get(hive, @"ControlSet001\Services\ivnic", "ImagePath"));
        string sys = _tmp.File("dirid13.sys");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' '/Windows/System32/DriverStore/FileRepository/{store}/ivnic.sys' > '{sys}'");
        Assert.Equal(File.ReadAllBytes(Path.Combine(package, "ivnic.sys")), File.ReadAllBytes(sys));
    }

    private static IscsiBootPlan Prepare(string disk, string package)
    {
        using VirtualDisk d = DiskImage.Open(disk, DiskAccess.ReadWrite);
        IscsiBootPlan plan;
        using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(d, writable: true)))
        {
            plan = IscsiBoot.For(w).WithBootAdapter(TestNicPackage.Device).WithDriverPackage(package)
                .ForTarget(TargetOs.Windows10X64).WithTimeProvider(new FixedClock()).Apply();
        }
        if (!plan.IsEmpty)
        {
            d.Flush();
        }
        return plan;
    }

    // Each key the engine writes, value by value against an entry Windows wrote in the real hive: same names, same
    // types, same lengths where Windows' are fixed, the same constant bytes.
    private static void AssertShapedLikeWindows(string real, string hive, string store)
    {
        const string Db = @"\DriverDatabase";
        // DriverInfFiles\oemN.inf like Windows' oem11.inf (iwdbus): default MULTI_SZ of the package, Active, Configurations.
        var infRef = HivexOracle.Values(real, Db + @"\DriverInfFiles\oem11.inf");
        var inf = HivexOracle.Values(hive, Db + @"\DriverInfFiles\oem16.inf");
        AssertSameNamesAndTypes(infRef, inf);
        Assert.Equal(Utf16Multi(store), inf[string.Empty].Data);
        Assert.Equal(Utf16(store), inf["Active"].Data);
        Assert.Equal(Utf16Multi("Nic.Install"), inf["Configurations"].Data);

        // DeviceIds\<enumerator>\<id>: one 4-byte REG_BINARY per INF, like lsi_sas.inf's; 01 ff 00 00 for the model's
        // hardware ID, 02 ff 00 00 for its compatible ID (as Windows writes msports.inf's *PNP0500).
        var idRef = HivexOracle.Values(real, Db + @"\DeviceIds\PCI\VEN_1000&DEV_0050")["lsi_sas.inf"];
        var hw = HivexOracle.Values(hive, Db + @"\DeviceIds\PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00")["oem16.inf"];
        var compat = HivexOracle.Values(hive, Db + @"\DeviceIds\PCI\VEN_1AF4&DEV_1000")["oem16.inf"];
        Assert.Equal(idRef.Type, hw.Type);
        Assert.Equal(idRef.Data, hw.Data);
        Assert.Equal(HivexOracle.Values(real, Db + @"\DeviceIds\*PNP0500")["msports.inf"].Data, compat.Data);
        // DeviceIds\{class GUID}: an empty REG_NONE per INF, like stornvme.inf under the SCSIAdapter class.
        var classRef = HivexOracle.Values(real, Db + @"\DeviceIds\{4d36e97b-e325-11ce-bfc1-08002be10318}")["stornvme.inf"];
        var cls = HivexOracle.Values(hive, Db + @"\DeviceIds\{4d36e972-e325-11ce-bfc1-08002be10318}")["oem16.inf"];
        Assert.Equal(classRef, (cls.Type, cls.Data), new TypeAndBytes());

        // DriverPackages\<pkg> like Windows' third-party package iwdbus.inf_amd64_2174cb4f0f69d5e4 (same value names,
        // types) — plus nothing Windows does not write.
        string pkgKey = Db + @"\DriverPackages\" + store;
        var pkgRef = HivexOracle.Values(real, Db + @"\DriverPackages\iwdbus.inf_amd64_2174cb4f0f69d5e4");
        var pkg = HivexOracle.Values(hive, pkgKey);
        AssertSameNamesAndTypes(pkgRef, pkg);
        Assert.Equal(Utf16("oem16.inf"), pkg[string.Empty].Data);
        Assert.Equal(Utf16("ivnic.inf"), pkg["InfName"].Data);
        Assert.Equal(Utf16("Example Networks"), pkg["Provider"].Data);
        Assert.Equal(BitConverter.GetBytes(ImportDate.ToFileTimeUtc()), pkg["ImportDate"].Data);
        byte[] version = pkg["Version"].Data;
        byte[] versionRef = pkgRef["Version"].Data;
        Assert.Equal(versionRef.Length, version.Length);
        Assert.Equal(versionRef[..8], version[..8]); // 00 ff 09 00 00 00 00 00: third party
        Assert.Equal(new Guid(TestNicPackage.NetClassGuid).ToByteArray(), version[8..24]);
        Assert.Equal(new DateTime(2025, 3, 4, 0, 0, 0, DateTimeKind.Utc).ToFileTimeUtc(), BitConverter.ToInt64(version, 24));
        Assert.Equal(new byte[] { 4, 0, 3, 0, 2, 0, 1, 0 }, version[32..40]); // 1.2.3.4, major in the high 16 bits
        Assert.Equal(new byte[8], version[40..]);

        // Configurations\<section> like stornvme's Stornvme_Inst; the service's AddReg below it as stornvme's Parameters.
        var confRef = HivexOracle.Values(real, Db + @"\DriverPackages\stornvme.inf_amd64_822f29bfb80b20e8\Configurations\Stornvme_Inst");
        var conf = HivexOracle.Values(hive, pkgKey + @"\Configurations\Nic.Install");
        AssertSameNamesAndTypes(confRef, conf);
        Assert.Equal(confRef["ConfigScope"].Data, conf["ConfigScope"].Data);
        Assert.Equal(Utf16(TestNicPackage.Service), conf["Service"].Data);
        Assert.Equal(BitConverter.GetBytes(64u), HivexOracle.Values(hive, pkgKey + @"\Configurations\Nic.Install\Services\ivnic\Parameters")["QueueDepth"].Data);
        // Descriptors\<enumerator>\<id> like stornvme's PCI\CC_010802, for both IDs of the model.
        var descRef = HivexOracle.Values(real, Db + @"\DriverPackages\stornvme.inf_amd64_822f29bfb80b20e8\Descriptors\PCI\CC_010802");
        foreach (string id in new[] { @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", @"PCI\VEN_1AF4&DEV_1000" })
        {
            var desc = HivexOracle.Values(hive, pkgKey + @"\Descriptors\" + id);
            AssertSameNamesAndTypes(descRef, desc);
            Assert.Equal(Utf16("Nic.Install"), desc["Configuration"].Data);
            // %token% in lower case, as stornvme's "%ms-nvme%", resolved by the package's Strings key.
            Assert.Equal(Utf16("%desc%"), desc["Description"].Data);
            Assert.Equal(Utf16("%vendor%"), desc["Manufacturer"].Data);
        }
        var stringsRef = HivexOracle.Values(real, Db + @"\DriverPackages\stornvme.inf_amd64_822f29bfb80b20e8\Strings");
        var strings = HivexOracle.Values(hive, pkgKey + @"\Strings");
        Assert.Equal(stringsRef["ms-nvme"].Type, strings["desc"].Type);
        Assert.Equal(Utf16("Example virtio network adapter"), strings["desc"].Data);
        Assert.Equal(Utf16("Example Networks"), strings["vendor"].Data);
    }

    private static void AssertSameNamesAndTypes(IReadOnlyDictionary<string, (int Type, byte[] Data)> windows, IReadOnlyDictionary<string, (int Type, byte[] Data)> ours)
    {
        // Windows' third-party packages may carry more (NeedsReconfig after an update); what we write must be among
        // Windows' names with Windows' types, and every name Windows' reference has must be there.
        Assert.Equal(windows.Keys.Order(StringComparer.OrdinalIgnoreCase), ours.Keys.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        foreach (string name in windows.Keys)
        {
            Assert.True(windows[name].Type == ours[name].Type, $"{name}: type {ours[name].Type}, Windows wrote {windows[name].Type}");
            if (windows[name].Type == 4)
            {
                Assert.Equal(4, ours[name].Data.Length);
            }
        }
    }

    private static byte[] Utf16(string s) => System.Text.Encoding.Unicode.GetBytes(s + "\0");

    private static byte[] Utf16Multi(params string[] s) => System.Text.Encoding.Unicode.GetBytes(string.Join("\0", s) + "\0\0");

    private sealed class TypeAndBytes : IEqualityComparer<(int Type, byte[] Data)>
    {
        public bool Equals((int Type, byte[] Data) x, (int Type, byte[] Data) y) => x.Type == y.Type && x.Data.AsSpan().SequenceEqual(y.Data);

        public int GetHashCode((int Type, byte[] Data) obj) => obj.Type;
    }
}
