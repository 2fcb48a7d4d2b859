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
        Assert.Contains("formatted as NTFS", result.StdOut, System.StringComparison.Ordinal);
        Assert.Contains("base unchanged: yes", result.StdOut, System.StringComparison.Ordinal);
        Assert.DoesNotContain("same content: NO", result.StdOut, System.StringComparison.Ordinal);
        Assert.Equal(4, Regex.Matches(result.StdOut, "same content: yes").Count);
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
        IscsiConvert.Tests.QemuImg.AssertIdentical(raw, "raw", tmp.File("windows-sample-merged.vhd"), "vpc");
        IscsiConvert.Tests.QemuImg.AssertIdentical(raw, "raw", tmp.File("windows-sample-merged.vmdk"), "vmdk");
        IscsiConvert.Tests.QemuImg.AssertIdentical(raw, "raw", tmp.File("windows-sample-merged.qcow2"), "qcow2");
        Assert.True(System.IO.File.Exists(child));

        // sgdisk reads the GPT the demo laid out, from qemu's raw copy.
        string sgdisk = IscsiConvert.Tests.Oracle.RunChecked("sgdisk", "-v", raw);
        Assert.Contains("No problems found", sgdisk, System.StringComparison.Ordinal);

        // sleuthkit finds the NTFS volume the demo formatted in the Windows partition.
        string partition = IscsiConvert.Tests.Oracle.RunChecked("sgdisk", "-i", "3", raw);
        string first = Regex.Match(partition, @"First sector: (\d+)").Groups[1].Value;
        string fsstat = IscsiConvert.Tests.Oracle.RunChecked("fsstat", "-o", first, raw);
        Assert.Contains("File System Type: NTFS", fsstat, System.StringComparison.Ordinal);
        Assert.Contains("Volume Name: Windows", fsstat, System.StringComparison.Ordinal);
    }
}
