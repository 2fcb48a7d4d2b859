using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `match` on Windows 7 x86 and Windows 10 1709 x64 images built from the real hives in testdata. Expected winners are
/// read from the INF text and Microsoft's ranking rules (see <see cref="MatchImages"/>), never from our output.
/// </summary>
public sealed class MatchCommandTests : IClassFixture<MatchImages>
{
    private readonly MatchImages _images;

    public MatchCommandTests(MatchImages images) => _images = images;

    private string Image(string which) => which == "win7" ? _images.Win7 : _images.Win10;

    private static JsonElement Match(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(new[] { "match" }.Concat(args).Append("--json").ToArray());
        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        return doc.RootElement.Clone();
    }

    private static JsonElement[] Candidates(JsonElement report) => report.GetProperty("candidates").EnumerateArray().ToArray();

    private static string Inf(JsonElement candidate) => Path.GetFileName(candidate.GetProperty("inf").GetString()!.Replace('\\', '/'));

    [Theory]
    [InlineData("win7", "NTx86.6.1 build 7601")]
    [InlineData("win10", "NTamd64.10.0 build 16299")]
    public void E1000_generic_id_hardware_id_match_beats_compatible_and_newer_date_wins_among_equals(string which, string target)
    {
        JsonElement r = Match(Image(which), "--hwid", @"PCI\VEN_8086&DEV_100E");
        Assert.StartsWith(target, r.GetProperty("target").GetString(), StringComparison.Ordinal);
        JsonElement[] c = Candidates(r);
        // Same hardware-ID match in the 2015 and 2010 INFs: the newer date first. The 2024 INF lists the ID only as a
        // compatible ID, so it comes last despite being the newest.
        Assert.Equal(new[] { "nete1g-new.inf", "nete1g-old.inf", "netgeneric.inf" }, c.Select(Inf));
        Assert.True(c[0].GetProperty("hardwareIdMatch").GetBoolean());
        Assert.True(c[1].GetProperty("hardwareIdMatch").GetBoolean());
        Assert.False(c[2].GetProperty("hardwareIdMatch").GetBoolean());
        Assert.Equal(c[0].GetProperty("rank").GetString(), c[1].GetProperty("rank").GetString());
        Assert.Equal("2015-06-15", c[0].GetProperty("driverDate").GetString());
        Assert.Equal("E1G60", c[0].GetProperty("service").GetString());
        Assert.Equal("E1000", c[0].GetProperty("installSection").GetString());
        Assert.Equal("inf-folder", c[0].GetProperty("origin").GetString());
        Assert.Equal(@"\Windows\INF\nete1g-new.inf", c[0].GetProperty("inf").GetString());
        // The unreadable INF is reported, and did not stop the match.
        Assert.Contains(r.GetProperty("unreadable").EnumerateArray(), u => u.GetString()!.Contains("broken.inf", StringComparison.Ordinal));
    }

    [Fact]
    public void E1000_with_subsystem_on_windows7_the_more_specific_id_wins_and_the_1709_only_inf_is_not_offered()
    {
        JsonElement r = Match(_images.Win7, "--hwid", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02");
        JsonElement[] c = Candidates(r);
        // The 2010 INF's SUBSYS line matches the device's second hardware ID; the 2015 INF's generic ID is only a
        // compatible ID of this device, so the older INF wins.
        Assert.Equal("nete1g-old.inf", Inf(c[0]));
        Assert.Equal(@"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086", c[0].GetProperty("infHardwareId").GetString());
        Assert.True(c[0].GetProperty("hardwareIdMatch").GetBoolean());
        Assert.Equal("Intel.NTx86", c[0].GetProperty("modelsSection").GetString());
        Assert.Equal(new[] { "nete1g-old.inf", "nete1g-new.inf", "nete1g-old.inf", "netgeneric.inf" }, c.Select(Inf));
        Assert.Equal(@"PCI\VEN_8086&DEV_100E", c[1].GetProperty("matchedId").GetString());
        Assert.False(c[1].GetProperty("hardwareIdMatch").GetBoolean());
        Assert.DoesNotContain(c, x => Inf(x) == "nete1g-rs3.inf");
        string excluded = Assert.Single(r.GetProperty("excluded").EnumerateArray(), e => e.GetString()!.Contains("nete1g-rs3.inf", StringComparison.Ordinal)).GetString()!;
        Assert.Contains("[Intel.NTx86.10.0...16299]", excluded, StringComparison.Ordinal);
        Assert.Contains("no models section of it applies to NTx86 6.1 build 7601", excluded, StringComparison.Ordinal);
    }

    [Fact]
    public void E1000_with_subsystem_on_windows10_1709_the_1709_inf_is_offered_and_its_newer_date_wins()
    {
        JsonElement r = Match(_images.Win10, "--hwid", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02");
        JsonElement[] c = Candidates(r);
        Assert.Equal(new[] { "nete1g-rs3.inf", "nete1g-old.inf", "nete1g-new.inf", "nete1g-old.inf", "netgeneric.inf" }, c.Select(Inf));
        Assert.Equal("Intel.NTamd64.10.0...16299", c[0].GetProperty("modelsSection").GetString());
        Assert.Equal(c[0].GetProperty("rank").GetString(), c[1].GetProperty("rank").GetString());
        Assert.Equal("2017-09-01", c[0].GetProperty("driverDate").GetString());
        Assert.DoesNotContain(r.GetProperty("excluded").EnumerateArray(), e => e.GetString()!.Contains("nete1g-rs3.inf", StringComparison.Ordinal));
        // The same build's target without --os: a Windows 7 target named on the command line excludes it again.
        JsonElement win7 = Match(_images.Win10, "--hwid", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", "--os", "win7-x64");
        Assert.Equal("nete1g-old.inf", Inf(Candidates(win7)[0]));
        Assert.Equal("Intel.NTamd64", Candidates(win7)[0].GetProperty("modelsSection").GetString());
    }

    // virtio-net: netkvm-base.txt's models lines (read by hand) are
    //   kvmnet6.ndi, PCI\VEN_1AF4&DEV_1000&SUBSYS_0001<vendor>&REV_00, PCI\VEN_1AF4&DEV_1000
    //   kvmnet6.ndi, PCI\VEN_1AF4&DEV_1041&SUBSYS_1100<vendor>&REV_01, PCI\VEN_1AF4&DEV_1041
    // with AddService = netkvm, 2 (SPSVCINST_ASSOCSERVICE) in [kvmnet6.ndi.Services].
    [Theory]
    [InlineData("win7", @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "NetKVM.NTx86")]
    [InlineData("win7", @"PCI\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01", "NetKVM.NTx86")]
    [InlineData("win10", @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "NetKVM.NTamd64")]
    [InlineData("win10", @"PCI\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01", "NetKVM.NTamd64")]
    public void Virtio_net_is_served_by_netkvm(string which, string hwid, string section)
    {
        JsonElement r = Match(Image(which), "--hwid", hwid);
        JsonElement best = Candidates(r)[0];
        Assert.Equal("netkvm.inf", Inf(best));
        Assert.Equal(hwid, best.GetProperty("matchedId").GetString());
        Assert.Equal(hwid, best.GetProperty("infHardwareId").GetString());
        Assert.Equal("0x0000", best.GetProperty("rank").GetString()); // the device's first hardware ID is the INF's hardware ID
        Assert.Equal(section, best.GetProperty("modelsSection").GetString());
        Assert.Equal("kvmnet6.ndi", best.GetProperty("installSection").GetString());
        Assert.Equal("netkvm", best.GetProperty("service").GetString());
        Assert.Equal("Net", best.GetProperty("class").GetString());
    }

    [Fact]
    public void Virtio_net_on_windows10_is_offered_from_the_inf_folder_and_the_driver_store()
    {
        JsonElement r = Match(_images.Win10, "--hwid", @"PCI\VEN_1AF4&DEV_1041");
        JsonElement[] c = Candidates(r);
        // Only vendor and device given: that is the device's hardware ID, and in the INF it is the compatible ID after
        // the SUBSYS hardware ID: a hardware-ID-to-compatible-ID match (Microsoft's 0x1000-0x1FFF range).
        Assert.Equal(2, c.Length);
        Assert.All(c, x => Assert.Equal("netkvm.inf", Inf(x)));
        Assert.Equal(new[] { "inf-folder", "driver-store" }, c.Select(x => x.GetProperty("origin").GetString()));
        Assert.All(c, x => Assert.False(x.GetProperty("hardwareIdMatch").GetBoolean()));
        Assert.All(c, x => Assert.StartsWith("0x1", x.GetProperty("rank").GetString(), StringComparison.Ordinal));
        Assert.StartsWith(@"\Windows\System32\DriverStore\FileRepository\netkvm.inf_amd64_0123456789abcdef\", c[1].GetProperty("inf").GetString(), StringComparison.Ordinal);
    }

    // Storage: viostor.inx (PCI\VEN_1AF4&DEV_1001 / 1042, AddService = viostor, 0x2), vioscsi.inx (DEV_1004 / 1048,
    // AddService = vioscsi, 0x2), lsi_u3.inf (PCI\VEN_1000&DEV_0020, install LSI_U3_Inst, AddService = LSI_U3,
    // %SPSVCINST_ASSOCSERVICE%), all read by hand from the files.
    [Theory]
    [InlineData("win7", @"PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00", "viostor.inf", "scsi_inst", "viostor")]
    [InlineData("win10", @"PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01", "viostor.inf", "scsi_inst", "viostor")]
    [InlineData("win7", @"PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00", "vioscsi.inf", "scsi_inst", "vioscsi")]
    [InlineData("win10", @"PCI\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01", "vioscsi.inf", "scsi_inst", "vioscsi")]
    [InlineData("win7", @"PCI\VEN_1000&DEV_0020", "lsi_u3.inf", "LSI_U3_Inst", "LSI_U3")]
    [InlineData("win10", @"PCI\VEN_1000&DEV_0020&SUBSYS_10001000&REV_01", "lsi_u3.inf", "LSI_U3_Inst", "LSI_U3")]
    public void Storage_controllers_are_served_by_their_inf(string which, string hwid, string inf, string install, string service)
    {
        JsonElement r = Match(Image(which), "--hwid", hwid);
        JsonElement[] c = Candidates(r);
        JsonElement best = c[0];
        Assert.Equal(inf, Inf(best));
        Assert.Equal(install, best.GetProperty("installSection").GetString());
        Assert.Equal(service, best.GetProperty("service").GetString());
        Assert.Equal("SCSIAdapter", best.GetProperty("class").GetString());
        Assert.All(c, x => Assert.Equal(inf, Inf(x)));
    }

    [Fact]
    public void Supplied_packages_join_the_ranking()
    {
        // A folder package: a 2020 e1000 fixture (same shape as above) with the SUBSYS ID for every NT: newer than
        // the image's 1709 INF with an equally specific ID, so it wins.
        string folder = _images.Tmp.File("e1000-oem");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "e1g-oem.inf"),
            MatchImages.E1000Old.Replace("03/01/2010,9.13.41.0", "02/02/2020,12.18.9.1", StringComparison.Ordinal), new UTF8Encoding(false));
        // A file package: the viostor INX template itself, unstamped: $ARCH$ is stamped for the target, but its
        // SUBSYS IDs still hold the _INX_SUBSYS_VENDOR_ID placeholder, so it matches only through its compatible ID.
        string viostor = TestData.Require("inf/virtio-win/viostor.inx");

        JsonElement r = Match(_images.Win10, "--hwid", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", "--driver", folder, "--driver", viostor);
        JsonElement best = Candidates(r)[0];
        Assert.Equal("supplied", best.GetProperty("origin").GetString());
        Assert.Equal(Path.Combine(folder, "e1g-oem.inf"), best.GetProperty("inf").GetString());
        Assert.Equal("nete1g-rs3.inf", Inf(Candidates(r)[1]));

        JsonElement s = Match(_images.Win10, "--hwid", @"PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00", "--driver", viostor);
        JsonElement[] c = Candidates(s);
        Assert.Equal(new[] { "inf-folder", "supplied" }, c.Select(x => x.GetProperty("origin").GetString()));
        Assert.True(c[0].GetProperty("hardwareIdMatch").GetBoolean());
        Assert.False(c[1].GetProperty("hardwareIdMatch").GetBoolean());
        Assert.Equal(@"PCI\VEN_1AF4&DEV_1001", c[1].GetProperty("matchedId").GetString());
    }

    [Fact]
    public void Text_output_help_and_errors()
    {
        var (code, text, stderr) = CliRunner.Run("match", _images.Win7, "--hwid", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"1. \Windows\INF\nete1g-old.inf (inf-folder)", text, StringComparison.Ordinal);
        Assert.Contains("service E1G60", text, StringComparison.Ordinal);
        Assert.Contains("Not offered", text, StringComparison.Ordinal);
        Assert.Contains("INFs that could not be read", text, StringComparison.Ordinal);

        var (none, noneText, _) = CliRunner.Run("match", _images.Win7, "--hwid", @"PCI\VEN_ABCD&DEV_0001");
        Assert.Equal(0, none);
        Assert.Contains("No INF serves this device", noneText, StringComparison.Ordinal);

        var (helpCode, help, _) = CliRunner.Run("match", "--help");
        Assert.Equal(0, helpCode);
        foreach (string option in new[] { "--hwid", "--driver", "--partition", "--os", "--json" })
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }

        var (missing, _, missingErr) = CliRunner.Run("match", _images.Win7); // --hwid is required
        Assert.NotEqual(0, missing);
        Assert.Contains("--hwid", missingErr, StringComparison.Ordinal);

        var (noVersion, _, noVersionErr) = CliRunner.Run("match", _images.Win10WithoutSoftware, "--hwid", @"PCI\VEN_8086&DEV_100E");
        Assert.Equal(CliApp.UsageError, noVersion);
        Assert.Contains("--os", noVersionErr, StringComparison.Ordinal);
        JsonElement withOs = Match(_images.Win10WithoutSoftware, "--hwid", @"PCI\VEN_8086&DEV_100E", "--os", "win10-x64@16299");
        Assert.Equal("nete1g-new.inf", Inf(Candidates(withOs)[0]));
    }
}
