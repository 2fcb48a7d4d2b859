using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Registry.Format;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>
/// <see cref="RegistryHive.Save(Stream, TransactionLogFormat)"/>: the transaction log written before an in-place save,
/// laid out as the public regf specification says (checked field by field here, the dirty pages against a byte
/// comparison of the hive before and after), and recovered by our reader — whose recovery of Windows' own logs is
/// checked against Windows 7 (old format) and yarp (new format) in <see cref="RecoveryTests"/> — at every point between
/// the first and the last write to the hive. A damaged or torn log entry is never replayed.
/// </summary>
public sealed class TransactionLogSaveTests
{
    private const int BaseBlockSize = 4096;

    public static TheoryData<string, TransactionLogFormat> Cases => new()
    {
        { Hives.Sam, TransactionLogFormat.New },
        { Hives.Sam, TransactionLogFormat.Old },
        { Hives.Win7System, TransactionLogFormat.New },
        { Hives.Win7System, TransactionLogFormat.Old },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_log_recovers_the_saved_hive_at_every_point_between_the_first_and_the_last_hive_write(string relative, TransactionLogFormat format)
    {
        Saved s = SaveWithLog(relative, format);
        Assert.True(s.HiveWrites.Count >= 3, "a marker, the pages and the final base block");
        using var tmp = new TempDir();
        byte[] expectedBins = s.Hive.AsSpan(BaseBlockSize, (int)HiveBinsSize(s.Hive)).ToArray();
        for (int k = 1; k < s.HiveWrites.Count; k++)
        {
            byte[] crashed = s.CrashedAfter(k);
            Assert.NotEqual(Seq1(crashed), Seq2(crashed));
            using RegistryHive h = RegistryHive.Open(new MemoryStream(crashed), WithLog(s.Log));
            Assert.StartsWith(format == TransactionLogFormat.New ? "new-format" : "old-format", h.RecoveredWith);
            Assert.False(h.IsDirtyWithoutRecovery);
            Assert.Empty(h.Verify());
            Assert.NotNull(h.OpenKey(@"ControlSet001\services\logged"));
            string path = tmp.File($"recovered{k}");
            h.SaveAs(path);
            byte[] recovered = File.ReadAllBytes(path);
            Assert.True(recovered.AsSpan(BaseBlockSize).SequenceEqual(expectedBins), $"after {k} hive writes the recovered hive bins differ from the saved ones");
        }
        if (format == TransactionLogFormat.New)
        {
            using RegistryHive one = RegistryHive.Open(new MemoryStream(s.CrashedAfter(1)), WithLog(s.Log));
            Assert.Equal(1, one.RecoveredEntries);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Before_the_hive_is_written_the_log_is_not_replayed_and_the_hive_is_the_old_one(string relative, TransactionLogFormat format)
    {
        Saved s = SaveWithLog(relative, format);
        byte[] untouched = s.CrashedAfter(0);
        Assert.Equal(s.Original, untouched);
        using RegistryHive h = RegistryHive.Open(new MemoryStream(untouched), WithLog(s.Log));
        Assert.Null(h.RecoveredWith);
        Assert.Null(h.OpenKey(@"ControlSet001\services\logged"));
    }

    [Fact]
    public void A_new_format_log_has_the_fields_sequence_numbers_and_hashes_of_the_specification()
    {
        Saved s = SaveWithLog(Hives.Win7System, TransactionLogFormat.New);
        byte[] log = s.Log;
        uint n = Seq1(s.Hive);
        Assert.Equal(n, Seq2(s.Hive));
        Assert.True(n >= Seq1(s.Original) + 2, "the save takes two fresh sequence numbers");

        // The hive's first write marks it dirty: primary number N, secondary N - 1; the last makes it clean at N.
        byte[] marker = s.HiveWrites[0].Bytes!;
        Assert.Equal(0, s.HiveWrites[0].Offset);
        Assert.Equal((n, n - 1), (Seq1(marker), Seq2(marker)));
        Assert.Equal(HiveBinsSize(s.Original), HiveBinsSize(marker));
        Assert.Equal(s.Hive.AsSpan(0, BaseBlockSize).ToArray(), s.HiveWrites[^1].Bytes);

        // The log's base block: the first 512 bytes of the new base block, file type 6, both numbers N, a valid checksum.
        Assert.Equal("regf", System.Text.Encoding.ASCII.GetString(log, 0, 4));
        Assert.Equal(6u, U32(log, 28));
        Assert.Equal((n, n), (Seq1(log), Seq2(log)));
        Assert.Equal(HiveBinsSize(s.Hive), U32(log, 40));
        Assert.Equal(XorChecksum(log), U32(log, 508));

        // One log entry at 512, ending on a 4 KiB boundary of the log file, as Windows' own entries do.
        Assert.Equal("HvLE", System.Text.Encoding.ASCII.GetString(log, 512, 4));
        int size = (int)U32(log, 512 + 4);
        Assert.Equal(log.Length, 512 + size);
        Assert.Equal(0, (512 + size) % 4096);
        Assert.Equal(n, U32(log, 512 + 12));
        Assert.Equal(HiveBinsSize(s.Hive), U32(log, 512 + 16));
        ReadOnlySpan<byte> entry = log.AsSpan(512, size);
        int count = (int)U32(log, 512 + 20);
        Assert.Equal(Marvin32.Compute(entry.Slice(40), Marvin32.RegistrySeed), BinaryPrimitives.ReadUInt64LittleEndian(entry.Slice(24)));
        Assert.Equal(Marvin32.Compute(entry.Slice(0, 32), Marvin32.RegistrySeed), BinaryPrimitives.ReadUInt64LittleEndian(entry.Slice(32)));

        // The page references: 4 KiB aligned, in order, not touching; the pages are the saved hive's; together they
        // cover every 4 KiB page that differs between the hive before and after the save.
        var covered = new HashSet<int>();
        int dataPos = 40 + (count * 8);
        int previousEnd = -1;
        for (int i = 0; i < count; i++)
        {
            int offset = (int)U32(log, 512 + 40 + (i * 8));
            int length = (int)U32(log, 512 + 40 + (i * 8) + 4);
            Assert.True(offset % 4096 == 0 && length % 4096 == 0 && length > 0 && offset > previousEnd, $"page reference {i}: {offset}+{length}");
            previousEnd = offset + length;
            Assert.True(entry.Slice(dataPos, length).SequenceEqual(s.Hive.AsSpan(BaseBlockSize + offset, length)), $"the pages at {offset} are not the saved hive's");
            dataPos += length;
            for (int p = offset / 4096; p < (offset + length) / 4096; p++)
            {
                covered.Add(p);
            }
        }
        foreach (int page in ChangedPages(s, 4096))
        {
            Assert.Contains(page, covered);
        }
    }

    [Fact]
    public void An_old_format_log_has_the_base_block_dirty_vector_and_pages_of_the_specification()
    {
        Saved s = SaveWithLog(Hives.Sam, TransactionLogFormat.Old);
        byte[] log = s.Log;
        uint n = Seq1(s.Hive);
        Assert.Equal("regf", System.Text.Encoding.ASCII.GetString(log, 0, 4));
        Assert.Equal(1u, U32(log, 28));
        Assert.Equal((n, n), (Seq1(log), Seq2(log)));
        Assert.Equal(XorChecksum(log), U32(log, 508));
        // Windows applies an old-format log only to a primary with the same last-written time: the marker has it.
        long time = BinaryPrimitives.ReadInt64LittleEndian(log.AsSpan(12));
        Assert.Equal(time, BinaryPrimitives.ReadInt64LittleEndian(s.HiveWrites[0].Bytes!.AsSpan(12)));
        Assert.Equal(time, BinaryPrimitives.ReadInt64LittleEndian(s.Hive.AsSpan(12)));

        Assert.Equal("DIRT", System.Text.Encoding.ASCII.GetString(log, 512, 4));
        int hbs = (int)HiveBinsSize(s.Hive);
        int bits = hbs / 512;
        int pagePos = (512 + 4 + ((bits + 7) / 8) + 511) / 512 * 512;
        var dirty = new HashSet<int>();
        for (int i = 0; i < bits; i++)
        {
            if ((log[512 + 4 + (i / 8)] & (1 << (i % 8))) != 0)
            {
                dirty.Add(i);
                Assert.True(log.AsSpan(pagePos, 512).SequenceEqual(s.Hive.AsSpan(BaseBlockSize + (i * 512), 512)), $"the logged page {i} is not the saved hive's");
                pagePos += 512;
            }
        }
        Assert.Equal(log.Length, pagePos);
        Assert.True(dirty.Count % 8 == 0, "Windows tracks 4 KiB pages: the bitmap has whole bytes set");
        foreach (int page in ChangedPages(s, 512))
        {
            Assert.Contains(page, dirty);
        }
    }

    [Theory]
    [InlineData(Hives.Sam)]
    [InlineData(Hives.Win7System)] // no padding after its last bin: the first save grew it past the file's end
    public void A_hive_recovered_from_its_log_saves_again_with_a_log_and_every_point_of_that_save_recovers_old_or_new(string relative)
    {
        // The first save was cut right after its mark, before the file grew: dirty, recoverable from the first log
        // only, and (Windows 7 SYSTEM) the recovered length reaches past the file's end.
        Saved first = SaveWithLog(relative, TransactionLogFormat.New);
        byte[] crashed = first.CrashedAfter(1);
        byte[] recoveredBins = first.Hive.AsSpan(BaseBlockSize, (int)HiveBinsSize(first.Hive)).ToArray();
        var hive = new RecordingStream(crashed);
        var log2 = new RecordingStream(Array.Empty<byte>());
        RegistryOpenOptions o = WithLog(first.Log);
        o.Writable = true;
        using (RegistryHive h = RegistryHive.Open(hive, o))
        {
            Assert.NotNull(h.RecoveredWith);
            h.Root.CreateSubkey("second save").SetValue("v", RegistryValueType.DWord, RegistryValue.EncodeDWord(2));
            h.Save(log2, TransactionLogFormat.New);
        }
        byte[] final = hive.ToArray();
        Assert.Equal(Seq1(final), Seq2(final));
        byte[] finalBins = final.AsSpan(BaseBlockSize, (int)HiveBinsSize(final)).ToArray();
        var second = new Saved(crashed, final, log2.ToArray(), hive.Writes);

        // Every point of the second save, the first log (.LOG1) and the second (.LOG2, complete) both beside the hive:
        // before its mark, the first log recovers the first save; after, only the second log's entry applies.
        int marker = second.HiveWrites.FindIndex(w => w.Bytes is not null && w.Offset == 0);
        using var tmp = new TempDir();
        for (int k = 0; k <= second.HiveWrites.Count; k++)
        {
            var options = WithLog(first.Log);
            options.LogStreams.Add(new MemoryStream(second.Log));
            using RegistryHive h = RegistryHive.Open(new MemoryStream(second.CrashedAfter(k)), options);
            Assert.False(h.IsDirtyWithoutRecovery);
            string path = tmp.File($"second{k}");
            h.SaveAs(path);
            ReadOnlySpan<byte> bins = File.ReadAllBytes(path).AsSpan(BaseBlockSize);
            bool isNew = bins.SequenceEqual(finalBins);
            Assert.True(isNew || bins.SequenceEqual(recoveredBins), $"after {k} writes of the second save the hive is neither the first save's nor the second's");
            Assert.Equal(k > marker, isNew);
        }
    }

    public static TheoryData<string> Damages => new() { "page data (Hash-1)", "header (Hash-2)", "cut at a sector inside the entry" };

    [Theory]
    [MemberData(nameof(Damages))]
    public void A_torn_or_damaged_log_entry_is_never_replayed(string damage)
    {
        Saved s = SaveWithLog(Hives.Sam, TransactionLogFormat.New);
        byte[] log = (byte[])s.Log.Clone();
        switch (damage)
        {
            case "page data (Hash-1)":
                log[^100] ^= 0x5A;
                break;
            case "header (Hash-2)":
                log[512 + 8] ^= 1; // the flags
                break;
            default:
                Array.Resize(ref log, log.Length - 512);
                break;
        }
        byte[] crashed = s.CrashedAfter(2);
        using (RegistryHive h = RegistryHive.Open(new MemoryStream(crashed), WithLog(log)))
        {
            Assert.Null(h.RecoveredWith);
            Assert.True(h.IsDirtyWithoutRecovery);
        }
        var options = WithLog(log);
        options.Writable = true;
        using var tmp = new TempDir();
        using RegistryHive w = RegistryHive.Open(new MemoryStream(crashed), options);
        Assert.Throws<UnsafeToWriteException>(() => w.SaveAs(tmp.File("out")));
    }

    [Fact]
    public void Nothing_changed_writes_nothing_and_a_hive_file_is_not_saved_through_a_log()
    {
        byte[] original = File.ReadAllBytes(TestData.Require(Hives.Sam));
        var hive = new RecordingStream(original);
        var log = new RecordingStream(Array.Empty<byte>());
        using (RegistryHive h = RegistryHive.Open(hive, new RegistryOpenOptions { Writable = true }))
        {
            h.Save(log, TransactionLogFormat.New);
        }
        Assert.Empty(hive.Writes);
        Assert.Empty(log.Writes);

        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Sam);
        using RegistryHive file = Hives.OpenWritable(path);
        file.Root.CreateSubkey("x");
        Assert.Throws<InvalidOperationException>(() => file.Save(new MemoryStream(), TransactionLogFormat.New));
    }

    [Fact]
    public void The_log_to_write_is_the_empty_or_older_one_so_that_the_newest_log_stays_whole()
    {
        Assert.Equal(1, Pick(Array.Empty<byte>(), Array.Empty<byte>()));
        byte[] ours = SaveWithLog(Hives.Sam, TransactionLogFormat.New).Log;
        Assert.Equal(2, Pick(ours, Array.Empty<byte>()));
        Assert.Equal(1, Pick(Array.Empty<byte>(), ours));
        Assert.Equal(1, Pick(ours.AsSpan(0, 100).ToArray(), ours)); // a torn base block holds nothing

        // Windows' own pairs: NTUSER's .LOG1 holds entries 566-588 and its .LOG2 entry 562; SYSTEM_B's .LOG1 holds
        // 2107-2110 and its .LOG2 2111-2130 (MANIFEST.md). The older one is rewritten.
        string ntuserDir = Path.GetDirectoryName(TestData.Require(Hives.NtUser))!;
        Assert.Equal(2, Pick(File.ReadAllBytes(Path.Combine(ntuserDir, "transactions_ntuser.dat.log1")), File.ReadAllBytes(Path.Combine(ntuserDir, "transactions_ntuser.dat.log2"))));
        using var tmp = new TempDir();
        string systemB = Hives.SystemB(tmp);
        Assert.Equal(1, Pick(File.ReadAllBytes(systemB + ".LOG1"), File.ReadAllBytes(systemB + ".LOG2")));
    }

    private static int Pick(byte[] log1, byte[] log2)
    {
        var one = new MemoryStream(log1);
        var two = new MemoryStream(log2);
        Stream chosen = RegistryHive.SelectLogToWrite(one, two);
        return ReferenceEquals(chosen, one) ? 1 : ReferenceEquals(chosen, two) ? 2 : 0;
    }

    private static RegistryOpenOptions WithLog(byte[] log)
    {
        // The fixed clock: SaveAs stamps the first bin with the time, which must be the saved hive's to compare bins.
        var o = new RegistryOpenOptions { TimeProvider = new FixedTime() };
        o.LogStreams.Add(new MemoryStream(log));
        return o;
    }

    /// <summary>A hive saved with a log into memory: the hive before and after, the log, and the writes to the hive.</summary>
    private static Saved SaveWithLog(string relative, TransactionLogFormat format)
    {
        byte[] original = File.ReadAllBytes(TestData.Require(relative));
        var hive = new RecordingStream(original);
        var log = new RecordingStream(Array.Empty<byte>());
        using (RegistryHive h = RegistryHive.Open(hive, new RegistryOpenOptions { Writable = true, TimeProvider = new FixedTime() }))
        {
            RegistryKey k = h.Root.CreateSubkey(@"ControlSet001\services\logged");
            k.SetValue("Start", RegistryValueType.DWord, RegistryValue.EncodeDWord(0));
            k.SetValue("Blob", RegistryValueType.Binary, Enumerable.Range(0, 20000).Select(i => (byte)i).ToArray());
            h.Save(log, format);
        }
        Assert.NotEmpty(log.Writes);
        return new Saved(original, hive.ToArray(), log.ToArray(), hive.Writes);
    }

    private static IEnumerable<int> ChangedPages(Saved s, int pageSize)
    {
        int hbs = (int)HiveBinsSize(s.Hive);
        for (int p = 0; p < hbs / pageSize; p++)
        {
            int at = BaseBlockSize + (p * pageSize);
            ReadOnlySpan<byte> before = at + pageSize <= s.Original.Length ? s.Original.AsSpan(at, pageSize) : default;
            if (!s.Hive.AsSpan(at, pageSize).SequenceEqual(before))
            {
                yield return p;
            }
        }
    }

    private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    private static uint Seq1(byte[] block) => U32(block, 4);

    private static uint Seq2(byte[] block) => U32(block, 8);

    private static uint HiveBinsSize(byte[] block) => U32(block, 40);

    /// <summary>The base block checksum as the specification defines it: XOR of the first 127 32-bit words.</summary>
    private static uint XorChecksum(byte[] block)
    {
        uint c = 0;
        for (int i = 0; i < 508; i += 4)
        {
            c ^= U32(block, i);
        }
        return c;
    }

    /// <summary>The writes to the hive in order; a null <c>Bytes</c> is a length change to <c>Offset</c>.</summary>
    private sealed record Saved(byte[] Original, byte[] Hive, byte[] Log, List<(long Offset, byte[]? Bytes)> HiveWrites)
    {
        /// <summary>The hive file after a crash that kept only the first <paramref name="writes"/> writes (and length
        /// changes) to it.</summary>
        public byte[] CrashedAfter(int writes)
        {
            byte[] file = (byte[])Original.Clone();
            foreach ((long offset, byte[]? bytes) in HiveWrites.Take(writes))
            {
                if (bytes is null)
                {
                    Array.Resize(ref file, (int)offset);
                    continue;
                }
                if (offset + bytes.Length > file.Length)
                {
                    Array.Resize(ref file, (int)(offset + bytes.Length));
                }
                bytes.CopyTo(file, offset);
            }
            return file;
        }
    }

    /// <summary>A memory stream that keeps every write, with its offset and bytes, in order.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public RecordingStream(byte[] initial)
        {
            base.Write(initial, 0, initial.Length);
            Position = 0;
        }

        public List<(long Offset, byte[]? Bytes)> Writes { get; } = new();

        public override void SetLength(long value)
        {
            Writes.Add((value, null));
            base.SetLength(value);
        }

        // A derived MemoryStream routes Write(span) through Write(byte[], int, int): the recording lives there.
        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes.Add((Position, buffer.AsSpan(offset, count).ToArray()));
            base.Write(buffer, offset, count);
        }
    }
}
