using System;
using System.IO;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `reg export|set|delete|import IMAGE --hive NAME` on the Windows 7 image of <see cref="MatchImages"/> (the real
/// Windows 7 SP1 SYSTEM hive on an ntfs-3g volume): what is read equals what is read from the hive ntfscat extracts;
/// what is written is read back by hivexget from the hive ntfscat extracts; a dry run and a no-op leave the image's
/// bytes as they were.
/// </summary>
public sealed class RegImageCommandsTests : IClassFixture<MatchImages>
{
    private const string TcpipKey = @"ControlSet001\Services\Tcpip\Parameters";
    private readonly MatchImages _images;

    public RegImageCommandsTests(MatchImages images)
    {
        _images = images;
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private string CopyImage(string name)
    {
        string image = _images.Tmp.File(name);
        File.Copy(_images.Win7, image);
        return image;
    }

    private string ExtractHive(string rawImage, string hive, string name)
    {
        string target = _images.Tmp.File(name);
        Oracle.Require("ntfscat");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{rawImage}' /Windows/System32/config/{hive} > '{target}'");
        return target;
    }

    private static string? HivexGet(string hive, string key, string value)
    {
        Oracle.Require("hivexget");
        ToolResult r = Oracle.Run("hivexget", hive, key, value);
        return r.ExitCode == 0 ? r.StdOut.Trim() : null;
    }

    [Fact]
    public void Export_from_the_image_equals_export_of_the_hive_ntfscat_extracts()
    {
        string image = _images.Win7;
        string hive = ExtractHive(image, "SYSTEM", "export-SYSTEM");

        var (code, fromImage, err) = CliRunner.Run("reg", "export", image, "--hive", "SYSTEM", TcpipKey);
        Assert.True(code == 0, err);
        var (fileCode, fromFile, fileErr) = CliRunner.Run("reg", "export", hive, TcpipKey);
        Assert.True(fileCode == 0, fileErr);
        Assert.Contains(@"[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\Tcpip\Parameters]", fromImage, StringComparison.OrdinalIgnoreCase); // Windows 7 spells it "services"
        Assert.Equal(fromFile, fromImage);

        // The whole hive, to a file with -o (regedit's UTF-16 with a byte-order mark).
        string whole = _images.Tmp.File("export-whole.reg");
        (code, _, err) = CliRunner.Run("reg", "export", image, "--hive", "system", "-o", whole);
        Assert.True(code == 0, err);
        var (wholeCode, wholeFromFile, _) = CliRunner.Run("reg", "export", hive);
        Assert.Equal(0, wholeCode);
        Assert.Equal(wholeFromFile, File.ReadAllText(whole, System.Text.Encoding.Unicode));
    }

    [Fact]
    public void Set_on_the_image_is_read_back_by_hivexget_and_a_repeat_writes_nothing()
    {
        string image = CopyImage("set-win7.raw");
        var (code, stdout, err) = CliRunner.Run("reg", "set", image, "--hive", "SYSTEM", @"CurrentControlSet\Services\Tcpip\Parameters", "RegImageTest", "-t", "REG_DWORD", "-d", "0x2a");
        Assert.True(code == 0, err);
        Assert.Contains(@"set     SYSTEM\ControlSet001\Services\Tcpip\Parameters\RegImageTest = REG_DWORD 42", stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("42", HivexGet(ExtractHive(image, "SYSTEM", "set-SYSTEM"), TcpipKey, "RegImageTest"));

        string after = Hash(image);
        (code, stdout, err) = CliRunner.Run("reg", "set", image, "--hive", "SYSTEM", @"CurrentControlSet\Services\Tcpip\Parameters", "RegImageTest", "-t", "REG_DWORD", "-d", "42");
        Assert.True(code == 0, err);
        Assert.Contains("nothing to change", stdout, StringComparison.Ordinal);
        Assert.Equal(after, Hash(image));

        (code, stdout, err) = CliRunner.Run("reg", "delete", image, "--hive", "SYSTEM", TcpipKey, "RegImageTest");
        Assert.True(code == 0, err);
        Assert.Null(HivexGet(ExtractHive(image, "SYSTEM", "delete-SYSTEM"), TcpipKey, "RegImageTest"));

        // Deleting what is not there is a data error and writes nothing.
        after = Hash(image);
        (code, _, err) = CliRunner.Run("reg", "delete", image, "--hive", "SYSTEM", TcpipKey, "RegImageTest");
        Assert.Equal(1, code);
        Assert.Contains("has no value 'RegImageTest'", err, StringComparison.Ordinal);
        Assert.Equal(after, Hash(image));
    }

    [Fact]
    public void Import_on_the_image_maps_CurrentControlSet_and_is_read_back_by_hivexget()
    {
        string image = CopyImage("import-win7.raw");
        string reg = _images.Tmp.File("import.reg");
        File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters]\r\n\"RegImport\"=\"from a file\"\r\n",
            System.Text.Encoding.Unicode);
        var (code, _, err) = CliRunner.Run("reg", "import", image, reg, "--hive", "SYSTEM");
        Assert.True(code == 0, err);
        Assert.Equal("from a file", HivexGet(ExtractHive(image, "SYSTEM", "import-SYSTEM"), TcpipKey, "RegImport"));

        // A file naming another hive than --hive is a usage error, and nothing is written.
        string after = Hash(image);
        (code, _, _) = CliRunner.Run("reg", "import", image, reg, "--hive", "SOFTWARE");
        Assert.Equal(2, code);
        Assert.Equal(after, Hash(image));
    }

    [Fact]
    public void Dry_run_prints_the_plan_and_leaves_the_image_unchanged()
    {
        string image = CopyImage("dry-win7.raw");
        string before = Hash(image);
        var (code, stdout, err) = CliRunner.Run("reg", "set", image, "--hive", "SYSTEM", TcpipKey, "DryRun", "-t", "REG_SZ", "-d", "x", "--dry-run");
        Assert.True(code == 0, err);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\Tcpip\Parameters\DryRun = REG_SZ", stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("dry run: nothing was written.", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Hash(image));
    }

    [Fact]
    public void A_hibernated_windows_is_refused_with_exit_code_3_and_the_image_unchanged_but_export_still_reads_it()
    {
        string image = CopyImage("hibernated-win7.raw");
        string hiberfil = _images.Tmp.File("reg-hiberfil.sys");
        var signature = new byte[4096];
        System.Text.Encoding.ASCII.GetBytes("HIBR").CopyTo(signature, 0); // an active hibernation image's signature
        File.WriteAllBytes(hiberfil, signature);
        var (code, _, err) = CliRunner.Run("fs", "put", image, hiberfil, @"\hiberfil.sys");
        Assert.True(code == 0, err);
        string before = Hash(image);

        (code, _, err) = CliRunner.Run("reg", "set", image, "--hive", "SYSTEM", TcpipKey, "Refused", "-t", "REG_SZ", "-d", "x");
        Assert.Equal(3, code);
        Assert.Contains("hibernat", err, StringComparison.Ordinal);
        Assert.Equal(3, CliRunner.Run("reg", "delete", image, "--hive", "SYSTEM", TcpipKey, "Domain").ExitCode);
        Assert.Equal(before, Hash(image));

        (code, _, err) = CliRunner.Run("reg", "export", image, "--hive", "SYSTEM", TcpipKey);
        Assert.True(code == 0, err);
    }

    [Fact]
    public void Dry_run_of_set_and_delete_on_a_hive_file_writes_nothing()
    {
        string hive = ExtractHive(_images.Win7, "SYSTEM", "dry-file-SYSTEM");
        string before = Hash(hive);
        var (code, stdout, err) = CliRunner.Run("reg", "set", hive, TcpipKey, "DryRun", "-t", "REG_SZ", "-d", "x", "--dry-run");
        Assert.True(code == 0, err);
        Assert.StartsWith("Would set", stdout, StringComparison.Ordinal);
        (code, stdout, err) = CliRunner.Run("reg", "delete", hive, TcpipKey, "Domain", "-n");
        Assert.True(code == 0, err);
        Assert.StartsWith("Would delete value", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Hash(hive));
        Assert.Null(HivexGet(hive, TcpipKey, "DryRun"));
    }

    [Fact]
    public void An_image_without_hive_or_with_an_unknown_or_read_only_hive_is_a_usage_error()
    {
        string image = _images.Win7;
        string before = Hash(image);
        Assert.Equal(2, CliRunner.Run("reg", "export", image).ExitCode);
        Assert.Equal(2, CliRunner.Run("reg", "set", image, "K", "V", "-t", "REG_SZ", "-d", "x").ExitCode);
        Assert.Equal(2, CliRunner.Run("reg", "export", image, "--hive", "NTUSER").ExitCode);
        Assert.Equal(2, CliRunner.Run("reg", "set", image, "--hive", "SAM", "K", "V", "-t", "REG_SZ", "-d", "x").ExitCode);
        Assert.Equal(before, Hash(image));

        // A missing image is a data error that names it, not a usage error about --hive.
        var (code, _, err) = CliRunner.Run("reg", "export", _images.Tmp.File("no-such.vhdx"), "--hive", "SYSTEM");
        Assert.Equal(1, code);
        Assert.Contains("no-such.vhdx", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_on_the_image_prints_prepares_report_and_errors_as_json_objects()
    {
        string image = CopyImage("json-win7.raw");
        var (code, stdout, err) = CliRunner.Run("reg", "set", image, "--hive", "SYSTEM", @"CurrentControlSet\Services\Tcpip\Parameters", "JsonTest", "-t", "REG_DWORD", "-d", "0x2a", "--json");
        Assert.True(code == 0, err);
        JsonElement report = PrepareJsonTests.Validated(stdout); // the schema of prepare --json
        Assert.True(report.GetProperty("written").GetBoolean());
        JsonElement change = Assert.Single(report.GetProperty("changes").EnumerateArray());
        Assert.Equal("registry", change.GetProperty("kind").GetString());
        Assert.Equal("JsonTest", change.GetProperty("valueName").GetString());
        Assert.Equal("2a000000", change.GetProperty("newData").GetString());
        Assert.Equal("42", HivexGet(ExtractHive(image, "SYSTEM", "json-SYSTEM"), TcpipKey, "JsonTest"));

        // A dry-run deletion: the plan as JSON, nothing written.
        string before = Hash(image);
        (code, stdout, err) = CliRunner.Run("reg", "delete", image, "--hive", "SYSTEM", TcpipKey, "JsonTest", "--dry-run", "--json");
        Assert.True(code == 0, err);
        report = PrepareJsonTests.Validated(stdout);
        Assert.True(report.GetProperty("dryRun").GetBoolean());
        Assert.Equal("registryDeleteValue", Assert.Single(report.GetProperty("changes").EnumerateArray()).GetProperty("kind").GetString());
        Assert.Equal(before, Hash(image));

        string reg = _images.Tmp.File("json-import.reg");
        File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters]\r\n\"JsonImport\"=\"x\"\r\n",
            System.Text.Encoding.Unicode);
        (code, stdout, err) = CliRunner.Run("reg", "import", image, reg, "--hive", "SYSTEM", "--json");
        Assert.True(code == 0, err);
        Assert.Equal("JsonImport", Assert.Single(PrepareJsonTests.Validated(stdout).GetProperty("changes").EnumerateArray()).GetProperty("valueName").GetString());

        // export --json is export --format json.
        (code, stdout, err) = CliRunner.Run("reg", "export", image, "--hive", "SYSTEM", TcpipKey, "--json");
        Assert.True(code == 0, err);
        Assert.Equal(CliRunner.Run("reg", "export", image, "--hive", "SYSTEM", TcpipKey, "--format", "json").StdOut, stdout);
        JsonDocument.Parse(stdout).Dispose();

        // Errors are one JSON object with the exit code: a value that is not there (1), a hive the plan does not write (2),
        // an unknown hive (2), a hibernated Windows (3, below in the hibernation test's image).
        before = Hash(image);
        AssertJsonError(1, "data", CliRunner.Run("reg", "delete", image, "--hive", "SYSTEM", TcpipKey, "NoSuchValue", "--json"));
        AssertJsonError(2, "usage", CliRunner.Run("reg", "set", image, "--hive", "SAM", "K", "V", "-t", "REG_SZ", "-d", "x", "--json"));
        AssertJsonError(2, "usage", CliRunner.Run("reg", "export", image, "--hive", "NTUSER", "--json"));
        AssertJsonError(2, "usage", CliRunner.Run("reg", "export", image, "--hive", "SYSTEM", "--json", "--format", "reg"));
        AssertJsonError(2, "usage", CliRunner.Run("reg", "import", image, reg, "--hive", "SYSTEM", "--partition", "7", "--json"));
        Assert.Equal(before, Hash(image));
    }

    [Fact]
    public void Json_on_a_hive_file_reports_the_changes_and_errors_as_json_objects()
    {
        string hive = ExtractHive(_images.Win7, "SYSTEM", "json-file-SYSTEM");
        var (code, stdout, err) = CliRunner.Run("reg", "set", hive, TcpipKey, "JsonFile", "-t", "REG_SZ", "-d", "x", "--json");
        Assert.True(code == 0, err);
        JsonElement report = JsonDocument.Parse(stdout).RootElement;
        Assert.True(report.GetProperty("written").GetBoolean());
        Assert.False(report.GetProperty("dryRun").GetBoolean());
        Assert.StartsWith("Set ", Assert.Single(report.GetProperty("changes").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal("x", HivexGet(hive, TcpipKey, "JsonFile"));

        string before = Hash(hive);
        (code, stdout, err) = CliRunner.Run("reg", "delete", hive, TcpipKey, "JsonFile", "--dry-run", "--json");
        Assert.True(code == 0, err);
        report = JsonDocument.Parse(stdout).RootElement;
        Assert.True(report.GetProperty("dryRun").GetBoolean());
        Assert.False(report.GetProperty("written").GetBoolean());
        Assert.Equal(before, Hash(hive));

        AssertJsonError(1, "data", CliRunner.Run("reg", "delete", hive, TcpipKey, "NoSuchValue", "--json"));
        AssertJsonError(2, "usage", CliRunner.Run("reg", "set", hive, TcpipKey, "V", "-t", "REG_FOO", "-d", "x", "--json"));
        Assert.Equal(before, Hash(hive));
    }

    private static void AssertJsonError(int exitCode, string kind, (int ExitCode, string StdOut, string StdErr) run)
    {
        Assert.True(run.ExitCode == exitCode, $"exit {run.ExitCode}, expected {exitCode}: {run.StdErr}");
        JsonElement error = JsonDocument.Parse(run.StdOut).RootElement.GetProperty("error");
        Assert.Equal(exitCode, error.GetProperty("exitCode").GetInt32());
        Assert.Equal(kind, error.GetProperty("kind").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("hint").GetString()));
        Assert.StartsWith("error: ", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_moved_parent_is_named_with_parent_for_reg_and_prepare_on_images()
    {
        var (_, child, moved) = _images.Win7ChildWithMovedParent("moved-parent");

        // Without --parent the stored path is missing: a data error saying to use --parent.
        var (code, _, err) = CliRunner.Run("reg", "export", child, "--hive", "SYSTEM", TcpipKey);
        Assert.Equal(1, code);
        Assert.Contains("--parent", err, StringComparison.Ordinal);

        // With it, reg reads the Windows through the child, as from the hive ntfscat extracts from the parent.
        string fromParent = CliRunner.Run("reg", "export", ExtractHive(moved, "SYSTEM", "moved-SYSTEM"), TcpipKey).StdOut;
        (code, string stdout, err) = CliRunner.Run("reg", "export", child, "--hive", "SYSTEM", TcpipKey, "--parent", moved);
        Assert.True(code == 0, err);
        Assert.Equal(fromParent, stdout);

        string before = Hash(child);
        (code, _, err) = CliRunner.Run("reg", "set", child, "--hive", "SYSTEM", TcpipKey, "Moved", "-t", "REG_SZ", "-d", "x", "--dry-run", "--parent", moved);
        Assert.True(code == 0, err);
        (code, stdout, err) = CliRunner.Run("prepare", child, "--nic", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", "--dry-run", "--parent", moved);
        Assert.True(code == 0, err);
        Assert.Contains("CriticalDeviceDatabase", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Hash(child));
    }
}
