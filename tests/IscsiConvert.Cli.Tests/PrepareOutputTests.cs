using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `prepare --output CHILD` and `prepare --reg FILE` on the Windows 7 and 10 images of <see cref="MatchImages"/>: the
/// input's bytes never change, qemu-img names the input as the child's backing file, and the changes are read back
/// from the child (converted to raw by qemu-img, the hive extracted by ntfscat, read by hivexget); a failed run leaves
/// no child behind; a .reg file's values land in SYSTEM (CurrentControlSet mapped) and SOFTWARE, listed like the rest.
/// </summary>
public sealed class PrepareOutputTests : IClassFixture<MatchImages>
{
    private const string Nic = @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02";
    private const string VirtioNic = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";
    private readonly MatchImages _images;

    public PrepareOutputTests(MatchImages images)
    {
        _images = images;
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private string ExtractHive(string rawImage, string hive, string name)
    {
        string target = _images.Tmp.File(name);
        Oracle.Require("ntfscat");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{rawImage}' /Windows/System32/config/{hive} > '{target}'");
        return target;
    }

    // A copy of the family's image and the netkvm package for its architecture: a plan that writes folders, files and
    // values on both families (Windows 10 has no service for the virtio NIC of its own).
    private (string Image, string Package) Fresh(string family, string name)
    {
        string image = _images.Tmp.File(name + "-" + family + ".raw");
        File.Copy(family == "win7" ? _images.Win7 : _images.Win10, image);
        return (image, PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, name + "-pkg-" + family, family == "win7" ? "x86" : "amd64"));
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Output_writes_the_changes_into_a_qcow2_child_whose_backing_file_is_the_untouched_input(string family)
    {
        (string image, string package) = Fresh(family, "output");
        string before = Hash(image);
        string child = _images.Tmp.File("output-" + family + ".qcow2");

        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--output", child);
        Assert.True(code == 0, stderr);
        Assert.Contains(@"set     SYSTEM\ControlSet001\Services\netkvm\Start = REG_DWORD 0 (new)", stdout, StringComparison.Ordinal);
        Assert.Contains($"written to the differencing image {child} over {image} (left unchanged).", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Hash(image));

        Oracle.Require("qemu-img");
        var info = QemuImg.Info(child);
        Assert.Equal("qcow2", info.GetProperty("format").GetString());
        // The child names its parent relative to itself (they share a folder); qemu resolves it to the input.
        Assert.Equal(Path.GetFullPath(image), info.GetProperty("full-backing-filename").GetString());
        QemuImg.Check(child, "qcow2");

        string flat = _images.Tmp.File("output-" + family + "-flat.raw");
        QemuImg.ConvertToRaw(child, "qcow2", flat);
        WindowsImageApiTests.AssertPrepared(family, ExtractHive(flat, "SYSTEM", "output-" + family + "-SYSTEM"));
        string parentHive = ExtractHive(image, "SYSTEM", "output-" + family + "-parent-SYSTEM");
        Assert.NotEqual(0, Oracle.Run("hivexget", parentHive, @"ControlSet001\services\netkvm", "Start").ExitCode); // the parent has no netkvm service
        ToolResult fix = Oracle.Run("ntfsfix", "-n", flat);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Output_over_a_vhdx_is_a_vhdx_child_read_back_with_fs_cat_and_hivexget(string family)
    {
        (string raw, string package) = Fresh(family, "output-vhdx-src");
        string image = _images.Tmp.File("output-parent-" + family + ".vhdx");
        var (code, stdout, stderr) = CliRunner.Run("disk", "convert", raw, image, "--format", "vhdx");
        Assert.True(code == 0, stderr);
        string before = Hash(image);
        string child = _images.Tmp.File("output-child-" + family + ".vhdx");

        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--output", child);
        Assert.True(code == 0, stderr);
        Assert.Equal(before, Hash(image));
        (code, stdout, stderr) = CliRunner.Run("disk", "info", child, "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("output-parent-" + family + ".vhdx", stdout, StringComparison.Ordinal); // the parent chain names the input

        // qemu-img cannot open VHDX differencing images; the hive is read from the child by our fs cat, checked by hivexget.
        string hive = _images.Tmp.File("output-vhdx-SYSTEM-" + family);
        (code, _, stderr) = CliRunner.Run("fs", "cat", child, @"\Windows\System32\config\SYSTEM", "--output", hive);
        Assert.True(code == 0, stderr);
        WindowsImageApiTests.AssertPrepared(family, hive);
        string parentHive = _images.Tmp.File("output-vhdx-parent-SYSTEM-" + family);
        (code, _, stderr) = CliRunner.Run("fs", "cat", image, @"\Windows\System32\config\SYSTEM", "--output", parentHive);
        Assert.True(code == 0, stderr);
        Assert.NotEqual(0, Oracle.Run("hivexget", parentHive, @"ControlSet001\services\netkvm", "Start").ExitCode); // the parent has no netkvm service
    }

    [Fact]
    public void A_refused_prepare_leaves_no_child_and_the_input_unchanged()
    {
        string image = _images.Tmp.File("output-win10-refused.raw");
        File.Copy(_images.Win10, image);
        string before = Hash(image);
        string child = _images.Tmp.File("output-win10-refused.qcow2");
        // netkvm.inf is in the image, its service is not: refused without a package.
        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000", "--output", child);
        Assert.Equal(1, code);
        Assert.Contains("--driver", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(child), "the child of a refused run was left behind");
        Assert.Equal(before, Hash(image));
    }

    [Fact]
    public void Output_over_an_existing_file_is_a_usage_error_and_the_file_is_kept()
    {
        string image = _images.Tmp.File("output-exists.raw");
        File.Copy(_images.Win7, image);
        string child = _images.Tmp.File("output-exists.qcow2");
        File.WriteAllText(child, "mine");
        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--output", child);
        Assert.Equal(2, code);
        Assert.Contains("exists", stderr, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(child));
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void A_hibernated_windows_is_refused_with_exit_code_3_leaving_no_child_and_the_input_unchanged(string family)
    {
        (string image, string package) = Fresh(family, "output-hibernated");
        string hiberfil = _images.Tmp.File("hiberfil.sys");
        File.WriteAllBytes(hiberfil, Encoding.ASCII.GetBytes("HIBR").Concat(new byte[4092]).ToArray()); // an active hibernation image's signature
        var (code, _, stderr) = CliRunner.Run("fs", "put", image, hiberfil, @"\hiberfil.sys");
        Assert.True(code == 0, stderr);
        string before = Hash(image);
        string child = _images.Tmp.File("output-hibernated-" + family + ".qcow2");

        (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--output", child);
        Assert.Equal(3, code);
        Assert.Contains("hibernat", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(child), "the child of a refused run was left behind");
        (code, _, _) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package);
        Assert.Equal(3, code);
        Assert.Equal(before, Hash(image));
        // Only reading: a dry run still shows the plan.
        (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--dry-run");
        Assert.True(code == 0, stderr);
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Output_format_writes_a_full_qcow2_copy_holding_the_changes_and_leaves_the_input_unchanged(string family)
    {
        (string image, string package) = Fresh(family, "output-format");
        string before = Hash(image);
        string copy = _images.Tmp.File("output-format-" + family + ".qcow2");

        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--output", copy, "--output-format", "qcow2", "--json");
        Assert.True(code == 0, stderr);
        using (var doc = System.Text.Json.JsonDocument.Parse(stdout))
        {
            Assert.Equal("qcow2", doc.RootElement.GetProperty("outputFormat").GetString());
            Assert.Equal(copy, doc.RootElement.GetProperty("output").GetString());
            Assert.True(doc.RootElement.GetProperty("written").GetBoolean());
        }
        Assert.Equal(before, Hash(image));

        Oracle.Require("qemu-img");
        var info = QemuImg.Info(copy);
        Assert.Equal("qcow2", info.GetProperty("format").GetString());
        Assert.False(info.TryGetProperty("backing-filename", out _), "a full copy has no backing file");
        QemuImg.Check(copy, "qcow2");
        string flat = _images.Tmp.File("output-format-" + family + "-flat.raw");
        QemuImg.ConvertToRaw(copy, "qcow2", flat);
        WindowsImageApiTests.AssertPrepared(family, ExtractHive(flat, "SYSTEM", "output-format-" + family + "-SYSTEM"));
        ToolResult fix = Oracle.Run("ntfsfix", "-n", flat);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);

        // --output-format alone names no file: a usage error.
        (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package, "--output-format", "vhdx");
        Assert.Equal(2, code);
        Assert.Contains("--output", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Hash(image));
    }

    /// <summary>A --driver folder holding only an INX template (a driver's source, not a package) says to stamp it; nothing is written.</summary>
    [Fact]
    public void A_driver_folder_with_only_an_inx_template_says_to_stamp_it()
    {
        string image = _images.Tmp.File("inx-only.raw");
        File.Copy(_images.Win7, image);
        string before = Hash(image);
        string folder = Directory.CreateDirectory(_images.Tmp.File("inx-only")).FullName;
        File.Copy(TestData.Require("inf/ms-pl/dynambus.inx"), Path.Combine(folder, "dynambus.inx"));

        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--driver", folder, "--json");
        Assert.Equal(CliApp.DataError, code);
        Assert.Contains("only the INF template dynambus.inx", stderr, StringComparison.Ordinal);
        Assert.Contains("stamp it into an .inf", stderr, StringComparison.Ordinal);
        Assert.Contains("stampinf", System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, Hash(image));
    }

    private string RegFile(string name, string body)
    {
        string path = _images.Tmp.File(name);
        // As regedit exports: UTF-16LE with a byte order mark, CRLF lines.
        File.WriteAllText(path, "Windows Registry Editor Version 5.00\r\n\r\n" + body.Replace("\n", "\r\n"), new UnicodeEncoding(false, true));
        return path;
    }

    [Fact]
    public void Reg_without_nic_sets_system_and_software_values_honours_dry_run_and_a_second_run_finds_nothing_to_do()
    {
        string image = _images.Tmp.File("reg-win7.raw");
        File.Copy(_images.Win7, image);
        string before = Hash(image);
        string reg = RegFile("prepare.reg",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\E1G60]\n\"Start\"=dword:00000000\n\n" +
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\IscsiConvertTest]\n\"Note\"=\"from a .reg file\"\n\n" +
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\IscsiConvertTest]\n@=\"marker\"\n\"Flags\"=hex(7):61,00,00,00,62,00,00,00,00,00\n");

        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--reg", reg, "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\E1G60\Start = REG_DWORD 0 (was 3)", stdout, StringComparison.Ordinal);
        Assert.Contains(@"would set SOFTWARE\IscsiConvertTest\(default) = REG_SZ marker (new)", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Hash(image));

        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--reg", reg);
        Assert.True(code == 0, stderr);
        Assert.Contains(@"set     SYSTEM\ControlSet001\Services\Tcpip\Parameters\IscsiConvertTest\Note = REG_SZ from a .reg file (new)", stdout, StringComparison.Ordinal);
        Assert.Contains("4 value(s) written", stdout, StringComparison.Ordinal);
        string system = ExtractHive(image, "SYSTEM", "reg-win7-SYSTEM");
        Assert.Equal("0", Oracle.RunChecked("hivexget", system, @"ControlSet001\services\E1G60", "Start").Trim());
        Assert.Equal("from a .reg file", Oracle.RunChecked("hivexget", system, @"ControlSet001\Services\Tcpip\Parameters\IscsiConvertTest", "Note").Trim());
        string software = ExtractHive(image, "SOFTWARE", "reg-win7-SOFTWARE");
        Assert.Equal("marker", Oracle.RunChecked("hivexget", software, @"IscsiConvertTest", "@").Trim());
        Assert.Equal("a\nb", Oracle.RunChecked("hivexget", software, @"IscsiConvertTest", "Flags").Trim().Replace("\r", string.Empty, StringComparison.Ordinal));
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);

        string after = Hash(image);
        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--reg", reg);
        Assert.True(code == 0, stderr);
        Assert.Contains("nothing to change", stdout, StringComparison.Ordinal);
        Assert.Equal(after, Hash(image));
    }

    [Fact]
    public void Reg_deletions_of_values_and_keys_go_through_the_plan_in_file_order_and_a_second_run_finds_nothing_to_do()
    {
        string image = _images.Tmp.File("reg-delete-win7.raw");
        File.Copy(_images.Win7, image);
        string before = Hash(image);
        // Values and keys of the real Windows 7 hive (hivexsh lists them), plus a value and a key it does not have.
        string reg = RegFile("delete.reg",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\E1G60]\n\"DisplayName\"=-\n\"NoSuchValue\"=-\n\n" +
            "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces]\n\n" +
            "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\NoSuchService]\n\n" +
            "[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\PersistentRoutes]\n\n" +
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\PersistentRoutes]\n\"Marker\"=\"re-created\"\n");

        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--reg", reg, "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"would delete SYSTEM\ControlSet001\Services\E1G60\DisplayName deleted (was REG_SZ Intel(R) PRO/1000 NDIS 6 Adapter Driver)", stdout, StringComparison.Ordinal);
        Assert.Contains(@"would delete SYSTEM\ControlSet001\Services\Tcpip\Parameters\Interfaces (key deleted", stdout, StringComparison.Ordinal);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\Tcpip\Parameters\PersistentRoutes\Marker = REG_SZ re-created (new)", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("NoSuch", stdout, StringComparison.Ordinal); // nothing to delete there: no change
        Assert.Equal(before, Hash(image));

        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--reg", reg, "--json");
        Assert.True(code == 0, stderr);
        var kinds = PrepareJsonTests.Validated(stdout).GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("kind").GetString()).ToList();
        Assert.Equal(new[] { "registryDeleteValue", "registryDeleteKey", "registryDeleteKey", "registry" }, kinds);

        string system = ExtractHive(image, "SYSTEM", "reg-delete-win7-SYSTEM");
        Assert.Equal(1, Oracle.Run("hivexget", system, @"ControlSet001\services\E1G60", "DisplayName").ExitCode);
        Assert.Equal("3", Oracle.RunChecked("hivexget", system, @"ControlSet001\services\E1G60", "Start").Trim()); // its neighbour kept
        Assert.Equal(1, Oracle.Run("hivexget", system, @"ControlSet001\services\Tcpip\Parameters\Interfaces", "x").ExitCode);
        Assert.Equal("re-created", Oracle.RunChecked("hivexget", system, @"ControlSet001\services\Tcpip\Parameters\PersistentRoutes", "Marker").Trim());
        string parameters = Oracle.RunWithInput("hivexsh", "cd ControlSet001\\services\\Tcpip\\Parameters\nls\n", system).StdOut;
        Assert.Contains("Winsock", parameters, StringComparison.Ordinal); // its sibling kept
        Assert.DoesNotContain("Interfaces", parameters, StringComparison.Ordinal);
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);

        string after = Hash(image);
        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--reg", reg);
        Assert.True(code == 0, stderr);
        Assert.Contains("nothing to change", stdout, StringComparison.Ordinal);
        Assert.Equal(after, Hash(image));
    }

    [Theory]
    [InlineData("[HKEY_CURRENT_USER\\Software\\X]\n\"A\"=\"b\"\n", "HKEY_LOCAL_MACHINE\\SYSTEM or HKEY_LOCAL_MACHINE\\SOFTWARE")]
    [InlineData("[HKEY_LOCAL_MACHINE\\SAM\\X]\n\"A\"=\"b\"\n", "HKEY_LOCAL_MACHINE\\SYSTEM or HKEY_LOCAL_MACHINE\\SOFTWARE")]
    [InlineData("[-HKEY_LOCAL_MACHINE\\SYSTEM]\n", "whole SYSTEM hive")]
    public void A_reg_file_outside_the_offline_hives_or_deleting_a_whole_hive_is_refused_and_nothing_is_written(string body, string message)
    {
        string image = _images.Tmp.File($"reg-refused-{message.Length}-{body.Length}.raw");
        File.Copy(_images.Win7, image);
        string before = Hash(image);
        string reg = RegFile($"refused-{body.Length}.reg", "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\E1G60]\n\"Start\"=dword:00000000\n\n" + body);
        var (code, _, stderr) = CliRunner.Run("prepare", image, "--reg", reg);
        Assert.Equal(1, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Contains("line ", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Hash(image));
    }
}
