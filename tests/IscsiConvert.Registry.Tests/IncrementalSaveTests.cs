using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>
/// Saving into the stream a hive was opened from writes only the dirty 4 KiB pages and the base block — never the whole
/// hive — in the order the regf format makes crash-safe: the base block with the primary sequence number bumped (the
/// hive now reads as dirty), the pages, then the base block with the secondary number equal again. Checked on the real
/// 11 MiB Windows 7 SYSTEM hive, read back by hivexregedit, hivexget, reged and our Verify.
/// </summary>
public sealed class IncrementalSaveTests
{
    private const int BaseBlockSize = 4096;
    private const string Service = @"ControlSet001\services\IscsiIncremental";

    [Fact]
    public void ASmallEditOfTheWindows7SystemHiveWritesOnlyItsPagesInCrashSafeOrder()
    {
        using var tmp = new TempDir();
        string original = TestData.Require(Hives.Win7System);
        string path = Hives.CopyTo(tmp, Hives.Win7System);
        long fileLength = new FileInfo(path).Length;
        Assert.True(fileLength > 10 << 20, "the Windows 7 SYSTEM hive is expected to be about 11 MiB");
        uint sequenceBefore = BinaryPrimitives.ReadUInt32LittleEndian(File.ReadAllBytes(path).AsSpan(4));

        RegModel expected = WriteTests.Clone(Hivex.ExportCached(original));
        CountingStream counting;
        using (counting = new CountingStream(new FileStream(path, FileMode.Open, FileAccess.ReadWrite)) { KeepWritesBelow = BaseBlockSize })
        {
            using RegistryHive hive = RegistryHive.Open(counting, new RegistryOpenOptions { Writable = true, TimeProvider = new FixedTime() });
            RegistryKey k = hive.Root.CreateSubkey(Service);
            k.SetValue("Start", RegistryValueType.DWord, RegistryValue.EncodeDWord(0));
            k.SetValue("ImagePath", RegistryValueType.ExpandString, RegistryValue.EncodeString(@"system32\DRIVERS\iscsi-test.sys"));
            k.SetValue("Group", RegistryValueType.String, RegistryValue.EncodeString("NDIS"));
            hive.OpenKey("Select")!.SetValue("LastKnownGood", RegistryValueType.DWord, RegistryValue.EncodeDWord(7));
            hive.Save();
        }
        expected.Keys[Service] = new();
        expected.Keys[Service]["Start"] = new ValueData(4, RegistryValue.EncodeDWord(0));
        expected.Keys[Service]["ImagePath"] = new ValueData(2, RegistryValue.EncodeString(@"system32\DRIVERS\iscsi-test.sys"));
        expected.Keys[Service]["Group"] = new ValueData(1, RegistryValue.EncodeString("NDIS"));
        expected.Keys["Select"]["LastKnownGood"] = new ValueData(4, RegistryValue.EncodeDWord(7));

        // The budget: the base block twice and a handful of pages, against an 11 MiB file.
        Assert.True(counting.BytesWritten <= 2 * BaseBlockSize + (8 * 4096), $"{counting.BytesWritten} bytes written for a few hundred bytes of change");
        Assert.True(counting.Writes.Count >= 3);

        // Order: dirty marker (primary sequence ahead), barrier, pages, barrier, clean base block.
        (long firstOffset, int firstLength) = counting.Writes[0];
        (long lastOffset, int lastLength) = counting.Writes[^1];
        Assert.Equal((0L, BaseBlockSize), (firstOffset, firstLength));
        Assert.Equal((0L, BaseBlockSize), (lastOffset, lastLength));
        Assert.All(counting.Writes.Skip(1).SkipLast(1), w => Assert.True(w.Offset >= BaseBlockSize && w.Offset % 4096 == 0, $"a data write at 0x{w.Offset:X}"));
        byte[] marker = counting.KeptWrites.First().Bytes;
        byte[] clean = counting.KeptWrites.Last().Bytes;
        Assert.Equal(2, counting.KeptWrites.Count);
        Assert.Equal(sequenceBefore + 1, BinaryPrimitives.ReadUInt32LittleEndian(marker.AsSpan(4)));
        Assert.Equal(sequenceBefore, BinaryPrimitives.ReadUInt32LittleEndian(marker.AsSpan(8)));
        Assert.Equal(sequenceBefore + 1, BinaryPrimitives.ReadUInt32LittleEndian(clean.AsSpan(4)));
        Assert.Equal(sequenceBefore + 1, BinaryPrimitives.ReadUInt32LittleEndian(clean.AsSpan(8)));
        Assert.Contains(1, counting.FlushesAfterWrite);
        Assert.Contains(counting.Writes.Count - 1, counting.FlushesAfterWrite);
        WriteTests.AssertCleanBaseBlock(path);

        // The oracles read the result as exactly the intended change.
        RegModel saved = Hivex.Export(path);
        Assert.True(saved.Diff(expected).Count == 0, string.Join("\n", saved.Diff(expected)));
        string start = Oracle.RunChecked("hivexget", path, @"\ControlSet001\services\IscsiIncremental", "Group");
        Assert.Equal("NDIS", start.Trim());
        RegModel reged = Hivex.RegedExport(path);
        Assert.Equal(4u, reged.Keys[Service]["Start"].Type);
        Assert.Equal(RegistryValue.EncodeDWord(0), reged.Keys[Service]["Start"].Data);
        using RegistryHive again = Hives.OpenReadOnly(path);
        Assert.Empty(again.Verify());
        Assert.Null(again.RecoveredWith);
    }
}

/// <summary>
/// Every crash point of an incremental save: a save cut off after any number of its writes leaves a hive that is either
/// the old one byte for byte (cut before the first write) or visibly dirty (sequence numbers differ, so no reader takes
/// it for a clean hive), and only the complete save is clean with the change.
/// </summary>
public sealed class IncrementalSaveCrashTests
{
    [Fact]
    public void ASaveCutOffAtAnyWriteLeavesTheOldHiveOrAVisiblyDirtyOne()
    {
        using var tmp = new TempDir();
        string original = Hives.CopyTo(tmp, Hives.Win7System);
        byte[] before = File.ReadAllBytes(original);
        int total = -1;
        for (int allowed = 0; total < 0 || allowed <= total; allowed++)
        {
            string path = tmp.File($"SYSTEM.{allowed}");
            File.WriteAllBytes(path, before);
            var crashing = new CrashAfterWrites(new FileStream(path, FileMode.Open, FileAccess.ReadWrite), allowed);
            using (crashing)
            {
                using RegistryHive hive = RegistryHive.Open(crashing, new RegistryOpenOptions { Writable = true, TimeProvider = new FixedTime() });
                RegistryKey k = hive.Root.CreateSubkey(@"ControlSet001\services\CrashPoint");
                k.SetValue("Start", RegistryValueType.DWord, RegistryValue.EncodeDWord(0));
                hive.OpenKey("Select")!.SetValue("LastKnownGood", RegistryValueType.DWord, RegistryValue.EncodeDWord(5));
                try
                {
                    hive.Save();
                    total = crashing.Writes;
                }
                catch (IOException) when (crashing.Crashed)
                {
                }
            }
            byte[] after = File.ReadAllBytes(path);
            uint primary = BinaryPrimitives.ReadUInt32LittleEndian(after.AsSpan(4));
            uint secondary = BinaryPrimitives.ReadUInt32LittleEndian(after.AsSpan(8));
            if (allowed == 0)
            {
                Assert.Equal(before, after);
            }
            else if (total >= 0 && allowed >= total)
            {
                Assert.Equal(primary, secondary);
                using RegistryHive reopened = RegistryHive.Open(path, new RegistryOpenOptions { RecoverFromLogs = false });
                Assert.False(reopened.IsDirtyWithoutRecovery);
                Assert.NotNull(reopened.OpenKey(@"ControlSet001\services\CrashPoint"));
                Assert.Empty(reopened.Verify());
            }
            else
            {
                // Visibly dirty, and still the old layout: the base block keeps the old bins size and root, so the
                // hive reads (as a dirty hive) without following a length that covers unwritten bins.
                Assert.True(primary != secondary, $"cut after {allowed} writes, the hive claims to be clean");
                Assert.Equal(before.AsSpan(0x24, 8).ToArray(), after.AsSpan(0x24, 8).ToArray()); // root cell, bins size
                using RegistryHive reopened = RegistryHive.Open(path, new RegistryOpenOptions { RecoverFromLogs = false });
                Assert.True(reopened.IsDirtyWithoutRecovery);
            }
            File.Delete(path);
        }
        Assert.True(total >= 3, "the save is expected to take at least the marker, one page and the clean base block");
    }

    /// <summary>A stream whose writes succeed up to a count, then fail as a crash would: nothing more reaches the file.</summary>
    private sealed class CrashAfterWrites : Stream
    {
        private readonly Stream _inner;
        private readonly int _allowed;

        public CrashAfterWrites(Stream inner, int allowed)
        {
            _inner = inner;
            _allowed = allowed;
        }

        public int Writes { get; private set; }

        public bool Crashed { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => true;

        public override long Length => _inner.Length;

        public override long Position
        {
            get => _inner.Position;
            set => _inner.Position = value;
        }

        public override void Flush() => _inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

        public override void SetLength(long value) => _inner.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Writes >= _allowed)
            {
                Crashed = true;
                throw new IOException("simulated crash");
            }
            Writes++;
            _inner.Write(buffer);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
