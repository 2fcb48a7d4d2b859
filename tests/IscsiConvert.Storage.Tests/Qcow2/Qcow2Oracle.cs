using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Qcow2;

/// <summary>Helpers around qemu-img / qemu-io for the QCOW2 tests: making images and comparing our reads with qemu's.</summary>
internal static class Qcow2Oracle
{
    /// <summary>`qemu-img create -f qcow2 [-o opts] path size`.</summary>
    public static void Create(string path, string size, string? options = null, string? backing = null, string? backingFormat = null)
    {
        var args = new List<string> { "create", "-q", "-f", "qcow2" };
        if (options is not null)
        {
            args.Add("-o");
            args.Add(options);
        }
        if (backing is not null)
        {
            args.Add("-b");
            args.Add(backing);
            args.Add("-F");
            args.Add(backingFormat ?? "qcow2");
        }
        args.Add(path);
        if (size.Length > 0)
        {
            args.Add(size);
        }
        Oracle.RunChecked("qemu-img", args.ToArray());
    }

    /// <summary>Runs qemu-io commands (each a -c argument) on a qcow2 file.</summary>
    public static void Io(string path, params string[] commands)
    {
        var args = new List<string> { "-f", "qcow2" };
        foreach (string c in commands)
        {
            args.Add("-c");
            args.Add(c);
        }
        args.Add(path);
        string output = Oracle.RunChecked("qemu-io", args.ToArray());
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads the whole virtual disk through our code.</summary>
    public static byte[] ReadAll(VirtualDisk disk)
    {
        byte[] all = new byte[disk.Capacity];
        int n = disk.Content.ReadAt(0, all);
        Assert.Equal(all.Length, n);
        return all;
    }

    /// <summary>Asserts that our read of <paramref name="image"/> equals qemu-img's raw conversion byte for byte.</summary>
    public static void AssertReadsAsQemu(string image, TempDir tmp)
    {
        string raw = tmp.File(Path.GetFileName(image) + "." + Guid.NewGuid().ToString("N") + ".raw");
        QemuImg.ConvertToRaw(image, "qcow2", raw);
        using VirtualDisk disk = DiskImage.Open(image);
        Assert.Equal(DiskFormat.Qcow2, disk.Format);
        AssertSameBytes(File.ReadAllBytes(raw), ReadAll(disk));
    }

    /// <summary>Equal arrays, reporting the first differing offset.</summary>
    public static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int diff = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(diff == expected.Length, $"first difference at byte 0x{diff:X}: expected 0x{(diff < expected.Length ? expected[diff] : 0):X2}, got 0x{(diff < actual.Length ? actual[diff] : 0):X2}");
    }

    /// <summary>`qemu-img check` must report neither errors nor leaks.</summary>
    public static void AssertClean(string path)
    {
        ToolResult r = Oracle.Run("qemu-img", "check", "-f", "qcow2", path);
        Assert.True(r.ExitCode == 0, $"qemu-img check exited {r.ExitCode} (1 = errors, 3 = leaks):\n{r.StdOut}\n{r.StdErr}");
        Assert.Contains("No errors were found on the image.", r.StdOut, StringComparison.Ordinal);
    }
}
