using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>
/// The write transaction of the storage layer (<see cref="VirtualDisk.BeginWriteTransaction"/>, docs/formats/journal.md):
/// a rollback leaves the image byte-identical; a commit writes everything; every crash point of a committed transaction
/// — on raw, VHD, VHDX, VMDK and QCOW2 images made by qemu-img — is, after the next open by our storage layer, the whole
/// old disk or the whole new disk, as qemu reads it, with a container qemu-img check accepts; a journal torn or
/// stopped before its commit record is discarded; a journal that does not belong to the image is refused, nothing written.
/// </summary>
public sealed class WriteTransactionTests : IDisposable
{
    private const int MiB = 1 << 20;
    private const string JournalSuffix = ".iscsiconvert-journal";
    private readonly TempDir _tmp = new();
    private readonly ITestOutputHelper _output;

    public WriteTransactionTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    public static TheoryData<string> Formats => new() { "raw", "vpc", "vhdx", "vmdk", "qcow2" };

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_rolled_back_transaction_leaves_the_image_byte_identical_and_the_disk_unusable(string format)
    {
        string image = MakeFixture(format);
        byte[] before = File.ReadAllBytes(image);
        DateTime written = File.GetLastWriteTimeUtc(image);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using (DiskWriteTransaction tx = disk.BeginWriteTransaction())
            {
                Assert.True(File.Exists(tx.JournalPath));
                WriteEdits(disk);
                // Reads inside the transaction see its writes.
                var back = new byte[5000];
                disk.Content.Position = (3 * MiB) + 1000;
                disk.Content.ReadExactly(back);
                Assert.Equal(Pattern(0xB0, 5000), back);
                disk.Flush();
            }
            Assert.Throws<InvalidOperationException>(() => disk.Content.ReadByte());
            Assert.Throws<InvalidOperationException>(() => disk.BeginWriteTransaction());
        }
        Assert.Equal(before, File.ReadAllBytes(image));
        Assert.Equal(written, File.GetLastWriteTimeUtc(image));
        Assert.False(File.Exists(image + JournalSuffix));
        // The image opens again as it was.
        using (VirtualDisk again = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Assert.Equal(0x11, again.Content.ReadByte());
        }
    }

    [Fact]
    public void A_transaction_with_no_write_leaves_the_disk_usable()
    {
        string image = MakeFixture("qcow2");
        using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
        using (disk.BeginWriteTransaction())
        {
        }
        Assert.Equal(0x11, disk.Content.ReadByte());
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_committed_transaction_writes_everything_and_removes_its_journal(string format)
    {
        string image = MakeFixture(format);
        string scratch = Directory.CreateDirectory(_tmp.File("scratch")).FullName;
        byte[] old = CrashHarness.QemuContent(image, QemuFormat(format), scratch);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using DiskWriteTransaction tx = disk.BeginWriteTransaction();
            WriteEdits(disk);
            tx.Commit();
            Assert.True(tx.IsCommitted);
            Assert.False(File.Exists(tx.JournalPath));
            // The disk stays usable after a commit, outside any transaction.
            disk.Content.Position = 7 * MiB;
            disk.Content.Write(Pattern(0xD0, 512), 0, 512);
        }
        byte[] now = CrashHarness.QemuContent(image, QemuFormat(format), scratch);
        byte[] expected = Expected(old);
        Pattern(0xD0, 512).CopyTo(expected, 7 * MiB);
        Assert.True(expected.AsSpan().SequenceEqual(now), "qemu does not read what the transaction and the write after it wrote");
        if (format != "raw" && format != "vpc")
        {
            Assert.Equal(0, Oracle.Run("qemu-img", "check", "-f", QemuFormat(format), image).ExitCode);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_crash_point_of_a_transaction_is_the_whole_old_or_the_whole_new_disk_after_the_next_open(string format)
    {
        string image = MakeFixture(format);
        string scratch = Directory.CreateDirectory(_tmp.File("scratch")).FullName;
        string qemuFormat = QemuFormat(format);
        byte[] old = CrashHarness.QemuContent(image, qemuFormat, scratch);
        byte[] expected = Expected(old);

        WriteJournal journal = CrashHarness.Record(() =>
        {
            using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
            using DiskWriteTransaction tx = disk.BeginWriteTransaction();
            WriteEdits(disk);
            tx.Commit();
        });
        Assert.True(expected.AsSpan().SequenceEqual(CrashHarness.QemuContent(image, qemuFormat, scratch)), "the transaction did not write the edits");
        Assert.Contains(journal.Events, e => e.Kind == JournalEventKind.Delete && e.Path.EndsWith(JournalSuffix, StringComparison.Ordinal));

        int olds = 0, news = 0, finished = 0;
        int points = journal.Replay(point => CrashHarness.Describe(point, () =>
        {
            bool committedJournal = File.Exists(image + JournalSuffix) && EndsWithTrailer(image + JournalSuffix);
            if (committedJournal)
            {
                // Read-only, the replay cut short at this point reads as the finished write, and nothing is written.
                string hash = Sha256(image);
                Assert.True(expected.AsSpan().SequenceEqual(CrashHarness.OurContent(image)), "a read-only open does not read the committed write");
                Assert.Equal(hash, Sha256(image));
            }
            string copy = CrashHarness.RecoveredCopy(image, scratch);
            finished += committedJournal ? 1 : 0;
            if (format is "qcow2" or "vmdk" or "vhdx")
            {
                ToolResult check = Oracle.Run("qemu-img", "check", "-f", qemuFormat, copy);
                Assert.True(check.ExitCode == 0, $"qemu-img check exited {check.ExitCode}:\n{check.StdOut}{check.StdErr}");
            }
            byte[] content = CrashHarness.QemuContent(copy, qemuFormat, scratch);
            bool isOld = content.AsSpan().SequenceEqual(old);
            bool isNew = content.AsSpan().SequenceEqual(expected);
            Assert.True(isOld || isNew, "the disk is neither the whole old nor the whole new disk");
            Assert.True(!committedJournal || isNew, "a committed journal was not finished");
            Assert.True(!point.IsComplete || isNew, "the complete transaction is not the new disk");
            olds += isOld ? 1 : 0;
            news += isNew ? 1 : 0;
        }));
        _output.WriteLine($"{format}: {journal.WriteCount} writes, {points} crash points: {olds} old, {news} new, {finished} of them finished from a committed journal");
        Assert.True(olds > 0 && news > 0 && finished > 0, $"{olds} old, {news} new, {finished} finished: the crash points missed a phase of the commit");
        Assert.Equal(points, olds + news);
    }

    /// <summary>
    /// The write order that makes a commit survive a power loss, not only a process crash (docs/formats/journal.md):
    /// the journal's bytes are made durable and then its folder entry (on Linux a new file's fsync does not make its name
    /// durable), both before the first byte reaches the image; the image is made durable before the journal is cut; the
    /// cut is made durable before the delete, and the delete is made durable by flushing the folder again.
    /// </summary>
    [Theory]
    [MemberData(nameof(Formats))]
    public void A_commit_makes_the_journal_and_its_folder_entry_durable_before_touching_the_image_and_the_deletion_durable_after(string format)
    {
        string image = MakeFixture(format);
        string journalPath = image + JournalSuffix;
        WriteJournal recorded = CrashHarness.Record(() =>
        {
            using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
            using DiskWriteTransaction tx = disk.BeginWriteTransaction();
            WriteEdits(disk);
            tx.Commit();
        });
        IReadOnlyList<JournalEvent> events = recorded.Events;
        int Index(Func<JournalEvent, bool> match, int from = 0)
        {
            for (int i = from; i < events.Count; i++)
            {
                if (match(events[i]))
                {
                    return i;
                }
            }
            return -1;
        }
        int LastIndex(Func<JournalEvent, bool> match, int before)
        {
            for (int i = Math.Min(before, events.Count) - 1; i >= 0; i--)
            {
                if (match(events[i]))
                {
                    return i;
                }
            }
            return -1;
        }
        bool IsJournal(JournalEvent e) => e.Path == journalPath;
        bool IsImage(JournalEvent e) => !IsJournal(e) && e.Kind is JournalEventKind.Write or JournalEventKind.SetLength;
        string Trace() => string.Join("\n", events.Select((e, i) => $"{i}: {e.Kind} {Path.GetFileName(e.Path)} {e.Offset} {e.Bytes.Length}"));

        int created = Index(e => IsJournal(e) && e.Kind == JournalEventKind.Create);
        int firstImageWrite = Index(IsImage, Math.Max(created, 0));
        int committedFolder = Index(e => IsJournal(e) && e.Kind == JournalEventKind.FolderFlush, Math.Max(created, 0));
        int committedSync = LastIndex(e => IsJournal(e) && e.Kind == JournalEventKind.Sync, committedFolder);
        int lastJournalWrite = LastIndex(e => IsJournal(e) && e.Kind == JournalEventKind.Write, firstImageWrite);
        int cut = Index(e => IsJournal(e) && e.Kind == JournalEventKind.SetLength && e.Offset == 0, Math.Max(firstImageWrite, 0));
        // Writes the disk makes outside the transaction after its commit (a clean-close mark at dispose) do not count.
        int lastImageWrite = LastIndex(IsImage, cut < 0 ? events.Count : cut);
        int imageSync = LastIndex(e => !IsJournal(e) && e.Kind == JournalEventKind.Sync, cut);
        int cutSync = Index(e => IsJournal(e) && e.Kind == JournalEventKind.Sync, Math.Max(cut, 0));
        int deleted = Index(e => IsJournal(e) && e.Kind == JournalEventKind.Delete, Math.Max(cut, 0));
        int deletedFolder = Index(e => IsJournal(e) && e.Kind == JournalEventKind.FolderFlush, Math.Max(deleted, 0));

        Assert.True(created >= 0 && firstImageWrite > created, $"no journal, or no image write after it:\n{Trace()}");
        Assert.True(lastJournalWrite > created && committedSync > lastJournalWrite, $"the journal was not made durable after its last write:\n{Trace()}");
        Assert.True(committedFolder > committedSync && committedFolder < firstImageWrite, $"the journal's folder entry was not made durable between its fsync and the first image write:\n{Trace()}");
        Assert.True(cut > 0 && imageSync > lastImageWrite && imageSync < cut, $"the image was not made durable before the journal was cut:\n{Trace()}");
        Assert.True(cutSync > cut && deleted > cutSync, $"the journal's cut was not made durable before its deletion:\n{Trace()}");
        Assert.True(deletedFolder > deleted, $"the journal's deletion was not made durable:\n{Trace()}");
    }

    [Fact]
    public void A_journal_without_its_commit_record_is_deleted_by_a_writable_open_and_ignored_by_a_read_only_one()
    {
        string image = MakeFixture("raw");
        byte[] before = File.ReadAllBytes(image);
        string journal = image + JournalSuffix;
        File.WriteAllBytes(journal, "ICJRNL01"u8.ToArray().Concat(new byte[4000]).ToArray());
        using (VirtualDisk ro = DiskImage.Open(image))
        {
            Assert.Equal(0x11, ro.Content.ReadByte());
        }
        Assert.True(File.Exists(journal));
        using (DiskImage.Open(image, DiskAccess.ReadWrite))
        {
        }
        Assert.False(File.Exists(journal));
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void A_commit_record_torn_anywhere_is_an_incomplete_journal()
    {
        string image = MakeFixture("raw");
        byte[] old = File.ReadAllBytes(image);
        (byte[] complete, _, _) = CommittedJournal(image);
        int recordStart = (int)BitConverter.ToInt64(complete, complete.Length - 32);
        // Every cut inside the record and trailer, a flipped byte in the record or in the data: never replayed.
        var damaged = new List<byte[]>();
        for (int cut = recordStart; cut < complete.Length; cut += Math.Max(1, (complete.Length - recordStart) / 40))
        {
            damaged.Add(complete.AsSpan(0, cut).ToArray());
        }
        byte[] flipped = (byte[])complete.Clone();
        flipped[recordStart + 12] ^= 0x40;
        damaged.Add(flipped);
        // A flipped data byte leaves a record that parses: only the journal's CRC tells.
        byte[] flippedData = (byte[])complete.Clone();
        flippedData[16] ^= 0x01;
        damaged.Add(flippedData);
        foreach (byte[] journal in damaged)
        {
            File.WriteAllBytes(image, old);
            File.WriteAllBytes(image + JournalSuffix, journal);
            using (DiskImage.Open(image, DiskAccess.ReadWrite))
            {
            }
            Assert.False(File.Exists(image + JournalSuffix));
            Assert.True(old.AsSpan().SequenceEqual(File.ReadAllBytes(image)), $"a journal of {journal.Length} bytes (complete: {complete.Length}) changed the image");
        }
    }

    /// <summary>
    /// A read-only open of an image whose last write is committed but not finished reads the finished write, applied in
    /// memory (as a read-only open of a VHDX applies its log), and writes nothing; the next writable open finishes it in
    /// the file. The content is checked against qemu's reading of the image after the write.
    /// </summary>
    [Theory]
    [MemberData(nameof(Formats))]
    public void A_complete_journal_is_applied_in_memory_by_a_read_only_open_and_finished_by_a_writable_one(string format)
    {
        string image = MakeFixture(format);
        string scratch = Directory.CreateDirectory(_tmp.File("scratch")).FullName;
        byte[] expected = Expected(CrashHarness.QemuContent(image, format, scratch));
        // The image as the commit point left it (a writable open may have written its own header before the transaction).
        (byte[] journal, _, byte[] atCommit) = CommittedJournal(image);
        File.WriteAllBytes(image, atCommit);
        File.WriteAllBytes(image + JournalSuffix, journal);
        string hashes = Sha256(image) + Sha256(image + JournalSuffix);

        using (VirtualDisk ro = DiskImage.Open(image))
        {
            Assert.True(ro.JournalReplayedInMemory);
        }
        Assert.True(expected.AsSpan().SequenceEqual(CrashHarness.OurContent(image)), "a read-only open does not read the committed write");
        Assert.Equal(hashes, Sha256(image) + Sha256(image + JournalSuffix));

        using (VirtualDisk rw = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            Assert.False(rw.JournalReplayedInMemory);
        }
        Assert.False(File.Exists(image + JournalSuffix));
        Assert.True(expected.AsSpan().SequenceEqual(CrashHarness.QemuContent(image, format, scratch)), "qemu does not read the finished write");
        using (VirtualDisk after = DiskImage.Open(image))
        {
            Assert.False(after.JournalReplayedInMemory);
        }
    }

    [Fact]
    public void A_complete_journal_is_finished_by_a_writable_open_and_again_by_disk_recover_without_change()
    {
        string image = MakeFixture("raw");
        byte[] old = File.ReadAllBytes(image);
        (byte[] journal, byte[] newImage, _) = CommittedJournal(image);
        File.WriteAllBytes(image, old);
        File.WriteAllBytes(image + JournalSuffix, journal);
        using (DiskImage.Open(image, DiskAccess.ReadWrite))
        {
        }
        Assert.False(File.Exists(image + JournalSuffix));
        Assert.Equal(newImage, File.ReadAllBytes(image));
        // Finishing is idempotent: the same journal over the new image changes nothing (DiskImage.Recover, as `disk recover`).
        File.WriteAllBytes(image + JournalSuffix, journal);
        Assert.Equal(JournalRecovery.Finished, DiskImage.Recover(image));
        Assert.False(File.Exists(image + JournalSuffix));
        Assert.Equal(newImage, File.ReadAllBytes(image));
        Assert.Equal(JournalRecovery.None, DiskImage.Recover(image));
    }

    [Fact]
    public void A_journal_that_does_not_belong_to_the_image_is_refused_and_nothing_is_written()
    {
        string image = MakeFixture("raw");
        (byte[] journal, _, _) = CommittedJournal(image);
        // The image "restored from a backup" that is neither the state before the write nor after it.
        using (var f = new FileStream(image, FileMode.Open))
        {
            f.Position = (3 * MiB) + 1024;
            f.Write(Pattern(0x5A, 1024));
        }
        byte[] restored = File.ReadAllBytes(image);
        File.WriteAllBytes(image + JournalSuffix, journal);
        CorruptDataException refused = Assert.Throws<CorruptDataException>(() => DiskImage.Open(image, DiskAccess.ReadWrite).Dispose());
        Assert.Contains(JournalSuffix, refused.Message, StringComparison.Ordinal);
        Assert.Equal((3 * MiB) + 1024, refused.Offset);
        Assert.Equal(restored, File.ReadAllBytes(image));
        Assert.Equal(journal, File.ReadAllBytes(image + JournalSuffix));
        // A read-only open refuses a stale journal too: neither the image as it is nor with the journal applied is a state that existed.
        CorruptDataException refusedReading = Assert.Throws<CorruptDataException>(() => DiskImage.Open(image).Dispose());
        Assert.Equal((3 * MiB) + 1024, refusedReading.Offset);
        Assert.Equal(restored, File.ReadAllBytes(image));
        Assert.Equal(journal, File.ReadAllBytes(image + JournalSuffix));
    }

    [Fact]
    public void Sequential_and_overlapping_writes_in_a_transaction_read_back_as_written()
    {
        string image = MakeFixture("raw");
        var model = File.ReadAllBytes(image);
        var rng = new Random(16);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using DiskWriteTransaction tx = disk.BeginWriteTransaction();
            for (int i = 0; i < 300; i++)
            {
                int at = rng.Next(0, model.Length - 70_000);
                byte[] data = new byte[rng.Next(1, 70_000)];
                rng.NextBytes(data);
                disk.Content.Position = at;
                disk.Content.Write(data, 0, data.Length);
                data.CopyTo(model, at);
                int probe = rng.Next(0, model.Length - 100_000);
                var back = new byte[100_000];
                disk.Content.Position = probe;
                disk.Content.ReadExactly(back);
                Assert.True(model.AsSpan(probe, back.Length).SequenceEqual(back), $"read {i} differs");
            }
            tx.Commit();
        }
        Assert.True(model.AsSpan().SequenceEqual(File.ReadAllBytes(image)));
    }

    // The journal of a committed transaction as it stood at its commit point, and the image after it.
    private (byte[] Journal, byte[] NewImage, byte[] ImageAtCommit) CommittedJournal(string image)
    {
        WriteJournal recorded = CrashHarness.Record(() =>
        {
            using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
            using DiskWriteTransaction tx = disk.BeginWriteTransaction();
            WriteEdits(disk);
            tx.Commit();
        });
        byte[] newImage = File.ReadAllBytes(image);
        byte[]? journal = null;
        byte[]? atCommit = null;
        recorded.Replay(point =>
        {
            if (journal is null && point.Torn is { } next && next.Path == image && next.Kind == JournalEventKind.Write && point.TornBytes == 0
                && File.Exists(image + JournalSuffix))
            {
                journal = File.ReadAllBytes(image + JournalSuffix);
                atCommit = File.ReadAllBytes(image);
            }
        }, torn: false);
        Assert.NotNull(journal);
        Assert.True(journal!.AsSpan(journal.Length - 8).SequenceEqual("ICJEND01"u8), "the journal at the first image write has no trailer");
        return (journal!, newImage, atCommit!);
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static bool EndsWithTrailer(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        return bytes.Length >= 48 && bytes.AsSpan(bytes.Length - 8).SequenceEqual("ICJEND01"u8);
    }

    private static string QemuFormat(string format) => format;

    private string MakeFixture(string format)
    {
        string image = _tmp.File("disk." + format);
        string[] options = format switch
        {
            "vpc" => new[] { "-o", "subformat=dynamic" },
            "vhdx" => new[] { "-o", "block_size=2M,log_size=1M,subformat=dynamic" },
            _ => Array.Empty<string>(),
        };
        Oracle.RunChecked("qemu-img", new[] { "create", "-f", format }.Concat(options).Concat(new[] { image, (8 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToArray());
        Oracle.RunChecked("qemu-io", "-f", format, "-c", "write -P 0x11 0 1M", image);
        return image;
    }

    private static IEnumerable<(long At, byte[] Data)> Edits()
    {
        yield return (4096 + 512, Pattern(0xA0, 8192));
        yield return ((3 * MiB) + 1000, Pattern(0xB0, 5000));
        yield return ((6 * MiB) - 4096, Pattern(0xC0, 8192));
    }

    private static void WriteEdits(VirtualDisk disk)
    {
        foreach ((long at, byte[] data) in Edits())
        {
            disk.Content.Position = at;
            disk.Content.Write(data, 0, data.Length);
        }
    }

    private static byte[] Expected(byte[] old)
    {
        byte[] expected = (byte[])old.Clone();
        foreach ((long at, byte[] data) in Edits())
        {
            data.CopyTo(expected, at);
        }
        return expected;
    }

    private static byte[] Pattern(int seed, int length) => Enumerable.Range(0, length).Select(i => (byte)(seed ^ (i * 7) ^ (i >> 8))).ToArray();
}
