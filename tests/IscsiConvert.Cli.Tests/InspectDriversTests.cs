using System;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Tests;
using IscsiConvert.Windows.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `inspect` on the Windows 10 1709 image of <see cref="MatchImages"/>: architecture and where it came from, the
/// DriverDatabase summary, BootFlags, and the network and storage drivers, against hivexget/hivexsh on the same hive.
/// </summary>
public sealed class InspectDriversTests : IClassFixture<MatchImages>
{
    private const string Win10System = "registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp";
    private readonly MatchImages _images;

    public InspectDriversTests(MatchImages images) => _images = images;

    [Fact]
    public void Inspect_reports_architecture_driver_database_and_network_and_storage_drivers()
    {
        string image = _images.Win10;
        string hive = TestData.Require(Win10System);
        var (code, stdout, stderr) = CliRunner.Run("inspect", image, "--json");
        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement w = Assert.Single(doc.RootElement.GetProperty("installations").EnumerateArray());

        string set = $"ControlSet{HivexOracle.DWord(hive, @"\Select", "Current"):D3}";
        string env = $@"\{set}\Control\Session Manager\Environment";
        Assert.Equal(HivexOracle.Get(hive, env, "PROCESSOR_ARCHITECTURE"), w.GetProperty("processorArchitecture").GetString());
        Assert.Equal("AMD64", w.GetProperty("processorArchitecture").GetString());
        Assert.Equal("amd64", w.GetProperty("architecture").GetString());
        Assert.Equal($@"SYSTEM{env}\PROCESSOR_ARCHITECTURE", w.GetProperty("architectureSource").GetString());
        Assert.Equal(HivexOracle.Get(hive, $@"\{set}\Control\ProductOptions", "ProductType"), w.GetProperty("productType").GetString());
        // SOFTWARE (written by hivexregedit in the fixture) says 10.0 build 16299; ProductType WinNT is a workstation.
        Assert.Equal("NTamd64.10.0 build 16299, product type 1", w.GetProperty("driverTarget").GetString());

        JsonElement db = Assert.Single(w.GetProperty("driverDatabases").EnumerateArray());
        Assert.Equal("SYSTEM", db.GetProperty("hive").GetString());
        Assert.Equal(HivexOracle.Subkeys(hive, @"\DriverDatabase\DriverPackages").Count, db.GetProperty("packages").GetInt32());
        Assert.True(db.GetProperty("deviceIds").GetInt32() > 1000);
        Assert.True(db.GetProperty("classes").GetProperty("SCSIAdapter").GetInt32() > 0);
        Assert.False(db.GetProperty("classes").TryGetProperty("Net", out _));

        JsonElement[] services = w.GetProperty("services").EnumerateArray().ToArray();
        foreach (string name in new[] { "Tcpip", "iScsiPrt", "AFD" })
        {
            JsonElement s = services.Single(x => string.Equals(x.GetProperty("name").GetString(), name, StringComparison.OrdinalIgnoreCase));
            Assert.Equal(HivexOracle.DWord(hive, $@"\{set}\Services\{name}", "BootFlags"), s.GetProperty("bootFlags").GetUInt32());
        }

        JsonElement[] drivers = w.GetProperty("networkAndStorageDrivers").EnumerateArray().ToArray();
        JsonElement Driver(string inf) => drivers.Single(d => d.GetProperty("inf").GetString() == inf);

        // netkvm.inf (Class = Net in its [Version]) is in \Windows\INF and in the driver store; the hive has no netkvm service.
        JsonElement netkvm = Driver("netkvm.inf");
        Assert.Equal("Net", netkvm.GetProperty("class").GetString());
        Assert.Equal(2, netkvm.GetProperty("sources").GetArrayLength());
        JsonElement netkvmService = Assert.Single(netkvm.GetProperty("services").EnumerateArray());
        Assert.Equal("netkvm", netkvmService.GetProperty("name").GetString());
        bool inHive = HivexOracle.Subkeys(hive, $@"\{set}\Services").Contains("netkvm", StringComparer.OrdinalIgnoreCase);
        Assert.Equal(inHive, netkvmService.GetProperty("inSystemHive").GetBoolean());

        Assert.Equal("SCSIAdapter", Driver("viostor.inf").GetProperty("class").GetString());
        Assert.Equal("SCSIAdapter", Driver("lsi_u3.inf").GetProperty("class").GetString());
        Assert.Equal("Net", Driver("nete1g-old.inf").GetProperty("class").GetString());

        // lsi_sas.inf is known only from the DriverDatabase; its LSI_SAS service's start type is what hivexget reads.
        JsonElement lsi = Driver("lsi_sas.inf");
        Assert.Equal("SCSIAdapter", lsi.GetProperty("class").GetString());
        Assert.StartsWith("DriverDatabase (SYSTEM): lsi_sas.inf_amd64_", Assert.Single(lsi.GetProperty("sources").EnumerateArray()).GetString(), StringComparison.Ordinal);
        JsonElement lsiService = Assert.Single(lsi.GetProperty("services").EnumerateArray());
        Assert.Equal("LSI_SAS", lsiService.GetProperty("name").GetString());
        Assert.Equal(HivexOracle.DWord(hive, $@"\{set}\Services\LSI_SAS", "Start"), lsiService.GetProperty("start").GetUInt32());
        // Not of those classes: never listed.
        Assert.DoesNotContain(drivers, d => d.GetProperty("inf").GetString() == "machine.inf");

        var (textCode, text, _) = CliRunner.Run("inspect", image);
        Assert.Equal(0, textCode);
        Assert.Contains("Architecture:     amd64 (from SYSTEM", text, StringComparison.Ordinal);
        Assert.Contains("    SYSTEM: 222 packages", text, StringComparison.Ordinal); // MANIFEST.md: 222 DriverPackages
        Assert.Contains("Services with BootFlags", text, StringComparison.Ordinal);
        Assert.Contains("Network and storage drivers", text, StringComparison.Ordinal);
        Assert.Contains(@"\Windows\INF\netkvm.inf", text, StringComparison.Ordinal);
    }
}
