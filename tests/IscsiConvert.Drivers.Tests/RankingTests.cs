using System;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Drivers;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Drivers.Tests;

/// <summary>Hardware ID expansion and Plug and Play ranking of candidate INFs.</summary>
public sealed class RankingTests
{
    // SYNTHETIC TEST INF, written for these tests (not a real Intel INF): an e1000 (82540EM, PCI\VEN_8086&DEV_100E)
    // driver for Windows 7 with a subsystem-specific ID and a generic one.
    private const string SyntheticE1000Win7 =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nClassGUID={4d36e972-e325-11ce-bfc1-08002be10318}\r\nProvider=%Intel%\r\n" +
        "DriverVer=03/01/2013,8.4.1.0\r\nCatalogFile=e1g7.cat\r\n" +
        "[Manufacturer]\r\n%Intel% = Intel, NTamd64.6.1, NTx86.6.1\r\n" +
        "[Intel.NTamd64.6.1]\r\n%E100E% = E1000.ndi, PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086\r\n%E100E% = E1000.ndi, PCI\\VEN_8086&DEV_100E\r\n" +
        "[Intel.NTx86.6.1]\r\n%E100E% = E1000.ndi, PCI\\VEN_8086&DEV_100E\r\n" +
        "[E1000.ndi]\r\nCopyFiles = E1000.Files\r\n[E1000.ndi.Services]\r\nAddService = E1G60, 2, E1000.Service\r\n" +
        "[E1000.Service]\r\nServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%12%\\E1G6032E.sys\r\nLoadOrderGroup=NDIS\r\n" +
        "[E1000.Files]\r\nE1G6032E.sys\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n" +
        "[Strings]\r\nIntel=\"Intel\"\r\nE100E=\"Intel(R) PRO/1000 MT Network Connection\"\r\n";

    // SYNTHETIC TEST INF: a newer e1000 driver for Windows 10 1809 and later only, generic ID only.
    private const string SyntheticE1000Win10 =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nProvider=Intel\r\nDriverVer=06/15/2019,12.17.10.8\r\n" +
        "[Manufacturer]\r\nIntel = Intel, NTamd64.10.0...17763\r\n" +
        "[Intel.NTamd64.10.0...17763]\r\nE1000 = E1000.ndi, PCI\\VEN_8086&DEV_100E\r\n[E1000.ndi]\r\n";

    // SYNTHETIC TEST INF: same ID and date as the Windows 10 one, lower version.
    private const string SyntheticE1000Win10Older =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nProvider=Intel\r\nDriverVer=06/15/2019,12.17.10.7\r\n" +
        "[Manufacturer]\r\nIntel = Intel, NTamd64.10.0\r\n[Intel.NTamd64.10.0]\r\nE1000 = E1000.ndi, PCI\\VEN_8086&DEV_100E\r\n[E1000.ndi]\r\n";

    // SYNTHETIC TEST INF: a class driver that lists the e1000 only as a compatible ID.
    private const string SyntheticCompatible =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nProvider=X\r\nDriverVer=01/01/2024,1.0.0.0\r\n" +
        "[Manufacturer]\r\nX = X, NTamd64\r\n[X.NTamd64]\r\nGeneric = G, PCI\\VEN_FFFF&DEV_FFFF, PCI\\VEN_8086&DEV_100E\r\n[G]\r\n";

    private static InfFile Synthetic(string text, string name) => InfFile.Parse(Encoding.ASCII.GetBytes(text), name);

    /// <summary>virtio-win's build fills INX_SUBSYS_VENDOR_ID with Red Hat's PCI vendor ID 1AF4.</summary>
    private static InfFile Virtio(string relative) =>
        InfFile.ParseText(
            File.ReadAllText(TestData.Require(relative)).Replace("_INX_SUBSYS_VENDOR_ID", "1AF4", StringComparison.Ordinal),
            Path.GetFileName(relative),
            new InfReadOptions { Tolerant = true, TemplateArchitecture = "amd64" });

    private static InfFile[] AllCandidates() => new[]
    {
        Synthetic(SyntheticE1000Win7, "e1g7.inf"),
        Synthetic(SyntheticE1000Win10, "e1g10.inf"),
        Synthetic(SyntheticE1000Win10Older, "e1g10old.inf"),
        Synthetic(SyntheticCompatible, "generic.inf"),
        Virtio("inf/virtio-win/netkvm-base.txt"),
        Virtio("inf/virtio-win/viostor.inx"),
        Virtio("inf/virtio-win/vioscsi.inx"),
        InfSummaryTests.Stamped("inf/ms-pl/lsi_u3.inf"),
        InfSummaryTests.Stamped("inf/xen/xenvbd.inf"),
    };

    [Fact]
    public void PciIdsExpandAsPnpReportsThem()
    {
        HardwareId id = HardwareId.Parse(@"pci\ven_8086&dev_100e&subsys_001e8086&rev_02&cc_020000");
        Assert.Equal(
            new[] { @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086", @"PCI\VEN_8086&DEV_100E&CC_020000", @"PCI\VEN_8086&DEV_100E&CC_0200" },
            id.GetHardwareIds());
        Assert.Equal(
            new[] { @"PCI\VEN_8086&DEV_100E&REV_02", @"PCI\VEN_8086&DEV_100E", @"PCI\VEN_8086&CC_020000", @"PCI\VEN_8086&CC_0200", @"PCI\VEN_8086", @"PCI\CC_020000", @"PCI\CC_0200" },
            id.GetCompatibleIds());
        HardwareId plain = HardwareId.Parse(@"PCI\VEN_8086&DEV_100E");
        Assert.Equal(new[] { @"PCI\VEN_8086&DEV_100E" }, plain.GetHardwareIds());
        Assert.Equal(new[] { @"PCI\VEN_8086" }, plain.GetCompatibleIds());
        Assert.Equal(("8086", "100E", "001E8086", "02", "020000"), (id.Vendor, id.Device, id.Subsystem, id.Revision, id.ClassCode));
        Assert.Equal(@"USB\VID_0547&PID_1002", HardwareId.Parse(@"usb\vid_0547&pid_1002").GetHardwareIds().Single());
        Assert.Throws<ArgumentException>(() => HardwareId.Parse(@"PCI\VEN_80&DEV_100E"));
        Assert.Throws<ArgumentException>(() => HardwareId.Parse(@"PCI\VEN_8086&DEV_XYZW"));
    }

    [Fact]
    public void E1000OnWindows7PicksTheSubsystemSpecificWindows7Inf()
    {
        var ranked = DriverRanking.Rank(AllCandidates(), @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", TargetOs.Windows7X64);
        Assert.Equal("e1g7.inf", ranked[0].Inf.FileName);
        Assert.Equal(@"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086", ranked[0].Model.HardwareId);
        Assert.True(ranked[0].IsHardwareIdMatch);
        Assert.Equal("E1G60", ranked[0].Inf.ResolveInstall(ranked[0].Model.InstallSection, TargetOs.Windows7X64).FunctionDriver!.Name);
        // The Windows 10 INFs do not apply to Windows 7 at all; the compatible-ID class driver ranks last.
        Assert.DoesNotContain(ranked, m => m.Inf.FileName.StartsWith("e1g10", StringComparison.Ordinal));
        Assert.Equal("generic.inf", ranked[^1].Inf.FileName);
        Assert.True(ranked[^1].Rank >= 0x3000);
    }

    [Fact]
    public void E1000OnWindows10PicksTheNewestThenTheHigherVersion()
    {
        // Only VEN&DEV reported as the most specific ID: every INF matches it equally, so date then version decide.
        var ranked = DriverRanking.Rank(AllCandidates(), @"PCI\VEN_8086&DEV_100E", TargetOs.Windows10X64);
        // e1g7 (NTamd64.6.1 applies to Windows 10 too) matches the same ID but is older; the class driver's compatible ID ranks last.
        Assert.Equal(new[] { "e1g10.inf", "e1g10old.inf", "e1g7.inf", "generic.inf" }, ranked.Select(m => m.Inf.FileName));
        Assert.Equal(new DateTime(2019, 6, 15), ranked[0].DriverDate);
        Assert.Equal(new Version(12, 17, 10, 8), ranked[0].DriverVersion);
        Assert.Equal(ranked[0].Rank, ranked[2].Rank);
    }

    [Fact]
    public void HardwareIdMatchBeatsANewerCompatibleIdMatch()
    {
        var ranked = DriverRanking.Rank(AllCandidates(), @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", TargetOs.Windows10X64);
        // e1g7 matches the device's SUBSYS hardware ID; e1g10 (newer) only its VEN&DEV compatible ID.
        Assert.Equal("e1g7.inf", ranked[0].Inf.FileName);
        Assert.True(ranked[0].IsHardwareIdMatch);
        Assert.Equal("e1g10.inf", ranked[1].Inf.FileName);
        Assert.False(ranked[1].IsHardwareIdMatch);
    }

    [Theory]
    [InlineData(@"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "netkvm-base.txt", "netkvm", 0x0000)]
    [InlineData(@"PCI\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01", "netkvm-base.txt", "netkvm", 0x0000)]
    [InlineData(@"PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00", "viostor.inx", "viostor", 0x0000)]
    [InlineData(@"PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01", "viostor.inx", "viostor", 0x0000)]
    [InlineData(@"PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00", "vioscsi.inx", "vioscsi", 0x0000)]
    [InlineData(@"PCI\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01", "vioscsi.inx", "vioscsi", 0x0000)]
    [InlineData(@"PCI\VEN_1000&DEV_0020&SUBSYS_10001000&REV_01", "lsi_u3.inf", "LSI_U3", 0x2000)]
    public void VirtioAndStorageDevicesPickTheirInfOnWindows7And10(string device, string inf, string service, int rankRange)
    {
        foreach (TargetOs target in new[] { TargetOs.Windows7X64, TargetOs.Windows10X64 })
        {
            var ranked = DriverRanking.Rank(AllCandidates(), device, target);
            DriverMatch best = ranked[0];
            Assert.Equal(inf, Path.GetFileName(best.Inf.FileName));
            Assert.Equal(service, best.Inf.ResolveInstall(best.Model.InstallSection, target).FunctionDriver!.Name);
            Assert.All(ranked, m => Assert.Equal(inf, Path.GetFileName(m.Inf.FileName))); // nothing else claims the device
        }
        // virtio INFs list the device's full SUBSYS&REV hardware ID (range 0x0000); lsi_u3 lists only VEN&DEV, which a
        // device with a subsystem reports as a compatible ID (range 0x2000).
        Assert.Equal(rankRange, DriverRanking.Rank(AllCandidates(), device, TargetOs.Windows10X64)[0].Rank & 0xF000);
    }

    [Fact]
    public void UnstampedSubsystemStillMatchesThroughTheGenericId()
    {
        InfFile template = InfSummaryTests.Stamped("inf/virtio-win/netkvm-base.txt"); // SUBSYS_…_INX_SUBSYS_VENDOR_ID left in
        var ranked = DriverRanking.Rank(new[] { template }, @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", TargetOs.Windows10X64);
        DriverMatch best = Assert.Single(ranked);
        Assert.Equal(@"PCI\VEN_1AF4&DEV_1000", best.MatchedId);
        Assert.False(best.IsHardwareIdMatch); // device compatible ID = INF compatible ID
        Assert.Equal(0x3000, best.Rank & 0xF000);
    }

    [Fact]
    public void NoCandidateForAnUnknownDevice()
    {
        Assert.Empty(DriverRanking.Rank(AllCandidates(), @"PCI\VEN_10EC&DEV_8139&SUBSYS_813910EC&REV_20", TargetOs.Windows10X64));
    }
}
