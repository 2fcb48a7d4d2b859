using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Registry.Format;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>Dirty hives recover to what Windows (old format) and yarp (new format) made of them.</summary>
public sealed class RecoveryTests
{
    [Fact]
    public void OldFormatLogRecoversToWindows7Result()
    {
        using var tmp = new TempDir();
        string hivePath = Hives.CopyTo(tmp, Hives.OldDirty, ".LOG1", ".LOG2");
        RegModel reference = Hivex.ExportCached(TestData.Require(Hives.OldRecoveredByWindows));
        RegModel dirty = Hivex.ExportCached(TestData.Require(Hives.OldDirty));
        Assert.NotEmpty(dirty.Diff(reference)); // the log matters: without it the content differs

        using RegistryHive hive = Hives.OpenReadOnly(hivePath);
        Assert.StartsWith("old-format", hive.RecoveredWith);
        RegModel ours = RegModel.FromHive(hive.Root);
        Assert.True(ours.Diff(reference).Count == 0, string.Join("\n", ours.Diff(reference)));
        Assert.Empty(hive.Verify());
    }

    [Fact]
    public void NewFormatLogsRecoverSystemBToYarpResult()
    {
        using var tmp = new TempDir();
        string hivePath = Hives.SystemB(tmp);
        RegModel reference = Hivex.ExportCached(TestData.Require(Hives.SystemBRecoveredByYarp));
        using RegistryHive hive = Hives.OpenReadOnly(hivePath);
        Assert.StartsWith("new-format", hive.RecoveredWith);
        Assert.Equal(24, hive.RecoveredEntries); // 4 entries of .LOG1 (2107-2110) + 20 of .LOG2 (2111-2130)
        RegModel ours = RegModel.FromHive(hive.Root);
        Assert.True(ours.Diff(reference).Count == 0, string.Join("\n", ours.Diff(reference)));
    }

    [Fact]
    public void DirtyPageCountsMatchRegipyFacts()
    {
        // MANIFEST: regipy recovers 315 dirty pages for SYSTEM_B and 132 for transactions_NTUSER.DAT.
        using var tmp = new TempDir();
        string systemB = Hives.SystemB(tmp);
        Assert.Equal(315, CountRecoveredPages(systemB, systemB + ".LOG1", systemB + ".LOG2"));
        string ntuser = TestData.Require(Hives.NtUser);
        string dir = Path.GetDirectoryName(ntuser)!;
        Assert.Equal(132, CountRecoveredPages(ntuser, Path.Combine(dir, "transactions_ntuser.dat.log1"), Path.Combine(dir, "transactions_ntuser.dat.log2")));
    }

    private static int CountRecoveredPages(string hivePath, string log1, string log2)
    {
        byte[] file = File.ReadAllBytes(hivePath);
        BaseBlock b = BaseBlock.ReadFrom(file);
        int length = (int)b.HiveBinsDataSize;
        byte[] bins = file.AsSpan(BaseBlock.Size, length).ToArray();
        var logs = new List<TransactionLog>
        {
            new("1", File.ReadAllBytes(log1)),
            new("2", File.ReadAllBytes(log2)),
        };
        RecoveryOutcome? r = TransactionLogRecovery.Recover(b, b.ChecksumMatches, bins, length, logs);
        Assert.NotNull(r);
        return r!.Written.Count;
    }

    [Fact]
    public void NtUserRecoveryFindsTheEmojiKeyOfTheManifest()
    {
        // MANIFEST: after recovery the hive holds \Control Panel\International\🌎🌏🌍 (a UTF-16 key name).
        string ntuser = TestData.Require(Hives.NtUser);
        using RegistryHive hive = Hives.OpenReadOnly(ntuser);
        Assert.NotNull(hive.RecoveredWith);
        Assert.Equal(23, hive.RecoveredEntries);
        Assert.NotNull(hive.OpenKey("Control Panel\\International\\\U0001F30E\U0001F30F\U0001F30D"));
        Assert.Empty(hive.Verify());
    }

    [Fact]
    public void SavingAfterRecoveryWritesCleanPrimaryAndEmptiesLogs()
    {
        using var tmp = new TempDir();
        string hivePath = Hives.CopyTo(tmp, Hives.OldDirty, ".LOG1", ".LOG2");
        using (RegistryHive hive = Hives.OpenWritable(hivePath))
        {
            Assert.NotNull(hive.RecoveredWith);
            hive.Save();
        }
        byte[] head = File.ReadAllBytes(hivePath).AsSpan(0, 4096).ToArray();
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4)), BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(8)));
        Assert.Equal(XorChecksum(head), BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(508)));
        Assert.True(BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4)) > 5); // past the log's sequence number 5
        Assert.Equal(0, new FileInfo(hivePath + ".LOG1").Length);
        RegModel reference = Hivex.ExportCached(TestData.Require(Hives.OldRecoveredByWindows));
        RegModel saved = Hivex.Export(hivePath);
        Assert.True(saved.Diff(reference).Count == 0, string.Join("\n", saved.Diff(reference)));
        using RegistryHive again = Hives.OpenReadOnly(hivePath);
        Assert.Null(again.RecoveredWith);
        Assert.False(again.IsDirtyWithoutRecovery);
    }

    [Fact]
    public void DirtyHiveWithoutLogsCannotBeSaved()
    {
        using var tmp = new TempDir();
        string hivePath = Hives.CopyTo(tmp, Hives.Security);
        byte[] before = File.ReadAllBytes(hivePath);
        using (RegistryHive hive = Hives.OpenWritable(hivePath))
        {
            Assert.True(hive.IsDirtyWithoutRecovery);
            hive.Root.SetValue("x", RegistryValueType.DWord, new byte[4]);
            Assert.Throws<UnsafeToWriteException>(() => hive.Save());
        }
        Assert.Equal(before, File.ReadAllBytes(hivePath));
    }

    [Fact]
    public void DirtyHiveWithoutLogsIsSavedCleanWhenTheCallerAllowsIt()
    {
        using var tmp = new TempDir();
        string hivePath = Hives.CopyTo(tmp, Hives.Security);
        RegModel before = Hivex.Export(hivePath);
        using (RegistryHive hive = RegistryHive.Open(hivePath, new RegistryOpenOptions { Writable = true, SaveDirtyWithoutRecovery = true, TimeProvider = new FixedTime() }))
        {
            Assert.True(hive.IsDirtyWithoutRecovery);
            hive.Root.SetValue("x", RegistryValueType.DWord, new byte[] { 7, 0, 0, 0 });
            hive.Save();
        }
        WriteTests.AssertCleanBaseBlock(hivePath);
        // hivex sees what was there plus the one value.
        Assert.Equal("7", Oracle.RunChecked("hivexget", hivePath, "\\", "x").Trim());
        RegModel after = Hivex.Export(hivePath);
        Assert.Single(after.Diff(before));
        using RegistryHive again = Hives.OpenReadOnly(hivePath);
        Assert.False(again.IsDirtyWithoutRecovery);
    }

    /// <summary>The base block checksum, computed here independently of the library.</summary>
    internal static uint XorChecksum(byte[] head)
    {
        uint c = 0;
        for (int i = 0; i < 508; i += 4)
        {
            c ^= BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(i));
        }
        return c == 0 ? 1u : c == uint.MaxValue ? uint.MaxValue - 1 : c;
    }
}

/// <summary>Damaged or mismatched logs: recovery stops at the damage, or does not apply at all.</summary>
public sealed class LogDamageTests
{
    [Fact]
    public void ABadEntryHashStopsReplayThere()
    {
        using var tmp = new TempDir();
        string hive = Hives.SystemB(tmp);
        byte[] log2 = File.ReadAllBytes(hive + ".LOG2");
        // Damage one byte of the page data of .LOG2's entry 2115.
        int pos = FifthEntryOfSystemBLog2(log2);
        log2[pos + 600] ^= 0x01;
        File.WriteAllBytes(hive + ".LOG2", log2);
        using RegistryHive h = Hives.OpenReadOnly(hive);
        Assert.Equal(8, h.RecoveredEntries); // 2107-2110 from .LOG1, 2111-2114 from .LOG2
    }

    /// <summary>
    /// The fuzzer's long run (seed 3900309805430024821, iteration 306893) flipped one bit of an old-format log's hive
    /// length: recovery allocated 128 MiB for a 558 KB hive before finding the log unusable. Growth past the pages the
    /// log holds is not applicable now, and nothing that large is allocated.
    /// </summary>
    [Fact]
    public void OldLogClaimingGrowthPastItsPagesDoesNotApplyNorAllocateIt()
    {
        using var tmp = new TempDir();
        string hive = Hives.CopyTo(tmp, Hives.OldDirty, ".LOG1", ".LOG2");
        byte[] log = File.ReadAllBytes(hive + ".LOG1");
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(log.AsSpan(0x28)); // hive bins data size
        BinaryPrimitives.WriteUInt32LittleEndian(log.AsSpan(0x28), length + (128u << 20));
        BinaryPrimitives.WriteUInt32LittleEndian(log.AsSpan(508), RecoveryTests.XorChecksum(log.AsSpan(0, 512).ToArray()));
        File.WriteAllBytes(hive + ".LOG1", log);
        long before = GC.GetAllocatedBytesForCurrentThread();
        using RegistryHive h = Hives.OpenReadOnly(hive);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Null(h.RecoveredWith);
        Assert.True(h.IsDirtyWithoutRecovery);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes");
    }

    /// <summary>The same bound for the new format: an entry (hashes intact) claiming 1 GiB more than its pages stops replay there.</summary>
    [Fact]
    public void NewLogEntryClaimingGrowthPastItsPagesStopsReplayThere()
    {
        using var tmp = new TempDir();
        string hive = Hives.SystemB(tmp);
        byte[] log2 = File.ReadAllBytes(hive + ".LOG2");
        int pos = FifthEntryOfSystemBLog2(log2);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(log2.AsSpan(pos + 16)); // hive bins data size
        BinaryPrimitives.WriteUInt32LittleEndian(log2.AsSpan(pos + 16), length + (1u << 30));
        BinaryPrimitives.WriteUInt64LittleEndian(log2.AsSpan(pos + 32), Marvin32.Compute(log2.AsSpan(pos, 32), Marvin32.RegistrySeed));
        File.WriteAllBytes(hive + ".LOG2", log2);
        long before = GC.GetAllocatedBytesForCurrentThread();
        using RegistryHive h = Hives.OpenReadOnly(hive);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(8, h.RecoveredEntries); // 2107-2110 from .LOG1, 2111-2114 from .LOG2
        Assert.True(allocated < 512L << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void OldLogWithAnotherTimestampDoesNotApply()
    {
        using var tmp = new TempDir();
        string hive = Hives.CopyTo(tmp, Hives.OldDirty, ".LOG1", ".LOG2");
        byte[] log = File.ReadAllBytes(hive + ".LOG1");
        log[12] ^= 0x01; // last written timestamp
        BinaryPrimitives.WriteUInt32LittleEndian(log.AsSpan(508), RecoveryTests.XorChecksum(log.AsSpan(0, 512).ToArray()));
        File.WriteAllBytes(hive + ".LOG1", log);
        using RegistryHive h = Hives.OpenReadOnly(hive);
        Assert.Null(h.RecoveredWith);
        Assert.True(h.IsDirtyWithoutRecovery);
    }

    [Fact]
    public void StreamOpenRecoversFromLogStreamsAndSavesInPlace()
    {
        using var tmp = new TempDir();
        string hive = Hives.SystemB(tmp);
        var options = new RegistryOpenOptions { Writable = true, TimeProvider = new FixedTime() };
        using (var fs = new FileStream(hive, FileMode.Open, FileAccess.ReadWrite))
        using (var l1 = File.OpenRead(hive + ".LOG1"))
        using (var l2 = File.OpenRead(hive + ".LOG2"))
        {
            options.LogStreams.Add(l1);
            options.LogStreams.Add(l2);
            using RegistryHive h = RegistryHive.Open(fs, options);
            Assert.Equal(24, h.RecoveredEntries);
            h.Save();
        }
        WriteTests.AssertCleanBaseBlock(hive);
        RegModel reference = Hivex.ExportCached(TestData.Require(Hives.SystemBRecoveredByYarp));
        RegModel saved = Hivex.Export(hive);
        Assert.True(saved.Diff(reference).Count == 0, string.Join("\n", saved.Diff(reference)));
    }

    // SYSTEM_B.LOG2's fifth entry (sequence 2115), walked by the entries' own sizes.
    private static int FifthEntryOfSystemBLog2(byte[] log2)
    {
        int pos = 512;
        for (int i = 0; i < 4; i++)
        {
            pos += BinaryPrimitives.ReadInt32LittleEndian(log2.AsSpan(pos + 4));
        }
        Assert.Equal(2115u, BinaryPrimitives.ReadUInt32LittleEndian(log2.AsSpan(pos + 12)));
        return pos;
    }
}
