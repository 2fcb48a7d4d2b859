using System.Text.RegularExpressions;
using Xunit;

namespace IscsiConvert.Cli.Tests;

public class DemoCliTests
{
    [Fact]
    public void Demo_runs_on_a_fresh_machine_and_says_what_it_did()
    {
        var result = CliRunner.Run("demo");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains("virtual size:", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("Done.", result.StdOut, System.StringComparison.Ordinal);
        // The closing lines say what the engine does today (both Windows families, --driver) and what to run next.
        Assert.Contains("Windows 8 and later get the driver staged", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("--driver DIR", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("'iscsi-convert inspect IMAGE', then 'iscsi-convert prepare IMAGE --nic ID --dry-run'", result.StdOut, System.StringComparison.Ordinal);
        Assert.DoesNotContain("Next in the engine", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("formatted as NTFS", result.StdOut, System.StringComparison.Ordinal);
        // Step 2 is `prepare --output CHILD`: the child over the untouched parent, the parent's hash the same after.
        Assert.Contains("   child:  windows-sample-child.vhdx (vhdx ", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("   parent: windows-sample.vhdx", result.StdOut, System.StringComparison.Ordinal);
        string before = Regex.Match(result.StdOut, "parent SHA-256 before: ([0-9A-F]{64})").Groups[1].Value;
        Assert.Matches("^[0-9A-F]{64}$", before);
        Assert.Contains("parent SHA-256 after:  " + before, result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("parent unchanged: yes", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("read back from the child (iscsi-convert inspect): service E1G60 start 0 (0 = boot)", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("read back from the parent: service E1G60 start 3 (as it was)", result.StdOut, System.StringComparison.Ordinal);
        Assert.DoesNotContain("same content: NO", result.StdOut, System.StringComparison.Ordinal);
        Assert.Equal(4, Regex.Matches(result.StdOut, "same content: yes").Count);
        Assert.Contains(@"SYSTEM\ControlSet001\Services\E1G60\Start = REG_DWORD 0 (was 3)", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("volume clean: yes", result.StdOut, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_output_is_what_qemu_img_sees()
    {
        using var tmp = new IscsiConvert.Tests.TempDir();
        var result = CliRunner.Run("demo", "--output-dir", tmp.Path);
        Assert.True(result.ExitCode == 0, result.StdErr);

        // qemu-img is the oracle for the images the demo made: the child reads through its parent, and each
        // converted copy holds the same bytes as the child.
        string child = tmp.File("windows-sample-child.vhdx");
        string raw = tmp.File("windows-sample-merged.img");
        IscsiConvert.Tests.QemuImg.Check(tmp.File("windows-sample.vhdx"), "vhdx");
        // A converted VHD keeps the disk's exact size (the footer's current size, with the "use current size" CHS
        // that qemu and Hyper-V honour; docs/storage.md), so the backup GPT header stays on the last sector.
        string vhd = tmp.File("windows-sample-merged.vhd");
        long rawSize = IscsiConvert.Tests.QemuImg.Info(raw, "raw").GetProperty("virtual-size").GetInt64();
        Assert.Equal(rawSize, IscsiConvert.Tests.QemuImg.Info(vhd, "vpc").GetProperty("virtual-size").GetInt64());
        IscsiConvert.Tests.QemuImg.AssertIdentical(raw, "raw", vhd, "vpc");
        IscsiConvert.Tests.QemuImg.AssertIdentical(raw, "raw", tmp.File("windows-sample-merged.vmdk"), "vmdk");
        IscsiConvert.Tests.QemuImg.AssertIdentical(raw, "raw", tmp.File("windows-sample-merged.qcow2"), "qcow2");

        // The differencing child: it opens with its parent (qemu-img cannot open VHDX children, so our `disk info`
        // names the chain), holds the changes (its SYSTEM hive read by hivexget) while the parent's hive does not, and
        // the parent's file has the SHA-256 the demo printed before it wrote the child.
        string parent = tmp.File("windows-sample.vhdx");
        var (code, info, stderr) = CliRunner.Run("disk", "info", child);
        Assert.True(code == 0, stderr);
        Assert.Contains("  -> " + parent, info, System.StringComparison.Ordinal);
        string before = Regex.Match(result.StdOut, "parent SHA-256 before: ([0-9A-F]{64})").Groups[1].Value;
        Assert.Matches("^[0-9A-F]{64}$", before);
        Assert.Equal(before, System.Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.IO.File.ReadAllBytes(parent))));
        Assert.Equal("0", HiveValue(tmp, child, "child", @"ControlSet001\Services\E1G60", "Start"));
        Assert.Equal("E1G60", HiveValue(tmp, child, "child", @"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e", "Service"));
        Assert.Equal("3", HiveValue(tmp, parent, "parent", @"ControlSet001\Services\E1G60", "Start"));

        // sgdisk reads the GPT the demo laid out, from qemu's raw copy.
        string sgdisk = IscsiConvert.Tests.Oracle.RunChecked("sgdisk", "-v", raw);
        Assert.Contains("No problems found", sgdisk, System.StringComparison.Ordinal);

        // sleuthkit finds the NTFS volume the demo formatted in the Windows partition.
        string partition = IscsiConvert.Tests.Oracle.RunChecked("sgdisk", "-i", "3", raw);
        string first = Regex.Match(partition, @"First sector: (\d+)").Groups[1].Value;
        string fsstat = IscsiConvert.Tests.Oracle.RunChecked("fsstat", "-o", first, raw);
        Assert.Contains("File System Type: NTFS", fsstat, System.StringComparison.Ordinal);
        Assert.Contains("Volume Name: Windows", fsstat, System.StringComparison.Ordinal);

        // The registry changes that made it iSCSI-bootable, as hivex reads them from the SYSTEM hive that sleuthkit
        // copies out of the volume; the volume is one ntfsfix finds nothing to fix in.
        string line = System.Array.Find(IscsiConvert.Tests.Oracle.RunChecked("fls", "-o", first, "-r", "-p", raw).Split('\n'),
            l => l.EndsWith("\tWindows/System32/config/SYSTEM", System.StringComparison.Ordinal))!;
        string inode = line.Split(' ')[1].Split(':')[0];
        string hive = tmp.File("SYSTEM.from-demo");
        IscsiConvert.Tests.Oracle.RunChecked("sh", "-c", $"icat -o {first} '{raw}' {inode} > '{hive}'");
        Assert.Equal("0", IscsiConvert.Tests.Oracle.RunChecked("hivexget", hive, @"ControlSet001\Services\E1G60", "Start").Trim());
        Assert.Equal("E1G60", IscsiConvert.Tests.Oracle.RunChecked("hivexget", hive, @"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e", "Service").Trim());
        Assert.Equal("{4D36E972-E325-11CE-BFC1-08002BE10318}",
            IscsiConvert.Tests.Oracle.RunChecked("hivexget", hive, @"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e&subsys_001e8086&rev_02", "ClassGUID").Trim());
        string part = tmp.File("windows.part");
        IscsiConvert.Tests.Oracle.RunChecked("sh", "-c", $"dd if='{raw}' of='{part}' bs=512 skip={first} count=$(( $(sgdisk -i 3 '{raw}' | sed -n 's/^Last sector: \\([0-9]*\\).*/\\1/p') - {first} + 1 )) status=none");
        var fix = IscsiConvert.Tests.Oracle.Run("ntfsfix", "-n", part);
        Assert.True(fix.ExitCode == 0 && fix.StdOut.Contains("alternate boot sector... OK", System.StringComparison.Ordinal), fix.StdOut + fix.StdErr);
    }

    // A value of the SYSTEM hive of the image's Windows partition (3), the hive copied out by our `fs cat` (which reads
    // a VHDX child through its parent), the value read by hivexget.
    private static string HiveValue(IscsiConvert.Tests.TempDir tmp, string image, string name, string key, string value)
    {
        string hive = tmp.File("SYSTEM.from-" + name);
        var (code, _, stderr) = CliRunner.Run("fs", "cat", image, @"\Windows\System32\config\SYSTEM", "--partition", "3", "--output", hive);
        Assert.True(code == 0, stderr);
        return IscsiConvert.Tests.Oracle.RunChecked("hivexget", hive, key, value).Trim();
    }
}
