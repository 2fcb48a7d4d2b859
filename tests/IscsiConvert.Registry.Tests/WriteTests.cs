using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>Edits saved by us read back in hivexregedit, hivexsh and reged as exactly the intended change.</summary>
public sealed class WriteTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            b[i] = (byte)((i * 31) + seed + (i >> 8));
        }
        return b;
    }

    private static RegistryOpenOptions Writable() => new() { Writable = true, TimeProvider = new FixedTime() };

    [Fact]
    public void EditsOnWin7SystemAreExactlyTheIntendedChange()
    {
        using var tmp = new TempDir();
        string original = TestData.Require(Hives.Win7System);
        string path = Hives.CopyTo(tmp, Hives.Win7System);
        RegModel expected = Clone(Hivex.ExportCached(original));
        const string svc = @"ControlSet001\services\IscsiTest";
        const string cddb = @"ControlSet001\Control\CriticalDeviceDatabase";
        byte[] big = Pattern(40000, 7);
        using (RegistryHive hive = RegistryHive.Open(path, Writable()))
        {
            RegistryKey k = hive.Root.CreateSubkey(svc);
            expected.Keys[svc] = NewKey();
            Set(k, expected, svc, "", RegistryValueType.String, RegistryValue.EncodeString("default"));
            Set(k, expected, svc, "ImagePath", RegistryValueType.ExpandString, RegistryValue.EncodeString(@"%SystemRoot%\System32\drivers\x.sys"));
            Set(k, expected, svc, "Start", RegistryValueType.DWord, RegistryValue.EncodeDWord(0));
            Set(k, expected, svc, "Big", RegistryValueType.Binary, big);
            Set(k, expected, svc, "Deps", RegistryValueType.MultiString, RegistryValue.EncodeMultiString(new[] { "a", "bb" }));
            Set(k, expected, svc, "Q", RegistryValueType.QWord, RegistryValue.EncodeQWord(0x0102030405060708));
            Set(k, expected, svc, "None", RegistryValueType.None, Array.Empty<byte>());
            Set(k, expected, svc, "Odd", (RegistryValueType)0x1234, new byte[] { 1, 2, 3, 4, 5 });
            Set(k, expected, svc, "Unicode\u00e9\u4e2d", RegistryValueType.String, RegistryValue.EncodeString("\u4e2d\u6587"));
            expected.Keys[svc + @"\Sub"] = NewKey();
            k.CreateSubkey("Sub");

            // A new key in the 2548-entry CDDB list (an index root), between existing names.
            RegistryKey dev = hive.OpenKey(cddb)!.CreateSubkey("pci#ven_8086&dev_100e");
            expected.Keys[cddb + @"\pci#ven_8086&dev_100e"] = NewKey();
            Set(dev, expected, cddb + @"\pci#ven_8086&dev_100e", "Service", RegistryValueType.String, RegistryValue.EncodeString("e1iexpress"));

            // Change, shrink and delete existing values; rename and delete existing keys.
            RegistryKey select = hive.OpenKey("Select")!;
            Set(select, expected, "Select", "Current", RegistryValueType.DWord, RegistryValue.EncodeDWord(2));
            Assert.True(hive.OpenKey(@"ControlSet001\Control")!.DeleteValue("SystemStartOptions"));
            expected.Keys[@"ControlSet001\Control"].Remove("SystemStartOptions");
            string victim = @"ControlSet001\services\Tcpip";
            Assert.True(hive.OpenKey(@"ControlSet001\Services")!.DeleteSubkeyTree("tcpip"));
            foreach (string p in expected.Keys.Keys.Where(p => p == victim || p.StartsWith(victim + "\\", StringComparison.Ordinal)).ToList())
            {
                expected.Keys.Remove(p);
            }
            string from = @"ControlSet001\services\Beep";
            hive.OpenKey(from)!.Rename("BeepRenamed");
            foreach (string p in expected.Keys.Keys.Where(p => p == from || p.StartsWith(from + "\\", StringComparison.Ordinal)).ToList())
            {
                expected.Keys[@"ControlSet001\services\BeepRenamed" + p.Substring(from.Length)] = expected.Keys[p];
                expected.Keys.Remove(p);
            }
            Assert.Empty(hive.Verify());
            hive.Save();
        }

        RegModel saved = Hivex.Export(path);
        Assert.True(saved.Diff(expected).Count == 0, string.Join("\n", saved.Diff(expected)));
        AssertCleanBaseBlock(path);

        using (RegistryHive again = Hives.OpenReadOnly(path))
        {
            Assert.Empty(again.Verify());
            Assert.Equal(big, again.OpenKey(svc)!.GetValue("big")!.GetBytes());
        }

        // hivexsh navigates to the new key and sees its values.
        string script = tmp.File("cmds");
        File.WriteAllText(script, "cd \\ControlSet001\\Services\\IscsiTest\nlsval\n");
        string shell = Oracle.RunChecked("hivexsh", "-f", script, path);
        Assert.Contains("\"Start\"=dword:00000000", shell, StringComparison.Ordinal);
        Assert.Contains("\"Q\"=", shell, StringComparison.Ordinal);

    }

    /// <summary>
    /// chntpw's reged (0.1 140201) has no big-data support and aborts on UTF-16 value names, so its check uses a hive
    /// with neither: Latin-1 names, values up to 16344 bytes.
    /// </summary>
    [Fact]
    public void RegedReadsOurEdits()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Bcd);
        RegModel expected = Clone(Hivex.ExportCached(TestData.Require(Hives.Bcd)));
        using (RegistryHive hive = RegistryHive.Open(path, Writable()))
        {
            RegistryKey k = hive.Root.CreateSubkey(@"Objects\New\Deeper");
            expected.Keys[@"Objects\New"] = NewKey();
            expected.Keys[@"Objects\New\Deeper"] = NewKey();
            Set(k, expected, @"Objects\New\Deeper", "Bin", RegistryValueType.Binary, Pattern(5000, 3));
            Set(k, expected, @"Objects\New\Deeper", "Num", RegistryValueType.DWord, RegistryValue.EncodeDWord(77));
            Set(k, expected, @"Objects\New\Deeper", "Caf\u00e9", RegistryValueType.MultiString, RegistryValue.EncodeMultiString(new[] { "x", "y" }));
            Set(hive.OpenKey("Description")!, expected, "Description", "System", RegistryValueType.DWord, RegistryValue.EncodeDWord(5));
            hive.Save();
        }
        RegModel reged = Hivex.RegedExport(path);
        Assert.Equal(expected.Keys.Keys, reged.Keys.Keys);
        foreach (var key in expected.Keys)
        {
            Assert.Equal(key.Value.Keys, reged.Keys[key.Key].Keys);
            foreach (var v in key.Value.Where(v => v.Value.Type != 1))
            {
                Assert.True(v.Value.Data.AsSpan().SequenceEqual(reged.Keys[key.Key][v.Key].Data), key.Key + " : " + v.Key);
            }
        }
        RegModel hivex = Hivex.Export(path);
        Assert.True(hivex.Diff(expected).Count == 0, string.Join("\n", hivex.Diff(expected)));
    }

    [Fact]
    public void LargeValuesInVersion13HiveUseOneCellAndHivexReadsThem()
    {
        // Big data ("db") exists from regf 1.4 on; the BCD store is 1.3, so a large value must stay in one cell.
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Bcd);
        RegModel expected = Clone(Hivex.ExportCached(TestData.Require(Hives.Bcd)));
        byte[] big = Pattern(50000, 9);
        using (RegistryHive hive = RegistryHive.Open(path, Writable()))
        {
            Assert.Equal(3, hive.MinorVersion);
            Set(hive.OpenKey("Description")!, expected, "Description", "Large", RegistryValueType.Binary, big);
            hive.Save();
        }
        RegModel saved = Hivex.Export(path);
        Assert.True(saved.Diff(expected).Count == 0, string.Join("\n", saved.Diff(expected)));
    }

    [Fact]
    public void SavedBaseBlockIsCleanAndTimestamped()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Minimal);
        using (RegistryHive hive = RegistryHive.Open(path, Writable()))
        {
            hive.Root.CreateSubkey("A").SetValue("v", RegistryValueType.DWord, RegistryValue.EncodeDWord(1));
            hive.Save();
        }
        byte[] head = AssertCleanBaseBlock(path);
        Assert.Equal(FixedTime.Instant.UtcDateTime.ToFileTimeUtc(), BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(12)));
        Assert.False(File.Exists(path + ".saving"));
    }

    internal static byte[] AssertCleanBaseBlock(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        byte[] head = file.AsSpan(0, 4096).ToArray();
        Assert.Equal("regf", Encoding.ASCII.GetString(head, 0, 4));
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4)), BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(8)));
        Assert.Equal(RecoveryTests.XorChecksum(head), BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(508)));
        // Files may carry padding after the last bin (SAM does), so the size only has to fit.
        long binsSize = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(40));
        Assert.InRange(binsSize, 4096, file.Length - 4096);
        // Every bin is in place and the bins cover the data exactly.
        long pos = 0;
        while (pos < binsSize)
        {
            Assert.Equal("hbin", Encoding.ASCII.GetString(file, (int)(4096 + pos), 4));
            Assert.Equal(pos, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan((int)(4096 + pos + 4))));
            pos += BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan((int)(4096 + pos + 8)));
        }
        Assert.Equal(binsSize, pos);
        return head;
    }

    [Fact]
    public void StreamSaveWritesOnlyChangedPagesAndBaseBlock()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Sam);
        byte[] before = File.ReadAllBytes(path);
        RegModel expected = Clone(Hivex.ExportCached(TestData.Require(Hives.Sam)));
        string keyPath = expected.Keys.First(k => k.Value.Count > 0).Key;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        using (RegistryHive hive = RegistryHive.Open(fs, Writable()))
        {
            Set(hive.OpenKey(keyPath)!, expected, keyPath, "Failed", RegistryValueType.DWord, RegistryValue.EncodeDWord(9));
            hive.Save();
        }
        byte[] after = File.ReadAllBytes(path);
        Assert.Equal(before.Length, after.Length);
        int changedPages = 0;
        for (int p = 1; p < before.Length / 4096; p++)
        {
            if (!before.AsSpan(p * 4096, 4096).SequenceEqual(after.AsSpan(p * 4096, 4096)))
            {
                changedPages++;
            }
        }
        Assert.InRange(changedPages, 1, 4); // the value's page, the key's page, the first bin's timestamp
        AssertCleanBaseBlock(path);
        RegModel saved = Hivex.Export(path);
        Assert.True(saved.Diff(expected).Count == 0, string.Join("\n", saved.Diff(expected)));
    }

    [Fact]
    public void FreedCellsAreReusedInsteadOfGrowingTheHive()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Minimal);
        using RegistryHive hive = RegistryHive.Open(path, Writable());
        RegistryKey root = hive.Root;
        for (int round = 0; round < 50; round++)
        {
            RegistryKey k = root.CreateSubkey("Key" + round);
            k.SetValue("data", RegistryValueType.Binary, Pattern(1000, round));
            Assert.True(root.DeleteSubkeyTree("Key" + round));
        }
        hive.Save();
        Assert.Equal(8192, new FileInfo(path).Length);
        Assert.Empty(hive.Verify());
    }

    [Fact]
    public void NewKeysShareTheParentsSecurityCell()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Minimal);
        using RegistryHive hive = RegistryHive.Open(path, Writable());
        int sk = hive.Cells.SecurityCellOf(hive.Root.Cell);
        int refs = hive.Cells.ReferenceCount(sk);
        RegistryKey a = hive.Root.CreateSubkey(@"A\B\C");
        Assert.Equal(sk, hive.Cells.SecurityCellOf(a.Cell));
        Assert.Equal(refs + 3, hive.Cells.ReferenceCount(sk));
        hive.Root.DeleteSubkeyTree("a");
        Assert.Equal(refs, hive.Cells.ReferenceCount(sk));
        Assert.Empty(hive.Verify());
    }

    private static System.Collections.Generic.SortedDictionary<string, ValueData> NewKey() => new(StringComparer.Ordinal);

    private static void Set(RegistryKey key, RegModel expected, string path, string name, RegistryValueType type, byte[] data)
    {
        key.SetValue(name, type, data);
        expected.Keys[path][name] = new ValueData((uint)type, data);
    }

    internal static RegModel Clone(RegModel m)
    {
        var c = new RegModel();
        foreach (var kv in m.Keys)
        {
            c.Keys[kv.Key] = new System.Collections.Generic.SortedDictionary<string, ValueData>(kv.Value, StringComparer.Ordinal);
        }
        return c;
    }
}
