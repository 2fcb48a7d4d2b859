using System;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Tests;
using IscsiConvert.Windows.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>`inspect` on an ntfs-3g-built volume holding the real Windows 7 SYSTEM hive, checked against hivexget/hivexsh.</summary>
public class InspectCommandTests
{
    [Fact]
    public void Inspect_reports_what_hivex_reads_from_the_same_system_hive()
    {
        string hive = TestData.Require("registry/win7-system/SYSTEM");
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.BuildWindows(tmp, tmp.File("win7.raw"), hive);

        var (code, stdout, stderr) = CliRunner.Run("inspect", image, "--json");
        Assert.True(code == 0, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement w = Assert.Single(doc.RootElement.GetProperty("installations").EnumerateArray());
        Assert.False(w.TryGetProperty("partition", out _)); // whole disk: null, omitted

        uint current = HivexOracle.DWord(hive, @"\Select", "Current")!.Value;
        string set = $"ControlSet{current:D3}";
        Assert.Equal(set, w.GetProperty("controlSet").GetString());
        Assert.Equal(HivexOracle.Get(hive, $@"\{set}\Control\Session Manager\Environment", "PROCESSOR_ARCHITECTURE"), w.GetProperty("processorArchitecture").GetString());

        JsonElement[] services = w.GetProperty("services").EnumerateArray().ToArray();
        Assert.Equal(HivexOracle.Subkeys(hive, $@"\{set}\Services").Count, services.Length);
        foreach (string name in new[] { "Tcpip", "i8042prt", "E1G60" })
        {
            JsonElement s = services.Single(x => string.Equals(x.GetProperty("name").GetString(), name, StringComparison.OrdinalIgnoreCase));
            string key = $@"{set}\Services\{name}";
            Assert.Equal(HivexOracle.DWord(hive, @"\" + key, "Start"), s.GetProperty("start").GetUInt32());
            Assert.Equal(HivexOracle.DWord(hive, @"\" + key, "Type"), s.GetProperty("type").GetUInt32());
            Assert.Equal(HivexOracle.Get(hive, @"\" + key, "Group"), s.GetProperty("group").GetString());
            Assert.Equal(HivexOracle.Get(hive, @"\" + key, "ImagePath"), s.GetProperty("imagePath").GetString());
        }

        JsonElement[] cddb = w.GetProperty("criticalDevices").EnumerateArray().ToArray();
        Assert.Equal(2548, cddb.Length); // MANIFEST.md
        string id = HivexOracle.Subkeys(hive, $@"\{set}\Control\CriticalDeviceDatabase")[100];
        JsonElement entry = cddb.Single(x => x.GetProperty("id").GetString() == id);
        Assert.Equal(HivexOracle.Get(hive, $@"\{set}\Control\CriticalDeviceDatabase\{id}", "Service"), entry.GetProperty("service").GetString());
        Assert.False(w.GetProperty("hasDriverDatabase").GetBoolean()); // MANIFEST.md: no DriverDatabase

        var (textCode, text, _) = CliRunner.Run("inspect", image);
        Assert.Equal(0, textCode);
        Assert.Contains($"Control set:      {set}", text, StringComparison.Ordinal);
        Assert.Contains("Critical devices: 2548", text, StringComparison.Ordinal);
        Assert.Contains("DriverDatabase:   none", text, StringComparison.Ordinal);
        Assert.Contains("INF files:        0 in \\Windows\\INF", text, StringComparison.Ordinal); // the volume has no INF folder
        Assert.Empty(w.GetProperty("infFiles").EnumerateArray());
    }

    /// <summary>
    /// inspect says whether each Windows volume is clean, and whether prepare would run on it; a hibernated volume
    /// (an active hibernation image's "HIBR" signature in \hiberfil.sys) is reported as prepare refuses it (exit 3).
    /// </summary>
    [Fact]
    public void Inspect_shows_the_volume_state_and_whether_prepare_would_run()
    {
        string hive = TestData.Require("registry/win7-system/SYSTEM");
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.BuildWindows(tmp, tmp.File("win7.raw"), hive);

        var (code, stdout, stderr) = CliRunner.Run("inspect", image);
        Assert.True(code == 0, stderr);
        Assert.Contains("Volume state:     clean: prepare would write to it", stdout, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("fs", "check", image).ExitCode); // the same verdict as fs check

        string hiberfil = tmp.File("hiberfil.sys");
        System.IO.File.WriteAllBytes(hiberfil, "HIBR"u8.ToArray().Concat(new byte[4092]).ToArray());
        Assert.Equal(0, CliRunner.Run("fs", "put", image, hiberfil, @"\hiberfil.sys").ExitCode);

        (code, stdout, stderr) = CliRunner.Run("inspect", image, "--json");
        Assert.True(code == 0, stderr); // inspect only reads: it reports, it does not refuse
        JsonElement w = Assert.Single(JsonDocument.Parse(stdout).RootElement.GetProperty("installations").EnumerateArray());
        Assert.Equal("hibernated", w.GetProperty("volumeState").GetString());
        Assert.False(w.GetProperty("prepareWouldRun").GetBoolean());
        Assert.Contains("hibernat", w.GetProperty("volumeStateReason").GetString(), StringComparison.Ordinal);
        Assert.Contains("Volume state:     hibernated: prepare would refuse it (exit 3", CliRunner.Run("inspect", image).StdOut, StringComparison.Ordinal);
        // As it says: prepare refuses (3), fs check gives the same code.
        Assert.Equal(CliApp.Refused, CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_8086&DEV_10D3").ExitCode);
        Assert.Equal(CliApp.Refused, CliRunner.Run("fs", "check", image).ExitCode);
    }

    /// <summary>
    /// A volume whose NTFS dirty flag is set (chkdsk pending, as Windows leaves it after an unclean stop; ntfs-3g
    /// refuses to open it) is reported dirty, with prepare refusing it, as prepare and fs check then do (exit 3).
    /// </summary>
    [Fact]
    public void Inspect_shows_a_dirty_volume_and_that_prepare_would_refuse_it()
    {
        string hive = TestData.Require("registry/win7-system/SYSTEM");
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.BuildWindows(tmp, tmp.File("win7-dirty.raw"), hive);
        foreach (long at in NtfsPatch.VolumeFlagsOffsets(image))
        {
            NtfsPatch.SetBits(image, at, 0x01);
        }
        // ntfs-3g's verdict on the same flag: it will not open the volume without 'force'.
        ToolResult ntfsinfo = Oracle.Run("ntfsinfo", "-m", image);
        Assert.Contains("Volume is scheduled for check", ntfsinfo.StdErr, StringComparison.Ordinal);

        var (code, stdout, stderr) = CliRunner.Run("inspect", image, "--json");
        Assert.True(code == 0, stderr);
        JsonElement w = Assert.Single(JsonDocument.Parse(stdout).RootElement.GetProperty("installations").EnumerateArray());
        Assert.Equal("dirty", w.GetProperty("volumeState").GetString());
        Assert.False(w.GetProperty("prepareWouldRun").GetBoolean());
        Assert.Contains("Volume state:     dirty: prepare would refuse it (exit 3", CliRunner.Run("inspect", image).StdOut, StringComparison.Ordinal);
        Assert.Equal(CliApp.Refused, CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_8086&DEV_10D3").ExitCode);
        Assert.Equal(CliApp.Refused, CliRunner.Run("fs", "check", image).ExitCode);
    }

    [Fact]
    public void Inspect_of_a_volume_without_windows_says_so()
    {
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.Build(tmp, tmp.File("empty.raw"), _ => { });
        var (code, stdout, _) = CliRunner.Run("inspect", image, "--json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        Assert.Empty(doc.RootElement.GetProperty("installations").EnumerateArray());
        var (textCode, text, _) = CliRunner.Run("inspect", image);
        Assert.Equal(0, textCode);
        Assert.Contains("No Windows installation found", text, StringComparison.Ordinal);
    }
}
