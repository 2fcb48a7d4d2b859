using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>
/// Every crash point of a write session on each container — raw, VHD, VHDX (with its log), VMDK, QCOW2: an image made
/// by qemu-img with data in it, opened read-write by us, written at an allocated place, into a block not yet allocated,
/// and across a block boundary, then closed. After every write and inside every write (torn at half a sector, at the
/// sector and at the 4 KiB page), the image is checked: qemu-img check accepts it (after qemu replays a VHDX log, as
/// Hyper-V would), qemu and our reader read the same bytes, and every virtual sector holds its old or its new content
/// (writes are torn between sectors, as devices tear them).
/// </summary>
public sealed class ContainerCrashTests : IDisposable
{
    private const int MiB = 1 << 20;
    private const long Capacity = 8 * MiB;
    private readonly TempDir _tmp = new();
    private readonly ITestOutputHelper _output;

    public ContainerCrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    public static TheoryData<string> Formats => new() { "raw", "vpc", "vhdx", "vmdk", "qcow2" };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_crash_point_of_a_write_session_leaves_a_valid_container_holding_old_or_new_sectors(string format)
    {
        string image = _tmp.File("disk." + format);
        MakeFixture(image, format);
        string scratch = Directory.CreateDirectory(_tmp.File("scratch")).FullName;
        byte[] oldContent = CrashHarness.QemuContent(image, format, scratch);

        WriteJournal journal = CrashHarness.Record(() =>
        {
            using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
            foreach ((long at, byte[] data) in Edits())
            {
                disk.Content.Position = at;
                disk.Content.Write(data, 0, data.Length);
            }
            disk.Flush();
        });
        byte[] newContent = CrashHarness.QemuContent(image, format, scratch);
        foreach ((long at, byte[] data) in Edits())
        {
            Assert.Equal(data, newContent.AsSpan((int)at, data.Length).ToArray());
        }

        var leaks = new List<string>();
        int points = journal.Replay(point => CrashHarness.Describe(point, () =>
        {
            string copy = Path.Combine(scratch, "copy." + format);
            File.Copy(image, copy, overwrite: true);
            if (format == "vhdx")
            {
                // qemu opens a VHDX with a pending log read-only only after replaying it, read-write (as Hyper-V does).
                Oracle.RunChecked("qemu-io", "-f", "vhdx", "-c", "quit", copy);
            }
            if (format is "qcow2" or "vmdk" or "vhdx")
            {
                ToolResult check = Oracle.Run("qemu-img", "check", "-f", format, copy);
                // Exit 3 is "leaked clusters only": space allocated and not used, which qemu itself leaves after a
                // crash and calls harmless; 2 is corruption, 1 a failed check.
                Assert.True(check.ExitCode == 0 || (format == "qcow2" && check.ExitCode == 3), $"{point}: qemu-img check exited {check.ExitCode}:\n{check.StdOut}{check.StdErr}");
                if (check.ExitCode == 3)
                {
                    leaks.Add(point.ToString());
                }
            }
            byte[] qemu = CrashHarness.QemuContent(copy, format, scratch);
            string? wrong = CrashHarness.OldOrNewPerSector(qemu, oldContent, newContent, 0);
            Assert.True(wrong is null, $"{point}: {wrong}");
            byte[] ours = CrashHarness.OurContent(image);
            Assert.True(ours.AsSpan().SequenceEqual(qemu), $"{point}: our reader and qemu read different bytes");
            if (point.IsComplete)
            {
                Assert.Equal(newContent, qemu);
            }
            File.Delete(copy);
        }));
        _output.WriteLine($"{format}: {journal.WriteCount} writes, {points} crash points checked, {leaks.Count} with leaked clusters only");
        Assert.True(journal.WriteCount >= 3, $"only {journal.WriteCount} writes were recorded: the seam did not see the session");
    }

    /// <summary>At an allocated place, inside a block not allocated yet, and across a block boundary (2 MiB covers
    /// the VHD's and VHDX's blocks, 64 KiB VMDK grains and QCOW2 clusters).</summary>
    private static IEnumerable<(long At, byte[] Data)> Edits()
    {
        yield return (4096 + 512, Pattern(0xA0, 8192));
        yield return ((3 * MiB) + 1000, Pattern(0xB0, 5000));
        yield return ((6 * MiB) - 4096, Pattern(0xC0, 8192));
    }

    private static byte[] Pattern(int seed, int length) => Enumerable.Range(0, length).Select(i => (byte)(seed ^ (i * 7) ^ (i >> 8))).ToArray();

    private static void MakeFixture(string image, string format)
    {
        string[] options = format switch
        {
            "vpc" => new[] { "-o", "subformat=dynamic" },
            "vhdx" => new[] { "-o", "block_size=2M,log_size=1M,subformat=dynamic" },
            _ => Array.Empty<string>(),
        };
        Oracle.RunChecked("qemu-img", new[] { "create", "-f", format }.Concat(options).Concat(new[] { image, Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToArray());
        // Data in the first block, so that one edit lands in allocated space.
        Oracle.RunChecked("qemu-io", "-f", format, "-c", "write -P 0x11 0 1M", image);
    }
}
