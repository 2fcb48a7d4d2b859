using System;
using System.IO;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Ntfs;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// What every command shares (CliApp/CliConsole): the exit codes (0 done, 1 data, 2 usage, 3 refused as unsafe),
/// errors as a JSON object with --json, a next step in every error, and --verbose/--quiet on every command.
/// </summary>
public sealed class CliConventionsTests
{
    [Fact]
    public void Help_lists_the_exit_codes_and_the_global_options()
    {
        var (code, stdout, _) = CliRunner.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("Exit codes: 0 done", stdout, StringComparison.Ordinal);
        Assert.Contains("3 refused as unsafe", stdout, StringComparison.Ordinal);
        Assert.Contains("--verbose", stdout, StringComparison.Ordinal);
        Assert.Contains("--quiet", stdout, StringComparison.Ordinal);
        // What a newcomer needs: what it is for, and the first commands in the order to run them.
        Assert.Contains("boot from iSCSI", stdout, StringComparison.Ordinal);
        Assert.Contains("0x7B INACCESSIBLE_BOOT_DEVICE", stdout, StringComparison.Ordinal);
        int demo = stdout.IndexOf("iscsi-convert demo", StringComparison.Ordinal);
        int inspect = stdout.IndexOf("iscsi-convert inspect IMAGE", StringComparison.Ordinal);
        int prepare = stdout.IndexOf(@"iscsi-convert prepare IMAGE --nic 'PCI\VEN_8086&DEV_100E' --dry-run", StringComparison.Ordinal);
        Assert.True(demo >= 0 && inspect > demo && prepare > inspect, stdout);
        Assert.Contains("--output CHILD", stdout, StringComparison.Ordinal);
        Assert.Contains("docs/getting-started.md", stdout, StringComparison.Ordinal);

        (code, stdout, _) = CliRunner.Run("disk", "info", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--verbose", stdout, StringComparison.Ordinal); // recursive: on every command
    }

    [Fact]
    public void A_usage_error_with_json_is_exit_code_2_and_a_json_object()
    {
        var (code, stdout, stderr) = CliRunner.Run("disk", "info", "x.img", "--json", "--no-such-option");
        Assert.Equal(CliApp.UsageError, code);
        JsonElement error = JsonDocument.Parse(stdout).RootElement.GetProperty("error");
        Assert.Equal(2, error.GetProperty("exitCode").GetInt32());
        Assert.Equal("usage", error.GetProperty("kind").GetString());
        Assert.Contains("--no-such-option", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("Run 'iscsi-convert disk info --help'", stderr, StringComparison.Ordinal);

        (code, stdout, _) = CliRunner.Run("disk", "info", "x.img", "--no-such-option");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal(string.Empty, stdout); // no JSON unless asked for
    }

    /// <summary>
    /// An image without Windows is a problem with the data (1), reported as JSON with --json, by every command that
    /// needs a Windows (found by the CLI fuzz target: these printed no JSON and exited 2). The input is not modified.
    /// </summary>
    [Fact]
    public void An_image_without_windows_is_exit_code_1_with_a_json_error_for_every_command_that_needs_one()
    {
        using var tmp = new TempDir();
        string image = tmp.File("no-windows.qcow2");
        File.Copy(TestData.Require("disks/qcow2/windows_volume.qcow2"), image); // NTFS, but no \Windows
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        string[][] commands =
        {
            new[] { "prepare", image, "--nic", @"PCI\VEN_8086&DEV_100E", "--json" },
            new[] { "prepare", image, "--nic", @"PCI\VEN_8086&DEV_100E", "--dry-run", "--json" },
            new[] { "match", image, "--hwid", @"PCI\VEN_8086&DEV_100E", "--json" },
            new[] { "reg", "export", image, "--hive", "SYSTEM", "--json" },
            new[] { "reg", "set", image, "--hive", "SYSTEM", "K", "V", "-t", "REG_SZ", "-d", "x", "--json" },
        };
        foreach (string[] args in commands)
        {
            var (code, stdout, stderr) = CliRunner.Run(args);
            Assert.True(code == CliApp.DataError, $"{string.Join(" ", args)} returned {code}: {stderr}");
            JsonElement error = JsonDocument.Parse(stdout).RootElement.GetProperty("error");
            Assert.Equal("data", error.GetProperty("kind").GetString());
            Assert.Contains("no Windows installation found", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Contains("disk info", error.GetProperty("hint").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
    }

    [Fact]
    public void A_missing_file_with_json_is_exit_code_1_and_says_what_to_check()
    {
        using var tmp = new TempDir();
        var (code, stdout, stderr) = CliRunner.Run("disk", "info", tmp.File("missing.vhdx"), "--json");
        Assert.Equal(CliApp.DataError, code);
        JsonElement error = JsonDocument.Parse(stdout).RootElement.GetProperty("error");
        Assert.Equal("data", error.GetProperty("kind").GetString());
        Assert.Contains("missing.vhdx", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("Check the path.", error.GetProperty("hint").GetString());
        Assert.Contains("error: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_to_a_hibernated_volume_is_refused_with_exit_code_3_and_nothing_written()
    {
        using var tmp = new TempDir();
        string image = HibernatedVolume(tmp.File("hibernated.img"));
        string local = tmp.File("note.txt");
        File.WriteAllText(local, "hello");
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));

        var (code, stdout, stderr) = CliRunner.Run("fs", "put", image, local, @"\note.txt", "--json");

        Assert.Equal(CliApp.Refused, code);
        JsonElement error = JsonDocument.Parse(stdout).RootElement.GetProperty("error");
        Assert.Equal("refused", error.GetProperty("kind").GetString());
        Assert.Contains("hibernation", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("Nothing was written", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));

        // `fs check` says the same with the same code: a sound volume that may not be written.
        (code, stdout, _) = CliRunner.Run("fs", "check", image);
        Assert.Equal(CliApp.Refused, code);
        Assert.Contains("writes would be refused", stdout, StringComparison.Ordinal);
        (code, stdout, _) = CliRunner.Run("fs", "check", image, "--json");
        Assert.Equal(CliApp.Refused, code);
        JsonElement check = JsonDocument.Parse(stdout).RootElement;
        Assert.False(check.GetProperty("writable").GetBoolean());
        Assert.Contains("hibernation", check.GetProperty("writeRefusal").GetString(), StringComparison.Ordinal);
        Assert.Equal(CliApp.Refused, check.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public void Quiet_and_verbose_are_accepted_by_every_command()
    {
        using var tmp = new TempDir();
        string image = HibernatedVolume(tmp.File("v.img"));
        Assert.Equal(0, CliRunner.Run("disk", "info", image, "--quiet").ExitCode);
        // --verbose shows the libraries' debug log on standard error; without it, it stays out.
        var (code, _, stderr) = CliRunner.Run("disk", "info", image, "--verbose");
        Assert.Equal(0, code);
        Assert.Contains("debug: Opening " + image, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("debug:", CliRunner.Run("disk", "info", image).StdErr, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("fs", "ls", image, "-v").ExitCode);
        Assert.Equal(0, CliRunner.Run("-q", "fs", "ls", image).ExitCode);
    }

    [Fact]
    public void A_progress_bar_is_drawn_on_a_terminal_only_and_not_with_quiet()
    {
        using var tmp = new TempDir();
        string raw = tmp.File("data.raw");
        byte[] data = new byte[8 << 20];
        new Random(7).NextBytes(data);
        File.WriteAllBytes(raw, data);

        string Convert(string name, bool terminal, params string[] extra)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = CliApp.Run([.. new[] { "disk", "convert", raw, tmp.File(name), "--format", "qcow2" }, .. extra], stdout, stderr, isTerminal: terminal);
            Assert.True(code == 0, stderr.ToString());
            Assert.DoesNotContain("[#", stdout.ToString(), StringComparison.Ordinal); // never into the report
            return stderr.ToString();
        }

        Assert.Contains("#]", Convert("terminal.qcow2", terminal: true), StringComparison.Ordinal); // the full bar at 100 %
        Assert.Equal(string.Empty, Convert("redirected.qcow2", terminal: false));
        Assert.Equal(string.Empty, Convert("quiet.qcow2", terminal: true, "--quiet"));
    }

    [Fact]
    public void Bad_option_values_are_usage_errors_that_name_the_option()
    {
        using var tmp = new TempDir();
        string inf = tmp.File("sample.inf");
        File.WriteAllText(inf, "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\n");
        string raw = tmp.File("blank.img");
        using (var f = new FileStream(raw, FileMode.CreateNew))
        {
            f.SetLength(16L << 20);
        }
        string hive = tmp.File("SYSTEM");
        File.Copy(TestData.Require("registry/win7-system/SYSTEM"), hive);
        byte[] hiveBytes = File.ReadAllBytes(hive);
        (string[] Args, string Option)[] cases =
        {
            (new[] { "disk", "create", tmp.File("a.vhdx"), "--format", "vhdx", "--size", "12Q" }, "--size"),
            (new[] { "disk", "create", tmp.File("b.vhdx"), "--format", "vhdx", "--size", "1G", "--block-size", "3M" }, "--block-size"),
            (new[] { "disk", "create", tmp.File("c.img"), "--format", "floppy", "--size", "1G" }, "floppy"),
            (new[] { "disk", "format", raw, "-c", "3K" }, "--cluster-size"),
            (new[] { "inf", "show", inf, "--os", "win99" }, "--os"),
            // Values only the format's own rules reject (the library's ArgumentException) are usage errors too.
            (new[] { "disk", "create", tmp.File("d.vhd"), "--format", "vhd", "--size", "8P" }, "2190433320960"),
            (new[] { "disk", "create", tmp.File("e.vhdx"), "--format", "vhdx", "--size", "1G", "--block-size", "512K" }, "block size"),
            (new[] { "disk", "create", tmp.File("f.qcow2"), "--format", "qcow2", "--size", "1G", "--block-size", "4M" }, "cluster size"),
            (new[] { "disk", "create", tmp.File("g.vhd"), "--format", "vhd", "--size", "1G", "--subformat", "streamOptimized" }, "--subformat"),
            (new[] { "disk", "create", tmp.File("h.vhd"), "--format", "vhd" }, "--size"),
            (new[] { "disk", "convert", raw, tmp.File("i.vhd") }, "--format"),
            (new[] { "disk", "format", raw, "-c", "256" }, "cluster size"),
            (new[] { "disk", "format", raw, "-c", "4M" }, "cluster size"),
            (new[] { "disk", "format", raw, "-L", new string('x', 40) }, "label"),
            (new[] { "disk", "format", raw, "--partition", "2" }, "--partition"),
            (new[] { "fs", "ls", raw, "--partition", "abc" }, "--partition"),
            (new[] { "reg", "set", inf, "Key", "Name", "--type", "REG_FOO", "-d", "1" }, "--type"),
            (new[] { "reg", "set", inf, "Key", "Name", "--type", "REG_DWORD", "-d", "zz" }, "--data"),
            (new[] { "reg", "set", inf, "Key", "Name", "--type", "REG_DWORD", "-d", "0x1ffffffff" }, "--data"),
            (new[] { "reg", "set", inf, "Key", "Name", "--type", "REG_BINARY", "-d", "0g" }, "--data"),
            (new[] { "reg", "export", inf, "--format", "xml" }, "xml"),
            (new[] { "inf", "show", inf, "--os" }, "--os"),
            (new[] { "inspect" }, "inspect"),
            (new[] { "match", raw }, "--hwid"),
            (new[] { "no-such-command" }, "no-such-command"),
            // An OUT that exists (nothing is overwritten), options that do not fit the format or each other.
            (new[] { "disk", "create", raw, "--format", "raw", "--size", "1M" }, "exists"),
            (new[] { "disk", "convert", raw, raw, "--format", "raw" }, "exists"),
            (new[] { "disk", "convert", raw, inf, "--format", "vhd" }, "exists"),
            (new[] { "disk", "create", tmp.File("j.img"), "--format", "raw", "--size", "1M", "--block-size", "1M" }, "--block-size"),
            (new[] { "disk", "create", tmp.File("k.vhdx"), "--format", "vhdx", "--size", "1G", "--fixed", "--subformat", "dynamic" }, "--fixed"),
            (new[] { "inf", "show", inf, "--locale", "zz" }, "--locale"),
            (new[] { "inf", "show", inf, "--os", "win10-x64@abc" }, "--os"),
            (new[] { "reg", "delete", hive, "" }, "root key"),
            (new[] { "reg", "set", hive, "Key", "Name", "--type", "REG_SZ", "-d", "a", "-d", "b" }, "--data"),
            (new[] { "match", raw, "--hwid", @"PCI\VEN_8086&DEV_100E", "--os", "win99" }, "--os"),
        };
        foreach ((string[] args, string option) in cases)
        {
            var (code, _, stderr) = CliRunner.Run(args);
            Assert.True(code == CliApp.UsageError, $"{string.Join(" ", args)} returned {code}: {stderr}");
            Assert.Contains(option, stderr, StringComparison.Ordinal);
            Assert.Contains("--help", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("(Parameter '", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", stderr, StringComparison.Ordinal); // no .NET type names
        }
        Assert.Equal(16L << 20, new FileInfo(raw).Length);
        Assert.True(IsAllZero(raw), "a usage error wrote to the image");
        Assert.False(File.Exists(tmp.File("a.vhdx")) || File.Exists(tmp.File("b.vhdx")) || File.Exists(tmp.File("c.img")) || File.Exists(tmp.File("j.img")) || File.Exists(tmp.File("k.vhdx")));
        Assert.Equal(hiveBytes, File.ReadAllBytes(hive));
    }

    [Fact]
    public void Data_errors_are_exit_code_1_and_say_what_to_do_next_without_dotnet_internals()
    {
        using var tmp = new TempDir();
        string image = HibernatedVolume(tmp.File("v.img")); // an NTFS volume holding \hiberfil.sys
        string hive = tmp.File("SYSTEM");
        File.Copy(TestData.Require("registry/win7-system/SYSTEM"), hive);
        string inf = tmp.File("sample.inf");
        File.WriteAllText(inf, "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\n");
        (string[] Args, string Hint)[] cases =
        {
            // A folder where a file is read: not "another program has the image open" (an image in use is a refusal, 3).
            (new[] { "fs", "cat", image, "/" }, "fs ls IMAGE PATH"),
            (new[] { "fs", "ls", image, "/no/such" }, "Check the path"),
            (new[] { "reg", "export", hive, @"No\Such\Key" }, "--help"),
            (new[] { "reg", "import", hive, inf }, "not in the format this command reads"),
            (new[] { "inf", "show", inf, "--include-dir", tmp.File("no-such-folder") }, "Check the path"),
        };
        foreach ((string[] args, string hint) in cases)
        {
            var (code, stdout, stderr) = CliRunner.Run([.. args, "--json"]);
            Assert.True(code == CliApp.DataError, $"{string.Join(" ", args)} returned {code}: {stderr}");
            Assert.Contains(hint, stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("another program", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("(Parameter '", stderr, StringComparison.Ordinal);
            Assert.Equal(CliApp.DataError, JsonDocument.Parse(stdout).RootElement.GetProperty("error").GetProperty("exitCode").GetInt32());
        }
    }

    private static bool IsAllZero(string path)
    {
        foreach (byte b in File.ReadAllBytes(path))
        {
            if (b != 0)
            {
                return false;
            }
        }
        return true;
    }

    // A small NTFS volume whose \hiberfil.sys starts with "HIBR", as Windows leaves it when it hibernates.
    private static string HibernatedVolume(string path)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
        file.SetLength(16L << 20);
        NtfsFormatter.Format(file);
        using NtfsVolume volume = NtfsVolume.Open(file, new NtfsOpenOptions { Writable = true, LeaveOpen = true });
        byte[] hiberfil = new byte[4096];
        "HIBR"u8.CopyTo(hiberfil);
        volume.WriteFile(@"\hiberfil.sys", hiberfil);
        volume.Flush();
        return path;
    }
}
