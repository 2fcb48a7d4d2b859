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
