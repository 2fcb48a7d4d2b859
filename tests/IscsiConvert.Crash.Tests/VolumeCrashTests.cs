using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using IscsiConvert.Windows;
using IscsiConvert.Windows.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>
/// Every crash point of the NTFS writer's commit (<see cref="NtfsVolume.Flush"/>) inside a write transaction of the
/// disk, and of a whole preparation (<see cref="IscsiBoot"/> Apply on the real Windows 7 and Windows 10 SYSTEM hives,
/// with a driver package, which runs in one transaction), on volumes made by mkntfs and filled by ntfs-3g — raw, and
/// converted to QCOW2 and VHDX by qemu-img. At every point, the image is "reopened" by our storage layer (which finishes
/// a committed journal or discards an unfinished one) and then it must be exactly the old or exactly the new volume:
/// qemu-img check accepts the container, the volume is clean (ntfsinfo), ntfsfix -n and our Verify accept it, and
/// ntfs-3g sees exactly the old or exactly the new tree and file contents (ntfsls -R, ntfscat hashed — the SYSTEM hive
/// and the driver among them). docs/reliability.md has the counts.
/// </summary>
public sealed class VolumeCrashTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly ITestOutputHelper _output;

    public VolumeCrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Every_crash_point_of_an_ntfs_commit_in_a_transaction_is_the_old_or_the_new_volume()
    {
        string volume = _tmp.File("volume.raw");
        using (var f = new FileStream(volume, FileMode.CreateNew))
        {
            f.SetLength(16L << 20);
        }
        Oracle.RunChecked("mkntfs", "-F", "-Q", "-q", "-L", "crash", volume);
        string[] files = { "/a/b/small.txt", "/a/big.bin", "/a/b/replaced.txt" };
        var big = new byte[300_000];
        new Random(5).NextBytes(big);

        Run("ntfs", "raw", volume, files, () =>
        {
            using VirtualDisk disk = DiskImage.Open(volume, DiskAccess.ReadWrite);
            using DiskWriteTransaction transaction = disk.BeginWriteTransaction();
            using (NtfsVolume v = NtfsVolume.Open(disk.Content, new NtfsOpenOptions { Writable = true, LeaveOpen = true }))
            {
                v.CreateDirectory(@"\a\b");
                v.WriteFile(@"\a\b\small.txt", new MemoryStream(new byte[] { 1, 2, 3, 4, 5 }));
                v.WriteFile(@"\a\big.bin", new MemoryStream(big));
                v.WriteFile(@"\a\b\replaced.txt", new MemoryStream(new byte[5000]));
                v.WriteFile(@"\a\b\replaced.txt", new MemoryStream(big, 0, 7000));
                v.Flush();
            }
            transaction.Commit();
        });
    }

    public static TheoryData<string, string> Preparations => new()
    {
        { "win7", "raw" },
        { "win10", "raw" },
        { "win7", "qcow2" },
        { "win10", "vhdx" },
    };

    [Theory]
    [MemberData(nameof(Preparations))]
    public void Every_crash_point_of_a_preparation_is_the_old_or_the_new_image(string windows, string format)
    {
        (string hive, TargetOs target) = windows == "win7"
            ? ("registry/win7-system/SYSTEM", new TargetOs("x86", 6, 1, 7601))
            : ("registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp", TargetOs.Windows10X64);
        string real = TestData.Require(hive);
        string image = NtfsImageBuilder.Build(_tmp, _tmp.File(windows + ".raw"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(real, Path.Combine(config, "SYSTEM"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
        });
        if (format != "raw")
        {
            string converted = _tmp.File(windows + "." + format);
            Oracle.RunChecked("qemu-img", "convert", "-f", "raw", "-O", format, image, converted);
            image = converted;
        }
        string package = TestNicPackage.Write(_tmp, "ivnic");
        string[] files = { "/Windows/System32/config/SYSTEM", "/Windows/System32/drivers/ivnic.sys" };

        Run(windows, format, image, files, () =>
        {
            using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
            using WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true));
            IscsiBootPlan plan = IscsiBoot.For(w).ForTarget(target).WithBootAdapter(TestNicPackage.Device).WithDriverPackage(package)
                .WithTimeProvider(new FixedClock()).Apply();
            Assert.NotEmpty(plan.Changes);
        });
    }

    private void Run(string name, string format, string image, IReadOnlyList<string> files, Action operation)
    {
        string scratch = Directory.CreateDirectory(_tmp.File("scratch-" + name + "-" + format)).FullName;
        string oldState = NtfsCrashCheck.Fingerprint(AsRaw(image, format, scratch), files);
        WriteJournal journal = CrashHarness.Record(operation);
        string newState = NtfsCrashCheck.Fingerprint(AsRaw(image, format, scratch), files);
        Assert.NotEqual(oldState, newState);

        int olds = 0, news = 0, finished = 0;
        int points = journal.Replay(point => CrashHarness.Describe(point, () =>
        {
            finished += File.Exists(image + ".iscsiconvert-journal") ? 1 : 0;
            string copy = CrashHarness.RecoveredCopy(image, scratch);
            if (format != "raw")
            {
                ToolResult check = Oracle.Run("qemu-img", "check", "-f", format, copy);
                Assert.True(check.ExitCode == 0, $"qemu-img check exited {check.ExitCode}:\n{check.StdOut}{check.StdErr}");
            }
            NtfsCrashState s = NtfsCrashCheck.Inspect(AsRaw(copy, format, scratch), files);
            Assert.False(s.Dirty, "the volume is marked dirty");
            Assert.True(s.NtfsfixAccepts, "ntfsfix -n refuses the volume");
            Assert.True(s.VerifyAccepts, "our Verify finds problems on the volume");
            Assert.True(s.Fingerprint == oldState || s.Fingerprint == newState, "the volume is neither the old nor the new volume");
            Assert.True(!point.IsComplete || s.Fingerprint == newState, "the complete operation is not the new volume");
            olds += s.Fingerprint == oldState ? 1 : 0;
            news += s.Fingerprint == newState ? 1 : 0;
        }));
        _output.WriteLine($"{name} on {format}: {journal.WriteCount} writes, {points} crash points checked: {olds} old, {news} new " +
            $"({finished} with a journal beside the image)");
        Assert.Equal(points, olds + news);
        Assert.True(olds >= 2 && news >= 2, $"{olds} old and {news} new points: the operation was not cut where it matters");
    }

    // The raw volume of an image, as qemu reads it (the image itself when it is raw).
    private static string AsRaw(string image, string format, string scratch)
    {
        if (format == "raw")
        {
            return image;
        }
        string raw = Path.Combine(scratch, "volume.raw");
        File.Delete(raw);
        QemuImg.ConvertToRaw(image, format, raw);
        return raw;
    }

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    }
}
