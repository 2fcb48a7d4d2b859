using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>
/// Every crash point of replaying a VHDX log: Windows 10 Hyper-V's image with a pending log
/// (<c>vhdx-log-replay.vhdx</c>), opened read-write by us (which replays the log on disk) and closed. The replayed
/// data is written and flushed before the header clears the log GUID, so at every point either the log is still in
/// force (and replays again) or the replay is complete: qemu (replaying what is left, as Hyper-V would) passes
/// <c>qemu-img check</c> and reads the same virtual disk as the replayed image (whose content is the manifest's), and
/// our reader reads the same first 16 MiB (partition table and both partitions' starts).
/// </summary>
public sealed class VhdxLogReplayCrashTests : IDisposable
{
    // MANIFEST.md: sha256 of the 1 GiB virtual disk after replay (qemu-img replay + convert -O raw).
    private const string ReplayedSha256 = "3ba3b309425b7ff5e8e0199edceed95226250f880c53b24e8eae93865f3fad5e";
    private readonly TempDir _tmp = new();
    private readonly ITestOutputHelper _output;

    public VhdxLogReplayCrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Every_crash_point_of_a_log_replay_leaves_the_log_to_replay_again_or_the_replayed_image()
    {
        string image = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", _tmp.Path);
        WriteJournal journal = CrashHarness.Record(() =>
        {
            using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
        });
        // The reference: the replayed image as qemu reads it (its virtual disk checked against the manifest once), and
        // the first 16 MiB (the partition table and the start of both partitions) as our reader reads it.
        string reference = _tmp.File("reference.vhdx");
        File.Copy(image, reference);
        string raw = _tmp.File("reference.raw");
        QemuImg.ConvertToRaw(reference, "vhdx", raw);
        Assert.Equal(ReplayedSha256, Sha256(File.OpenRead(raw)));
        File.Delete(raw);
        byte[] head = Head(reference);

        string copy = _tmp.File("copy.vhdx");
        int points = journal.Replay(point => CrashHarness.Describe(point, () =>
        {
            File.Copy(image, copy, overwrite: true);
            Oracle.RunChecked("qemu-io", "-f", "vhdx", "-c", "quit", copy);
            QemuImg.Check(copy, "vhdx");
            QemuImg.AssertIdentical(copy, "vhdx", reference, "vhdx");
            Assert.True(Head(image).AsSpan().SequenceEqual(head), "our reader reads other bytes than the replayed image");
            File.Delete(copy);
        }));
        _output.WriteLine($"VHDX log replay: {journal.WriteCount} writes, {points} crash points checked");
        Assert.True(journal.WriteCount >= 2, $"only {journal.WriteCount} writes: the replay was not recorded");
    }

    private static byte[] Head(string image)
    {
        using VirtualDisk disk = DiskImage.Open(image);
        var bytes = new byte[16 << 20];
        disk.Content.Position = 0;
        disk.Content.ReadExactly(bytes);
        return bytes;
    }

    private static string Sha256(Stream s, bool leaveOpen = false)
    {
        try
        {
            return Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
        }
        finally
        {
            if (!leaveOpen)
            {
                s.Dispose();
            }
        }
    }
}
