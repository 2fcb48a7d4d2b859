using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `iscsi-convert inf show`: the JSON summary of real INFs against facts typed by hand from their text
/// (hardware IDs, service names and binaries, start types, destination paths, chosen models sections).
/// </summary>
public sealed class InfCommandsTests
{
    private static JsonElement ShowJson(string relative, string os)
    {
        var (code, output, err) = CliRunner.Run("inf", "show", TestData.Require(relative), "--os", os, "--json");
        Assert.True(code == 0, err);
        return JsonDocument.Parse(output).RootElement;
    }

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Theory]
    [InlineData("win7-x64", "VioStor.NTamd64")]
    [InlineData("win10-x64", "VioStor.NTamd64")]
    [InlineData("win10-x86", "VioStor.NTx86")]
    public void ViostorSummary(string os, string modelsSection)
    {
        JsonElement root = ShowJson("inf/virtio-win/viostor.inx", os);
        Assert.Equal("SCSIAdapter", root.GetProperty("class").GetString());
        JsonElement m = root.GetProperty("manufacturers").EnumerateArray().Single();
        Assert.Equal(modelsSection, m.GetProperty("modelsSection").GetString());
        Assert.Equal(
            new[] { @"PCI\VEN_1AF4&DEV_1001&SUBSYS_0002_INX_SUBSYS_VENDOR_ID&REV_00", @"PCI\VEN_1AF4&DEV_1042&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01" },
            m.GetProperty("models").EnumerateArray().Select(x => x.GetProperty("hardwareId").GetString()));
        JsonElement install = root.GetProperty("installs").EnumerateArray().Single();
        Assert.Equal("scsi_inst", install.GetProperty("chosenSection").GetString());
        JsonElement svc = install.GetProperty("services").EnumerateArray().Single();
        Assert.Equal("viostor", svc.GetProperty("name").GetString());
        Assert.Equal(0, svc.GetProperty("startType").GetInt32());
        Assert.Equal(@"%INX_PLATFORM_DRIVERS_DIR%\viostor.sys", svc.GetProperty("binary").GetString());
        Assert.True(svc.GetProperty("functionDriver").GetBoolean());
        Assert.Equal("viostor.sys", install.GetProperty("files").EnumerateArray().Single().GetProperty("name").GetString());
    }

    [Fact]
    public void RealtekWindows7HasNoModelsWindows10Has()
    {
        JsonElement win7 = ShowJson("inf/ms-pl/netrtwlans.inf", "win7-x64");
        JsonElement m7 = win7.GetProperty("manufacturers").EnumerateArray().Single();
        Assert.Equal(JsonValueKind.Null, m7.TryGetProperty("modelsSection", out JsonElement s7) ? s7.ValueKind : JsonValueKind.Null);
        Assert.Empty(m7.GetProperty("models").EnumerateArray());
        Assert.Empty(win7.GetProperty("installs").EnumerateArray());

        JsonElement win10 = ShowJson("inf/ms-pl/netrtwlans.inf", "win10-x64");
        JsonElement m10 = win10.GetProperty("manufacturers").EnumerateArray().Single();
        Assert.Equal("Realtek.NTamd64.10.0...16299", m10.GetProperty("modelsSection").GetString());
        Assert.Equal(18, m10.GetProperty("models").GetArrayLength());
        JsonElement first = win10.GetProperty("installs").EnumerateArray().First();
        Assert.Equal("RTL8723bs.ndi.NT", first.GetProperty("chosenSection").GetString());
        JsonElement svc = first.GetProperty("services").EnumerateArray().Single();
        Assert.Equal(("RtlWlans", 3, @"\Windows\System32\DriverStore\FileRepository\<package>\rtwlans.sys"),
            (svc.GetProperty("name").GetString(), svc.GetProperty("startType").GetInt32(), svc.GetProperty("binaryPath").GetString()));
        Assert.Equal(new[] { "netvwifibus.inf" }, Strings(first.GetProperty("includes")));
        Assert.Contains(Strings(win10.GetProperty("warnings")), w => w.Contains("netvwifibus.inf"));

        // In text, warnings go to standard error (the report alone on standard output), and --quiet drops them.
        string inf = TestData.Require("inf/ms-pl/netrtwlans.inf");
        var (code, stdout, stderr) = CliRunner.Run("inf", "show", inf, "--os", "win10-x64");
        Assert.Equal(0, code);
        Assert.Contains("warning: ", stderr, StringComparison.Ordinal);
        Assert.Contains("netvwifibus.inf", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", CliRunner.Run("inf", "show", inf, "--os", "win10-x64", "--quiet").StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void LsiAndXenSummaries()
    {
        JsonElement lsi = ShowJson("inf/ms-pl/lsi_u3.inf", "win10-x64");
        Assert.Equal(("2008-06-12", "5.9.10.4", "lsi_u3.cat"), (lsi.GetProperty("driverDate").GetString(), lsi.GetProperty("driverVersion").GetString(), lsi.GetProperty("catalogFile").GetString()));
        JsonElement lsiInstall = lsi.GetProperty("installs").EnumerateArray().Single();
        JsonElement lsiSvc = lsiInstall.GetProperty("services").EnumerateArray().Single();
        Assert.Equal(("LSI_U3", 0, @"\Windows\System32\drivers\lsi_u3.sys", "SCSI Miniport"),
            (lsiSvc.GetProperty("name").GetString(), lsiSvc.GetProperty("startType").GetInt32(), lsiSvc.GetProperty("binaryPath").GetString(), lsiSvc.GetProperty("loadOrderGroup").GetString()));
        Assert.Equal(@"\Windows\System32\drivers\lsi_u3.sys", lsiInstall.GetProperty("files").EnumerateArray().Single().GetProperty("destination").GetString());

        JsonElement xen = ShowJson("inf/xen/xenvbd.inf", "win7-x64");
        JsonElement xenInstall = xen.GetProperty("installs").EnumerateArray().Single();
        Assert.Equal(
            new[] { @"\Windows\System32\drivers\xenvbd.sys", @"\Windows\System32\drivers\xencrsh.sys", @"\Windows\System32\xenvbd_coinst_@MAJOR_VERSION@_@MINOR_VERSION@_@MICRO_VERSION@_@BUILD_NUMBER@.dll" },
            xenInstall.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("destination").GetString()));
        Assert.Equal("xenvbd", xenInstall.GetProperty("services").EnumerateArray().Single().GetProperty("name").GetString());
    }

    [Fact]
    public void TextOutputNamesTheEssentials()
    {
        var (code, output, err) = CliRunner.Run("inf", "show", TestData.Require("inf/ms-pl/netvadapter.inf"), "--os", "win10-x64");
        Assert.True(code == 0, err);
        Assert.Contains("(UTF-16LE)", output);
        Assert.Contains("models section [Msft.NTamd64]", output);
        Assert.Contains(@"root\netvadapter -> [netvadapter.ndi]", output);
        Assert.Contains(@"service netvadapter (function driver): start demand (3)", output);
        Assert.Contains(@"file netvadapter.sys -> \Windows\System32\drivers\netvadapter.sys", output);
    }

    [Fact]
    public void BadInfAndBadTargetAreReported()
    {
        using var tmp = new TempDir();
        string bad = tmp.File("bad.inf");
        File.WriteAllText(bad, "[Version]\nSignature=\"$Windows NT$\"\n[x]\nk = \"open\n");
        var (code, _, err) = CliRunner.Run("inf", "show", bad);
        Assert.Equal(1, code);
        Assert.Contains("line 4", err);
        Assert.Contains("bad.inf", err);

        var (code2, _, err2) = CliRunner.Run("inf", "show", TestData.Require("inf/xen/xenvbd.inf"), "--os", "win95");
        Assert.Equal(CliApp.UsageError, code2); // a bad option value is a usage error (docs/cli.md)
        Assert.Contains("--os: unknown target", err2);
    }
}
