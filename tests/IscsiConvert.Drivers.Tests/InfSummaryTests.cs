using System;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Drivers.Tests;

/// <summary>
/// Expected summaries of real INFs, typed by hand from reading their text (not from our output): hardware IDs,
/// services, binaries, start types, destinations, and the models section chosen for Windows 7 and Windows 10 x64.
/// </summary>
public sealed class InfSummaryTests
{
    private static readonly TargetOs Win7 = TargetOs.Windows7X64;
    private static readonly TargetOs Win10 = TargetOs.Windows10X64;

    internal static InfFile Stamped(string relative, string arch = "amd64") =>
        InfFile.Load(TestData.Require(relative), new InfReadOptions { Tolerant = true, TemplateArchitecture = arch });

    /// <summary>The virtio-win build replaces INX_PLATFORM_DRIVERS_DIR with a dirid (12 before Windows 10, 13 after).</summary>
    private static InfFile StampedWithDriversDir(string relative, string dirId)
    {
        string text = File.ReadAllText(TestData.Require(relative)).Replace("INX_PLATFORM_DRIVERS_DIR", dirId, StringComparison.Ordinal);
        return InfFile.ParseText(text, relative, new InfReadOptions { Tolerant = true, TemplateArchitecture = "amd64" });
    }

    [Fact]
    public void Viostor()
    {
        InfFile inf = Stamped("inf/virtio-win/viostor.inx");
        Assert.Equal("SCSIAdapter", inf.Version.Class);
        Assert.Equal("{4D36E97B-E325-11CE-BFC1-08002BE10318}", inf.Version.ClassGuid);
        Assert.Equal(new DateTime(2008, 1, 1), inf.Version.DriverDate);
        Assert.Equal(new Version(0, 0, 0, 1), inf.Version.DriverVersion);
        Assert.Equal("viostor.cat", inf.Version.GetCatalogFile(Win10));
        foreach (TargetOs target in new[] { Win7, Win10 })
        {
            InfManufacturer m = Assert.Single(inf.GetManufacturers(target));
            Assert.Equal("VioStor.NTamd64", m.ChosenSection);
            Assert.Equal(
                new[] { @"PCI\VEN_1AF4&DEV_1001&SUBSYS_0002_INX_SUBSYS_VENDOR_ID&REV_00", @"PCI\VEN_1AF4&DEV_1042&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01" },
                m.Models.Select(x => x.HardwareId));
            Assert.Equal(new[] { @"PCI\VEN_1AF4&DEV_1001" }, m.Models[0].CompatibleIds);
            Assert.Equal(new[] { @"PCI\VEN_1AF4&DEV_1042" }, m.Models[1].CompatibleIds);
            Assert.All(m.Models, x => Assert.Equal("scsi_inst", x.InstallSection));
            Assert.All(m.Models, x => Assert.Equal("INX_PREFIX_VENDORVirtIO SCSI controller", x.Description));
        }

        InfInstall install = inf.ResolveInstall("scsi_inst", Win10);
        Assert.Equal("scsi_inst", install.ChosenSection);
        InfFileCopy file = Assert.Single(install.Files);
        Assert.Equal("viostor.sys", file.FileName);
        Assert.Equal(2, file.Flags);
        Assert.Null(file.DirId); // INX_PLATFORM_DRIVERS_DIR is left for the build to replace
        InfService svc = Assert.Single(install.Services);
        Assert.Equal("viostor", svc.Name);
        Assert.True(svc.IsFunctionDriver);
        Assert.Equal(1, svc.ServiceType);
        Assert.Equal(0, svc.StartType);
        Assert.Equal(1, svc.ErrorControl);
        Assert.Equal("SCSI miniport", svc.LoadOrderGroup);
        Assert.Equal(@"%INX_PLATFORM_DRIVERS_DIR%\viostor.sys", svc.ServiceBinary);
        Assert.Equal(
            new[] { @"HKR\Parameters\PnpInterface : 5 = REG_DWORD 0x00000001", @"HKR\Parameters : BusType = REG_DWORD 0x00000001", @"HKR\Parameters : DmaRemappingCompatible = REG_DWORD 0" },
            svc.Registry.Select(r => r.ToString()));
        Assert.Equal(
            new[] { @"HKR : EventMessageFile = REG_EXPAND_SZ %SystemRoot%\System32\IoLogMsg.dll", "HKR : TypesSupported = REG_DWORD 7" },
            svc.EventLogRegistry.Select(r => r.ToString()));
        Assert.Equal(7, install.HardwareRegistry.Count);
        Assert.Equal(@"HKR\Interrupt Management (key)", install.HardwareRegistry[0].ToString());
        Assert.Equal(@"HKR\Interrupt Management\MessageSignaledInterruptProperties : MessageNumberLimit = REG_DWORD 257", install.HardwareRegistry[3].ToString());
    }

    [Theory]
    [InlineData("12", @"\Windows\System32\drivers")]
    [InlineData("13", @"\Windows\System32\DriverStore\FileRepository\<package>")]
    public void ViostorDestinationsOnceTheBuildPlaceholderIsReplaced(string dirId, string folder)
    {
        InfFile inf = StampedWithDriversDir("inf/virtio-win/viostor.inx", dirId);
        InfInstall install = inf.ResolveInstall("scsi_inst", Win10);
        Assert.Equal(folder + @"\viostor.sys", Assert.Single(install.Files).DestinationPath);
        Assert.Equal(folder + @"\viostor.sys", install.Services[0].ServiceBinaryPath);
    }

    [Fact]
    public void Vioscsi()
    {
        InfFile inf = Stamped("inf/virtio-win/vioscsi.inx");
        InfManufacturer m = Assert.Single(inf.GetManufacturers(Win7));
        Assert.Equal("VirtioScsi.NTamd64", m.ChosenSection);
        Assert.Equal(new[] { @"PCI\VEN_1AF4&DEV_1004", @"PCI\VEN_1AF4&DEV_1048" }, m.Models.Select(x => x.CompatibleIds.Single()));
        InfInstall install = inf.ResolveInstall("scsi_inst", Win7);
        Assert.Equal("vioscsi.sys", install.Files.Single().FileName);
        InfService svc = install.Services.Single();
        Assert.Equal(("vioscsi", 0, "INX_PREFIX_VENDORVirtIO SCSI pass-through Service"), (svc.Name, svc.StartType!.Value, svc.DisplayName!));
        Assert.Equal(@"HKR\Parameters : BusType = REG_DWORD 0x0000000A", svc.Registry[1].ToString());
        Assert.Equal(8, install.HardwareRegistry.Count);
    }

    [Fact]
    public void NetKvm()
    {
        InfFile inf = Stamped("inf/virtio-win/netkvm-base.txt");
        Assert.Equal("Net", inf.Version.Class);
        InfManufacturer m = Assert.Single(inf.GetManufacturers(Win10));
        Assert.Equal("NetKVM.NTamd64", m.ChosenSection);
        Assert.Equal(new[] { @"PCI\VEN_1AF4&DEV_1000", @"PCI\VEN_1AF4&DEV_1041" }, m.Models.Select(x => x.CompatibleIds.Single()));
        InfInstall install = inf.ResolveInstall("kvmnet6.ndi", Win10);
        Assert.Equal("kvmnet6.ndi", install.ChosenSection);
        Assert.Equal(new[] { "netkvm.sys", "netkvmp.exe" }, install.Files.Select(f => f.FileName));
        Assert.Equal(@"\Windows\System32\netkvmp.exe", install.Files[1].DestinationPath);
        InfService svc = install.Services.Single();
        Assert.Equal(("netkvm", 2, 1, 3, 1, "NDIS"), (svc.Name, svc.Flags, svc.ServiceType!.Value, svc.StartType!.Value, svc.ErrorControl!.Value, svc.LoadOrderGroup!));
        Assert.Equal(
            new[] { "HKR\\Parameters : DisableMSI = REG_SZ 0", "HKR\\Parameters : EarlyDebug = REG_SZ 3", "HKR\\Parameters : DmaRemappingCompatible = REG_DWORD INX_NETKVM_DMAREMAP" },
            svc.Registry.Select(r => r.ToString()));
        // [kvmnet6.ndi.hw] is written in lower case: section names are case-insensitive.
        Assert.Equal(4, install.HardwareRegistry.Count);
        Assert.Equal(@"HKR\Interrupt Management\MessageSignaledInterruptProperties : MessageNumberLimit = REG_DWORD 2048", install.HardwareRegistry[1].ToString());
        // AddReg = kvmnet6.Reg, Parameters: [kvmnet6.Reg] comes after [Strings] in the file.
        Assert.Contains(install.Registry, r => r.Section == "Parameters" && r.SubKey == @"Ndi\Params\Priority" && r.ValueName == "ParamDesc");
        Assert.Contains(install.Registry, r => r.Section == "kvmnet6.Reg");
    }

    [Fact]
    public void XenVbd()
    {
        InfFile inf = Stamped("inf/xen/xenvbd.inf");
        Assert.Equal("Citrix Systems, Inc.", inf.Version.Provider);
        Assert.Equal(new DateTime(1900, 1, 1), inf.Version.DriverDate);
        InfManufacturer m = Assert.Single(inf.GetManufacturers(Win7));
        Assert.Equal("Citrix.NTamd64", m.ChosenSection);
        Assert.Equal(
            new[] { @"XENBUS\VEN_XSC000&DEV_VBD&REV_00000001", @"XENBUS\VEN_XS0001&DEV_VBD&REV_00000001", @"XENBUS\VEN_XS0002&DEV_VBD&REV_00000001" },
            m.Models.Select(x => x.HardwareId));
        InfInstall install = inf.ResolveInstall("XenVbd_Inst", Win7);
        Assert.Equal(
            new[] { @"\Windows\System32\drivers\xenvbd.sys", @"\Windows\System32\drivers\xencrsh.sys", @"\Windows\System32\xenvbd_coinst_@MAJOR_VERSION@_@MINOR_VERSION@_@MICRO_VERSION@_@BUILD_NUMBER@.dll" },
            install.Files.Select(f => f.DestinationPath));
        Assert.Equal("xenvbd_coinst.dll", install.Files[2].SourceName);
        Assert.Equal(new[] { "xenvbd_coinst_@MAJOR_VERSION@_@MINOR_VERSION@_@MICRO_VERSION@_@BUILD_NUMBER@.dll,Entry" }, install.CoInstallers);
        InfService svc = install.Services.Single();
        Assert.Equal(("xenvbd", true, 0, @"\Windows\System32\drivers\xenvbd.sys", "Scsi Miniport"), (svc.Name, svc.IsFunctionDriver, svc.StartType!.Value, svc.ServiceBinaryPath!, svc.LoadOrderGroup!));
        Assert.Equal("XenServer PV Storage Host Adapter", svc.DisplayName);
        Assert.Equal(@"HKR\Parameters (key)", svc.Registry[0].ToString());
    }

    [Fact]
    public void LsiU3()
    {
        InfFile inf = Stamped("inf/ms-pl/lsi_u3.inf");
        Assert.Equal(new DateTime(2008, 6, 12), inf.Version.DriverDate);
        Assert.Equal(new Version(5, 9, 10, 4), inf.Version.DriverVersion);
        InfManufacturer m = Assert.Single(inf.GetManufacturers(Win10));
        Assert.Equal("LSI.NTamd64", m.ChosenSection);
        Assert.Equal(new[] { @"PCI\VEN_1000&DEV_0020", @"PCI\VEN_1000&DEV_0021" }, m.Models.Select(x => x.HardwareId));
        // A quoted string value keeps its semicolon.
        Assert.Equal("LSI Ultra3 PCI SCSI Adapter; 53C1010-33 (StorPort)", m.Models[0].Description);
        InfInstall install = inf.ResolveInstall("LSI_U3_Inst", Win10);
        InfFileCopy file = install.Files.Single();
        Assert.Equal((@"\Windows\System32\drivers\lsi_u3.sys", 12, 1), (file.DestinationPath!, file.DirId!.Value, file.Flags));
        InfService svc = install.Services.Single();
        Assert.Equal(("LSI_U3", 2, 0, @"\Windows\System32\drivers\lsi_u3.sys", "SCSI Miniport"), (svc.Name, svc.Flags, svc.StartType!.Value, svc.ServiceBinaryPath!, svc.LoadOrderGroup!));
        Assert.Equal(2, svc.Registry.Count); // two AddReg lines in one section
        Assert.Equal(
            new[] { @"delete HKR\Scsiport : BusNumber", @"delete HKR\Scsiport : LegacyInterfaceType", @"delete HKR\Scsiport : SlotNumber" },
            install.HardwareRegistry.Select(r => r.ToString()));
    }

    [Fact]
    public void DiskDev()
    {
        InfFile inf = InfFile.Load(TestData.Require("inf/ms-pl/diskdev.inf")); // a stamped INF: strict mode
        InfManufacturer m = Assert.Single(inf.GetManufacturers(Win10));
        Assert.Equal("Standard.Mfg.NTamd64", m.ChosenSection);
        Assert.Equal(new[] { "GenDisk", "GenOptical" }, m.Models.Select(x => x.HardwareId));
        InfInstall install = inf.ResolveInstall("disk", Win10);
        Assert.Equal("disk.NT", install.ChosenSection);
        InfFileCopy file = install.Files.Single();
        Assert.Equal(@"\Windows\System32\drivers\disk.sys", file.DestinationPath);
        Assert.Equal("amd64", file.SourcePath); // [SourceDisksNames.amd64] 1 = …,,,\amd64
        InfService svc = install.Services.Single();
        Assert.Equal(("disk", 0, @"\Windows\System32\drivers\disk.sys", "SCSI Class", "Disk Drive"), (svc.Name, svc.StartType!.Value, svc.ServiceBinaryPath!, svc.LoadOrderGroup!, svc.DisplayName!));
        // Only an NTamd64 models section: nothing for x86 (the undecorated [Standard.Mfg] does not exist).
        InfManufacturer x86 = Assert.Single(inf.GetManufacturers(TargetOs.Parse("win7-x86")));
        Assert.Equal("Standard.Mfg", x86.ChosenSection);
        Assert.Empty(x86.Models);
        Assert.Contains(inf.Warnings, w => w.Contains("[Standard.Mfg]", StringComparison.Ordinal));
    }

    [Fact]
    public void NetVMini680WantsWindows10Build16299()
    {
        InfFile inf = Stamped("inf/ms-pl/netvmini680.inf");
        Assert.Null(Assert.Single(inf.GetManufacturers(Win7)).ChosenSection);
        Assert.Empty(inf.GetModels(Win7));
        Assert.Empty(inf.GetModels(TargetOs.Parse("win10-x64@15063")));
        InfManufacturer m = Assert.Single(inf.GetManufacturers(Win10));
        Assert.Equal("Standard.NTamd64.10.0...16299", m.ChosenSection);
        Assert.Equal(
            new[] { @"root\NetVMini680_a", @"root\NetVMini680_b", @"root\NetVMini680_c", @"root\NetVMini680_d", @"{b85b7c50-6a01-11d2-b841-00c04fad5171}\NetVMini680" },
            m.Models.Select(x => x.HardwareId));
        InfInstall install = inf.ResolveInstall("NetVMini.ndi", Win10);
        Assert.Equal(@"\Windows\System32\DriverStore\FileRepository\<package>\NetVMini680.sys", install.Files.Single().DestinationPath);
        InfService svc = install.Services.Single();
        Assert.Equal(("NetVMini680", 3, @"\Windows\System32\DriverStore\FileRepository\<package>\netvmini680.sys"), (svc.Name, svc.StartType!.Value, svc.ServiceBinaryPath!));
    }

    [Fact]
    public void RealtekWlanRealDecorations()
    {
        InfFile inf = InfFile.Load(TestData.Require("inf/ms-pl/netrtwlans.inf")); // not a template: strict mode
        Assert.Equal(new[] { "NTamd64.10.0...16299" }, inf.GetManufacturers(Win10).Single().Decorations);
        Assert.Empty(inf.GetModels(Win7));
        Assert.Empty(inf.GetModels(TargetOs.Parse("win10-x64@15063")));
        Assert.Equal(18, inf.GetModels(TargetOs.Parse("win10-x64@16299")).Count);
        Assert.Equal("Realtek.NTamd64.10.0...16299", inf.GetManufacturers(Win10).Single().ChosenSection);
        Assert.Equal(@"SD\VID_024C&PID_8753", inf.GetModels(Win10)[0].HardwareId);
        Assert.Equal("netrtwlans.cat", inf.Version.GetCatalogFile(Win10)); // CatalogFile.NT
        Assert.Equal(new DateTime(2015, 11, 23), inf.Version.DriverDate);
        Assert.Equal(new Version(3008, 22, 1030, 2015), inf.Version.DriverVersion);

        InfInstall install = inf.ResolveInstall("RTL8723bs.ndi", Win10);
        Assert.Equal("RTL8723bs.ndi.NT", install.ChosenSection);
        Assert.Equal(@"\Windows\System32\DriverStore\FileRepository\<package>\rtwlans.sys", install.Files.Single().DestinationPath);
        InfService svc = install.Services.Single();
        Assert.Equal(("RtlWlans", 0x10002, true, 3, "NDIS"), (svc.Name, svc.Flags, svc.IsFunctionDriver, svc.StartType!.Value, svc.LoadOrderGroup!));
        Assert.Equal(@"%13%\rtwlans.sys", svc.ServiceBinary);
        Assert.Equal(new[] { "netvwifibus.inf" }, install.Includes);
        Assert.Equal(new[] { "VWiFiBus.CopyFiles", "VWiFiBus.Services", "VWiFiBus.PnPFilterRegistration.HW" }, install.Needs);
        // The included INF ships with Windows; without a search folder it is a warning, not a failure.
        Assert.Contains(install.Warnings, w => w.Contains("netvwifibus.inf", StringComparison.Ordinal));
        Assert.Contains(install.Registry, r => r.Section == "NDIS_64.reg" && r.SubKey == "Ndi" && r.ValueName == "Service" && r.Data.Single() == "RtlWlans");
    }

    [Fact]
    public void NetVAdapterUtf16()
    {
        InfFile inf = Stamped("inf/ms-pl/netvadapter.inf");
        Assert.Equal("UTF-16LE", inf.Encoding);
        Assert.Equal("Microsoft", inf.Version.Provider);
        InfManufacturer m = Assert.Single(inf.GetManufacturers(Win10));
        Assert.Equal("Msft.NTamd64", m.ChosenSection);
        Assert.Equal(
            new[] { @"root\netvadapter", @"{b85b7c50-6a01-11d2-b841-00c04fad5171}\netvadapter", @"ndt\netvadapter", @"test\netvadapter1", @"test\netvadapter2" },
            m.Models.Select(x => x.HardwareId));
        Assert.Equal("KMDF Microsoft Virtual Ethernet Adapter (NDIS WDF)", m.Models[0].Description);
        InfInstall install = inf.ResolveInstall("netvadapter.ndi", Win10);
        Assert.Equal(@"\Windows\System32\drivers\netvadapter.sys", install.Files.Single().DestinationPath);
        InfService svc = install.Services.Single();
        Assert.Equal(("netvadapter", 3, @"\Windows\System32\drivers\netvadapter.sys", "NDIS"), (svc.Name, svc.StartType!.Value, svc.ServiceBinaryPath!, svc.LoadOrderGroup!));
    }

    [Fact]
    public void DmfVhidMiniTargetsWindows7AndLater()
    {
        InfFile inf = Stamped("inf/dmf/VHidMini2DmfK.inx");
        Assert.Equal("UTF-16LE", inf.Encoding);
        Assert.Equal("Microsoft.NTamd64.6.1", inf.GetManufacturers(Win7).Single().ChosenSection);
        Assert.Equal("Microsoft.NTamd64.6.1", inf.GetManufacturers(Win10).Single().ChosenSection);
        Assert.Empty(inf.GetModels(TargetOs.Parse("vista-x64")));
        Assert.Equal(@"root\vhidmini2dmfk", inf.GetModels(Win7).Single().HardwareId);
        InfInstall install = inf.ResolveInstall("VHidMini2DmfK", Win7);
        Assert.Equal("VHidMini2DmfK.NT", install.ChosenSection);
        Assert.Equal(@"\Windows\System32\drivers\VHidMini2DmfK.sys", install.Files.Single().DestinationPath);
        Assert.Equal(new[] { ("VHidMini2DmfK", false), ("mshidkmdf", true) }, install.Services.Select(s => (s.Name, s.IsFunctionDriver)));
        Assert.Equal("mshidkmdf", install.FunctionDriver!.Name);
        Assert.Equal(@"\Windows\System32\drivers\mshidkmdf.sys", install.FunctionDriver.ServiceBinaryPath);
    }

    [Fact]
    public void DmfOsrUsbFx2()
    {
        InfFile inf = Stamped("inf/dmf/osrusbfx2dmf1.inx");
        Assert.Equal(new[] { @"USB\VID_0547&PID_1002", @"{6FDE7521-1B65-48ae-B628-80BE62016026}\OsrUsbFxRawPdo" }, inf.GetModels(Win10).Select(m => m.HardwareId));
        InfInstall install = inf.ResolveInstall("osrusbfx2.Dev", Win10);
        Assert.Equal("osrusbfx2.Dev.NT", install.ChosenSection);
        Assert.Equal(@"\Windows\System32\Drivers\osrusbfx2dmf1.sys", install.Services.Single().ServiceBinaryPath); // %10%\System32\Drivers, as written
        Assert.Equal(new[] { @"\Windows\System32\drivers\osrusbfx2dmf1.sys", @"\Windows\System32\WdfCoInstaller$KMDFCOINSTALLERVERSION$.dll" }, install.Files.Select(f => f.DestinationPath));
        // AddService = , 0x2, : a null service (the raw PDO needs no driver) adds nothing.
        Assert.Empty(inf.ResolveInstall("Switch.Dev", Win10).Services);
    }

    [Fact]
    public void UnstampedTemplatesOfferNoModelsOffX86()
    {
        InfFile inf = InfFile.Load(TestData.Require("inf/virtio-win/viostor.inx"), new InfReadOptions { Tolerant = true });
        Assert.Equal(new[] { "NT$ARCH$" }, inf.GetManufacturers(Win10).Single().Decorations);
        Assert.Empty(inf.GetModels(Win10));
        Assert.Throws<InfParseException>(() => InfFile.Load(TestData.Require("inf/virtio-win/viostor.inx")));
    }
}
