using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>`iscsi-convert prepare` on the Windows 7 image of <see cref="MatchImages"/> (real SYSTEM hive, e1000 INF
/// fixtures): dry run writes nothing; the real run's changes are read back with hivexget; a second run changes nothing.</summary>
public sealed class PrepareCommandTests : IClassFixture<MatchImages>
{
    private const string Nic = @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02";
    private readonly MatchImages _images;

    public PrepareCommandTests(MatchImages images)
    {
        _images = images;
    }

    [Fact]
    public void Prepare_writes_cddb_and_boot_start_and_a_second_run_finds_nothing_to_do()
    {
        string image = _images.Tmp.File("prepare-win7.raw");
        File.Copy(_images.Win7, image);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));

        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\E1G60\Start = REG_DWORD 0 (was 3)", stdout, StringComparison.Ordinal);
        Assert.Contains("dry run: nothing was written", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));

        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", Nic);
        Assert.True(code == 0, stderr);
        Assert.Contains(@"set     SYSTEM\ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e\Service = REG_SZ E1G60 (new)", stdout, StringComparison.Ordinal);

        string hive = _images.Tmp.File("prepare-SYSTEM");
        Oracle.Require("ntfscat");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, @"ControlSet001\services\E1G60", "Start").Trim());
        Assert.Equal("E1G60", Oracle.RunChecked("hivexget", hive, @"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e&subsys_001e8086&rev_02", "Service").Trim());
        Assert.Equal("{4D36E972-E325-11CE-BFC1-08002BE10318}", Oracle.RunChecked("hivexget", hive, @"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e", "ClassGUID").Trim());
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);

        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", Nic);
        Assert.True(code == 0, stderr);
        Assert.Contains("nothing to change", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Windows_10_without_the_drivers_service_or_a_package_is_refused_with_a_clear_message_and_nothing_written()
    {
        string image = _images.Tmp.File("prepare-win10.raw");
        File.Copy(_images.Win10, image);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        // netkvm.inf is in the image, its service is not: a package is needed.
        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000");
        Assert.Equal(1, code);
        Assert.Contains("--driver DIR", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("WithDriverPackage", stderr, StringComparison.Ordinal); // no API names in CLI errors
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
    }

    [Fact]
    public void Windows_10_stages_a_supplied_package_and_a_second_run_finds_nothing_to_do()
    {
        string image = _images.Tmp.File("prepare-win10-driver.raw");
        File.Copy(_images.Win10, image);
        string package = PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, "netkvm10-pkg", "amd64");
        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "--driver", package);
        Assert.True(code == 0, stderr);
        // SYSTEM_B's OemInfMap (ff fc) has oem0 – oem13 taken.
        Assert.Contains(@"copy    \Windows\INF\oem14.inf <- ", stdout, StringComparison.Ordinal);
        Assert.Contains(@"set     SYSTEM\DriverDatabase\DriverInfFiles\oem14.inf\Active = REG_SZ netkvm.inf_amd64_", stdout, StringComparison.Ordinal);
        Assert.Contains(@"set     SYSTEM\ControlSet001\Services\netkvm\BootFlags = REG_DWORD 1 (new)", stdout, StringComparison.Ordinal);
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string hive = _images.Tmp.File("prepare-win10-SYSTEM");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, @"ControlSet001\Services\netkvm", "Start").Trim());
        Assert.StartsWith("netkvm.inf_amd64_", Oracle.RunChecked("hivexget", hive, @"DriverDatabase\DriverInfFiles\oem14.inf", "Active").Trim(), StringComparison.Ordinal);

        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "--driver", package);
        Assert.True(code == 0, stderr);
        Assert.Contains("nothing to change", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
    }

    [Fact]
    public void A_bad_pci_path_is_a_usage_error()
    {
        string image = _images.Tmp.File("prepare-badpath.raw");
        File.Copy(_images.Win7, image);
        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--pci-path", "00:1e", "--dry-run");
        Assert.Equal(2, code);
        Assert.Contains("bus:device.function", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_that_does_not_say_its_windows_is_a_usage_error_naming_os_without_a_stack_trace()
    {
        string image = _images.Tmp.File("prepare-nosoftware.raw");
        File.Copy(_images.Win10WithoutSoftware, image);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--json");
        Assert.Equal(2, code);
        Assert.Contains("--os", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Contains("\"kind\": \"usage\"", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));

        (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--os", "win99-sparc");
        Assert.Equal(2, code);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);

        // A .reg file alone matches no INF, so it needs no Windows version.
        string reg = _images.Tmp.File("nosoftware.reg");
        File.WriteAllText(reg, "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters]\r\n\"Domain\"=\"lab.example\"\r\n");
        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--reg", reg, "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\Tcpip\Parameters\Domain = REG_SZ lab.example", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
    }

    [Fact]
    public void Missing_nic_is_a_usage_error()
    {
        var (code, _, stderr) = CliRunner.Run("prepare", "whatever.raw");
        Assert.Equal(2, code);
        Assert.Contains("--nic", stderr, StringComparison.Ordinal);
    }
}

/// <summary>`prepare --driver` on the Windows 7 and Windows 10 images of <see cref="MatchImages"/>: the supplied
/// virtio-net package is planned for installation (dry run: nothing written).</summary>
public sealed class PrepareDriverCommandTests : IClassFixture<MatchImages>
{
    private readonly MatchImages _images;

    public PrepareDriverCommandTests(MatchImages images)
    {
        _images = images;
    }

    /// <summary>A virtio-net package: the real netkvm INF body, stamped as its build stamps it (architecture, vendor,
    /// drivers folder = dirid 12), with made-up binaries and catalog.</summary>
    internal static string NetKvmPackage(TempDir tmp, string name, string arch)
    {
        string package = tmp.File(name);
        Directory.CreateDirectory(package);
        File.WriteAllText(Path.Combine(package, "netkvm.inf"), NetKvmInf.Stamped(arch));
        foreach (string f in new[] { "netkvm.sys", "netkvmp.exe", "netkvm.cat" })
        {
            File.WriteAllBytes(Path.Combine(package, f), new byte[] { 1, 2, 3, (byte)f.Length });
        }
        return package;
    }

    /// <summary>
    /// Issue 12's "a dry run writes nothing" through the CLI, on both families: the plan lists the package's files and
    /// the family's values (the CDDB entry on 7, the network-boot BootFlags on 10), and the image keeps its bytes and
    /// its timestamp (opened read-only, so not even a VHDX-style header or an access time is written).
    /// </summary>
    [Theory]
    [InlineData("win7", @"would set SYSTEM\ControlSet001\Control\CriticalDeviceDatabase\pci#ven_1af4&dev_1000\Service = REG_SZ netkvm (new)")]
    [InlineData("win10", @"would set SYSTEM\ControlSet001\Services\netkvm\BootFlags = REG_DWORD 1 (new)")]
    public void Dry_run_with_a_driver_package_lists_the_files_and_the_service_and_changes_no_byte_or_timestamp(string family, string familyLine)
    {
        string image = _images.Tmp.File("prepare-driver-" + family + ".raw");
        File.Copy(family == "win7" ? _images.Win7 : _images.Win10, image);
        File.SetLastWriteTimeUtc(image, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        string package = NetKvmPackage(_images.Tmp, "netkvm-pkg-" + family, family == "win7" ? "x86" : "amd64");
        var before = (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))), File.GetLastWriteTimeUtc(image));

        var (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000", "--driver", package, "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains(@"would copy \Windows\System32\drivers\netkvm.sys <- ", stdout, StringComparison.Ordinal);
        Assert.Contains(@"would set SYSTEM\ControlSet001\Services\netkvm\Start = REG_DWORD 0 (new)", stdout, StringComparison.Ordinal);
        Assert.Contains(familyLine, stdout, StringComparison.Ordinal);
        Assert.Contains("dry run: nothing was written", stdout, StringComparison.Ordinal);
        Assert.Equal(before, (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))), File.GetLastWriteTimeUtc(image)));

        // Without the package: refused, saying what to do.
        (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000", "--dry-run");
        Assert.Equal(1, code);
        Assert.Contains("--driver", stderr, StringComparison.Ordinal);
    }
}
