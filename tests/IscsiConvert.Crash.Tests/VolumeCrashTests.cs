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
/// Every crash point of the NTFS writer's commit (<see cref="NtfsVolume.Flush"/>) and of a whole preparation
/// (<see cref="IscsiBoot"/> Apply on the real Windows 7 and Windows 10 SYSTEM hives, with a driver package), on raw
/// volumes made by mkntfs and filled by ntfs-3g. What the commit promises, and this checks at every point: the volume
/// is either clean — and then ntfsfix -n and our Verify accept it and ntfs-3g sees exactly the old or exactly the new
/// tree and file contents — or it is marked dirty (the $Volume flag as ntfsinfo reads it), so Windows runs chkdsk
/// before using it and our writer refuses it. A dirty point is NOT the old or the new state: the commit writes in place
/// with no $LogFile records, so what chkdsk makes of it is not checked here (docs/reliability.md gives the counts of
/// dirty points that ntfsfix -n and Verify still accept).
/// </summary>
public sealed class VolumeCrashTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly ITestOutputHelper _output;

    public VolumeCrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Every_crash_point_of_an_ntfs_commit_is_the_old_volume_the_new_volume_or_marked_dirty()
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

        Run("ntfs", volume, files, () =>
        {
            using VirtualDisk disk = DiskImage.Open(volume, DiskAccess.ReadWrite);
            using (NtfsVolume v = NtfsVolume.Open(disk.Content, new NtfsOpenOptions { Writable = true, LeaveOpen = true }))
            {
                v.CreateDirectory(@"\a\b");
                v.WriteFile(@"\a\b\small.txt", new MemoryStream(new byte[] { 1, 2, 3, 4, 5 }));
                v.WriteFile(@"\a\big.bin", new MemoryStream(big));
                v.WriteFile(@"\a\b\replaced.txt", new MemoryStream(new byte[5000]));
                v.WriteFile(@"\a\b\replaced.txt", new MemoryStream(big, 0, 7000));
                v.Flush();
            }
            disk.Flush();
        });
    }

    public static TheoryData<string> Windows => new() { "win7", "win10" };

    [Theory]
    [MemberData(nameof(Windows))]
    public void Every_crash_point_of_a_preparation_is_the_old_volume_the_new_volume_or_marked_dirty(string windows)
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
        string package = TestNicPackage.Write(_tmp, "ivnic");
        string[] files = { "/Windows/System32/config/SYSTEM", "/Windows/System32/drivers/ivnic.sys" };

        Run(windows, image, files, () =>
        {
            using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
            using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true)))
            {
                IscsiBootPlan plan = IscsiBoot.For(w).ForTarget(target).WithBootAdapter(TestNicPackage.Device).WithDriverPackage(package)
                    .WithTimeProvider(new FixedClock()).Apply();
                Assert.NotEmpty(plan.Changes);
            }
            disk.Flush();
        });
    }

    private void Run(string name, string volume, IReadOnlyList<string> files, Action operation)
    {
        string oldState = NtfsCrashCheck.Fingerprint(volume, files);
        WriteJournal journal = CrashHarness.Record(operation);
        string newState = NtfsCrashCheck.Fingerprint(volume, files);
        Assert.NotEqual(oldState, newState);

        int clean = 0, dirty = 0, dirtyNtfsfixRefuses = 0, dirtyVerifyRefuses = 0;
        int points = journal.Replay(point => CrashHarness.Describe(point, () =>
        {
            NtfsCrashState s = NtfsCrashCheck.Inspect(volume, files);
            if (s.Dirty)
            {
                Assert.False(point.IsComplete, "the complete commit left the volume dirty");
                dirty++;
                dirtyNtfsfixRefuses += s.NtfsfixAccepts ? 0 : 1;
                dirtyVerifyRefuses += s.VerifyAccepts ? 0 : 1;
                return;
            }
            clean++;
            Assert.True(s.NtfsfixAccepts, "ntfsfix -n refuses a volume marked clean");
            Assert.True(s.VerifyAccepts, "our Verify finds problems on a volume marked clean");
            Assert.True(s.Fingerprint == oldState || s.Fingerprint == newState, "the volume is marked clean but is neither the old nor the new volume");
            if (point.IsComplete)
            {
                Assert.Equal(newState, s.Fingerprint);
            }
        }));
        _output.WriteLine($"{name}: {journal.WriteCount} writes, {points} crash points checked: {clean} clean (old or new), {dirty} marked dirty " +
            $"(of which ntfsfix -n refuses {dirtyNtfsfixRefuses}, our Verify {dirtyVerifyRefuses})");
        Assert.True(clean >= 2 && dirty >= 1, $"{clean} clean and {dirty} dirty points: the commit was not cut where it matters");
    }

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    }
}
