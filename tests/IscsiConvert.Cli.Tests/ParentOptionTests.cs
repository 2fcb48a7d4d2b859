using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `--parent PATH` names the moved parent of a differencing image; given for an image that has no parent (or for a
/// hive file) it would do nothing, so every command that takes it says so as a usage error (2) and writes nothing.
/// The commands are found in the command tree, so that one given --parent later is not left out.
/// </summary>
public sealed class ParentOptionTests : IClassFixture<MatchImages>
{
    private readonly MatchImages _images;

    public ParentOptionTests(MatchImages images)
    {
        _images = images;
    }

    /// <summary>
    /// Every command that takes --parent reads through a QCOW2 child (made by qemu-img) whose raw parent, a Windows 7
    /// volume, was renamed: without --parent each stops with exit 1 and says to use it; with it each succeeds (the
    /// writes as dry runs), and neither the child nor the parent changes.
    /// </summary>
    [Fact]
    public void Every_command_that_takes_parent_reads_through_a_moved_parent()
    {
        (string dir, string child, string moved) = _images.Win7ChildWithMovedParent("parent-option");
        string local = Path.Combine(dir, "local.txt");
        File.WriteAllText(local, "x");
        string regFile = Path.Combine(dir, "change.reg");
        File.WriteAllText(regFile, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n\"ParentTest\"=dword:00000001\r\n", Encoding.Unicode);
        string childBefore = Sha256(child), parentBefore = Sha256(moved);
        var arguments = new Dictionary<string, string[]>
        {
            ["disk info"] = new[] { child },
            ["disk convert"] = new[] { child, Path.Combine(dir, "out.raw"), "--format", "raw" },
            ["disk format"] = new[] { child, "--dry-run", "--force" },
            ["fs ls"] = new[] { child, "/Windows" },
            ["fs cat"] = new[] { child, "/Windows/System32/config/SYSTEM", "-o", Path.Combine(dir, "SYSTEM") },
            ["fs check"] = new[] { child },
            ["fs put"] = new[] { child, local, "/local.txt", "--dry-run" },
            ["fs mkdir"] = new[] { child, "/d", "--dry-run" },
            ["fs rm"] = new[] { child, "/Windows/System32/config/SYSTEM", "--dry-run" },
            ["inspect"] = new[] { child },
            ["match"] = new[] { child, "--hwid", @"PCI\VEN_8086&DEV_100E" },
            ["prepare"] = new[] { child, "--nic", @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02", "--dry-run" },
            ["reg export"] = new[] { child, "--hive", "SYSTEM", "Select" },
            ["reg set"] = new[] { child, "--hive", "SYSTEM", "Select", "V", "-t", "REG_SZ", "-d", "x", "--dry-run" },
            ["reg delete"] = new[] { child, "--hive", "SYSTEM", "Select", "Current", "--dry-run" },
            ["reg import"] = new[] { child, regFile, "--hive", "SYSTEM", "--dry-run" },
        };
        Assert.Equal(arguments.Keys.Order(StringComparer.Ordinal), CommandsTakingParent().Order(StringComparer.Ordinal));
        foreach ((string command, string[] args) in arguments)
        {
            string[] line = [.. command.Split(' '), .. args];
            if (command != "disk info")
            {
                // disk info reports a child whose parent is missing (as qemu-img info); the others stop.
                var (failed, _, error) = CliRunner.Run(line);
                Assert.True(failed == CliApp.DataError, $"{command} without --parent: exit {failed}: {error}");
                Assert.Contains("--parent", error, StringComparison.Ordinal);
            }
            var (code, _, stderr) = CliRunner.Run([.. line, "--parent", moved]);
            Assert.True(code == CliApp.Success, $"{command} --parent: exit {code}: {stderr}");
        }
        Assert.Equal(childBefore, Sha256(child));
        Assert.Equal(parentBefore, Sha256(moved));
        // What was read through the child is the parent's: the converted disk, and the hive copied out is the file
        // the fixture put on the parent's volume (through ntfs-3g).
        Assert.Equal(parentBefore, Sha256(Path.Combine(dir, "out.raw")));
        Assert.Equal(Sha256(TestData.Require("registry/win7-system/SYSTEM")), Sha256(Path.Combine(dir, "SYSTEM")));
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static List<string> CommandsTakingParent() =>
        CommandsTakingParent(CliApp.BuildRoot(new CliConsole(TextWriter.Null, TextWriter.Null, false)), string.Empty).ToList();

    [Fact]
    public void Parent_for_an_image_that_is_not_a_differencing_image_is_a_usage_error_for_every_command_that_takes_it()
    {
        using var tmp = new TempDir();
        string image = tmp.File("plain.raw");
        File.WriteAllBytes(image, new byte[4 << 20]);
        string parent = tmp.File("parent.raw");
        File.WriteAllBytes(parent, new byte[4 << 20]);
        string local = tmp.File("local.txt");
        File.WriteAllText(local, "x");
        string regFile = tmp.File("change.reg");
        File.WriteAllText(regFile, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Test]\r\n\"a\"=\"b\"\r\n", Encoding.Unicode);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));

        // Arguments that get each command as far as opening IMAGE.
        var arguments = new Dictionary<string, string[]>
        {
            ["disk info"] = new[] { image },
            ["disk convert"] = new[] { image, tmp.File("out.vhdx"), "--format", "vhdx" },
            ["disk format"] = new[] { image },
            ["fs ls"] = new[] { image },
            ["fs cat"] = new[] { image, "/x" },
            ["fs check"] = new[] { image },
            ["fs put"] = new[] { image, local, "/local.txt" },
            ["fs mkdir"] = new[] { image, "/d" },
            ["fs rm"] = new[] { image, "/x" },
            ["inspect"] = new[] { image },
            ["match"] = new[] { image, "--hwid", @"PCI\VEN_8086&DEV_100E" },
            ["prepare"] = new[] { image, "--nic", @"PCI\VEN_8086&DEV_100E" },
            ["reg export"] = new[] { image, "--hive", "SYSTEM" },
            ["reg set"] = new[] { image, "--hive", "SYSTEM", "K", "V", "-t", "REG_SZ", "-d", "x" },
            ["reg delete"] = new[] { image, "--hive", "SYSTEM", "K", "V" },
            ["reg import"] = new[] { image, regFile, "--hive", "SYSTEM" },
        };
        Assert.Equal(arguments.Keys.Order(StringComparer.Ordinal), CommandsTakingParent().Order(StringComparer.Ordinal));

        foreach ((string command, string[] args) in arguments)
        {
            var (code, stdout, stderr) = CliRunner.Run([.. command.Split(' '), .. args, "--parent", parent, "--json"]);
            Assert.True(code == CliApp.UsageError, $"{command}: exit {code}: {stderr}");
            JsonElement error = JsonDocument.Parse(stdout).RootElement.GetProperty("error");
            Assert.Equal("usage", error.GetProperty("kind").GetString());
            string message = error.GetProperty("message").GetString()!;
            Assert.StartsWith("--parent: ", message, StringComparison.Ordinal);
            Assert.Contains(image, message, StringComparison.Ordinal);
            Assert.Contains("not a differencing image", message, StringComparison.Ordinal);
            Assert.DoesNotContain("(Parameter", message, StringComparison.Ordinal);
            Assert.Contains("Leave out --parent", stderr, StringComparison.Ordinal);
        }
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
        Assert.False(File.Exists(tmp.File("out.vhdx")));
        Assert.False(File.Exists(tmp.File("out.vhdx.partial")));
    }

    [Fact]
    public void Parent_with_a_qcow2_made_by_qemu_img_without_a_backing_file_is_a_usage_error()
    {
        // qemu-img says the image has no backing file; so must we, rather than ignore --parent.
        using var tmp = new TempDir();
        string image = tmp.File("alone.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "qcow2", image, "8M");
        Assert.False(QemuImg.Info(image).TryGetProperty("backing-filename", out _));
        var (code, _, stderr) = CliRunner.Run("disk", "info", image, "--parent", image);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("is a qcow2 image with no parent", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Parent_for_a_hive_file_is_a_usage_error()
    {
        string hive = TestData.Require("registry/win7-system/SYSTEM");
        foreach (string[] args in new[]
        {
            new[] { "reg", "export", hive, "Select" },
            new[] { "reg", "set", hive, "Select", "V", "-t", "REG_SZ", "-d", "x", "--dry-run" },
            new[] { "reg", "delete", hive, "Select", "Current", "--dry-run" },
        })
        {
            var (code, _, stderr) = CliRunner.Run([.. args, "--parent", hive]);
            Assert.True(code == CliApp.UsageError, $"{string.Join(" ", args)}: exit {code}: {stderr}");
            Assert.Contains("is a hive file, so leave --parent out", stderr, StringComparison.Ordinal);
        }
    }

    private static IEnumerable<string> CommandsTakingParent(Command command, string prefix)
    {
        foreach (Command sub in command.Subcommands)
        {
            string name = prefix.Length == 0 ? sub.Name : prefix + " " + sub.Name;
            // disk create's own --parent makes a new child: it is not the moved-parent option.
            if (name != "disk create" && sub.Options.Any(o => o.Name == "--parent"))
            {
                yield return name;
            }
            foreach (string inner in CommandsTakingParent(sub, name))
            {
                yield return inner;
            }
        }
    }
}
