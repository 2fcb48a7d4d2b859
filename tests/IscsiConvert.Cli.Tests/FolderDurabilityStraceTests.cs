using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// The system calls that make a file's name durable on Linux, as strace sees the real CLI make them (the crash tests
/// check the order through the storage layer's seam; this checks that the folder really is fsynced): an in-place write
/// fsyncs the journal, then the journal's folder, before its first write to the image, and fsyncs the folder again after
/// deleting the journal; `disk convert` fsyncs the output's folder after renaming OUT.partial into place, and `reg set` on
/// a hive file after renaming the saved hive over the old one.
/// </summary>
public sealed partial class FolderDurabilityStraceTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void An_in_place_write_fsyncs_the_journals_folder_before_touching_the_image_and_after_deleting_the_journal()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "folder fsync is a Linux matter; elsewhere it is a no-op");
        string image = _tmp.File("disk.raw");
        using (var f = new FileStream(image, FileMode.CreateNew))
        {
            f.SetLength(16 << 20);
        }
        string journal = image + ".iscsiconvert-journal";
        string folder = Path.GetDirectoryName(image)!;

        List<string> calls = Trace("disk", "format", image);

        int journalSync = calls.FindIndex(c => IsCall(c, "fsync", journal) || IsCall(c, "fdatasync", journal));
        int firstImageWrite = calls.FindIndex(c => IsCall(c, "pwrite64", image) || IsCall(c, "write", image));
        int folderSync = calls.FindIndex(journalSync + 1, c => IsCall(c, "fsync", folder));
        int unlink = calls.FindIndex(c => c.StartsWith("unlink", StringComparison.Ordinal) && c.Contains('"' + journal + '"', StringComparison.Ordinal));
        string all = string.Join("\n", calls);
        Assert.True(journalSync >= 0, "the journal was never fsynced:\n" + all);
        Assert.True(firstImageWrite > journalSync, "the image was written before the journal was made durable:\n" + all);
        Assert.True(folderSync > journalSync && folderSync < firstImageWrite, "the journal's folder was not fsynced between the journal's fsync and the first image write:\n" + all);
        Assert.True(unlink > firstImageWrite, "the journal was not deleted after the image was written:\n" + all);
        Assert.True(calls.FindIndex(unlink + 1, c => IsCall(c, "fsync", folder)) > unlink, "the folder was not fsynced after the journal was deleted:\n" + all);
        Assert.False(File.Exists(journal));
    }

    [Fact]
    public void Disk_convert_fsyncs_the_folder_after_renaming_the_partial_output_into_place()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "folder fsync is a Linux matter; elsewhere it is a no-op");
        string source = _tmp.File("source.raw");
        using (var f = new FileStream(source, FileMode.CreateNew))
        {
            f.SetLength(4 << 20);
            f.Position = 1 << 20;
            f.Write(Enumerable.Range(0, 4096).Select(i => (byte)(i * 13)).ToArray());
        }
        string output = _tmp.File("out.qcow2");
        string folder = Path.GetDirectoryName(output)!;

        List<string> calls = Trace("disk", "convert", source, output, "--format", "qcow2");

        AssertFolderFsyncedAfterRename(calls, output + ".partial", output, folder);
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void Reg_set_on_a_hive_file_fsyncs_the_folder_after_renaming_the_saved_hive_into_place()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "folder fsync is a Linux matter; elsewhere it is a no-op");
        string hive = _tmp.File("SOFTWARE");
        IscsiConvert.Registry.RegistryHive.Create(hive, null).Dispose();
        string folder = Path.GetDirectoryName(hive)!;

        List<string> calls = Trace("reg", "set", hive, @"Durable\Key", "Value", "--type", "REG_DWORD", "--data", "1");

        AssertFolderFsyncedAfterRename(calls, hive + ".saving", hive, folder);
    }

    // The rename of `from` to `to` was traced, and the folder was fsynced after it.
    private static void AssertFolderFsyncedAfterRename(List<string> calls, string from, string to, string folder)
    {
        int rename = calls.FindIndex(c => c.StartsWith("rename", StringComparison.Ordinal) && c.Contains('"' + from + '"', StringComparison.Ordinal) && c.Contains('"' + to + '"', StringComparison.Ordinal));
        string all = string.Join("\n", calls);
        Assert.True(rename >= 0, $"{from} was not renamed to {to}:\n" + all);
        Assert.True(calls.FindIndex(rename + 1, c => IsCall(c, "fsync", folder)) > rename, "the folder was not fsynced after the rename:\n" + all);
    }

    // A call on a descriptor strace -y names by its path: "fsync(5</tmp/x>) = 0".
    private static bool IsCall(string line, string call, string path) =>
        line.StartsWith(call + "(", StringComparison.Ordinal) && line.Contains('<' + path + '>', StringComparison.Ordinal);

    /// <summary>Runs the CLI (the built iscsi-convert.dll) under strace and returns the traced calls, one per line,
    /// without the process ids; the CLI must succeed.</summary>
    private List<string> Trace(params string[] args)
    {
        Oracle.Require("strace");
        string log = _tmp.File("strace.log");
        var start = new ProcessStartInfo("strace")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-f", "-qq", "-y", "-o", log, "-e", "trace=fsync,fdatasync,pwrite64,write,rename,renameat,renameat2,link,linkat,unlink,unlinkat", "dotnet", Path.Combine(AppContext.BaseDirectory, "iscsi-convert.dll") }.Concat(args))
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"strace iscsi-convert {string.Join(' ', args)} exited {process.ExitCode}:\n{stdout}{stderr}");
        return File.ReadAllLines(log).Select(l => Pid().Replace(l, string.Empty)).Where(l => !l.Contains("resumed>", StringComparison.Ordinal)).ToList();
    }

    [GeneratedRegex(@"^\d+\s+")]
    private static partial Regex Pid();
}
