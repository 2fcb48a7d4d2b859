using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using CsCheck;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>
/// New hives made by <see cref="RegistryHive.Create(string, RegistryCreateOptions?)"/>, filled through the ordinary
/// editing API, read back by hivex (hivexregedit, hivexsh, hivexget, hivexml) and chntpw's reged as exactly what the
/// test wrote. Expected content comes from the test's own inputs, never from our reader.
/// </summary>
public sealed class HiveCreateTests
{
    private static RegistryCreateOptions Options(string? root = null) => new()
    {
        TimeProvider = new FixedTime(),
        RootName = root ?? "ROOT",
    };

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            b[i] = (byte)((i * 13) + seed + (i >> 9));
        }
        return b;
    }

    /// <summary>Every value type, inline, one-cell and big-data sizes, Latin-1 and UTF-16 names.</summary>
    private static readonly (string Key, string Name, RegistryValueType Type, byte[] Data)[] Values =
    {
        (@"Services\Demo", "", RegistryValueType.String, RegistryValue.EncodeString("default")),
        (@"Services\Demo", "None", RegistryValueType.None, Array.Empty<byte>()),
        (@"Services\Demo", "Sz", RegistryValueType.String, RegistryValue.EncodeString("hello world")),
        (@"Services\Demo", "ImagePath", RegistryValueType.ExpandString, RegistryValue.EncodeString(@"%SystemRoot%\System32\drivers\demo.sys")),
        (@"Services\Demo", "Bin", RegistryValueType.Binary, new byte[] { 1, 2, 3 }),
        (@"Services\Demo", "Start", RegistryValueType.DWord, RegistryValue.EncodeDWord(0)),
        (@"Services\Demo", "Big", RegistryValueType.DWordBigEndian, new byte[] { 0, 0, 1, 2 }),
        (@"Services\Demo", "Link", RegistryValueType.Link, Encoding.Unicode.GetBytes(@"\Registry\Machine\Foo")),
        (@"Services\Demo", "Deps", RegistryValueType.MultiString, RegistryValue.EncodeMultiString(new[] { "a", "bb", "ccc" })),
        (@"Services\Demo", "Res", RegistryValueType.ResourceList, Pattern(40, 1)),
        (@"Services\Demo", "Full", RegistryValueType.FullResourceDescriptor, Pattern(36, 2)),
        (@"Services\Demo", "Req", RegistryValueType.ResourceRequirementsList, Pattern(72, 3)),
        (@"Services\Demo", "Q", RegistryValueType.QWord, RegistryValue.EncodeQWord(0x0102030405060708)),
        (@"Services\Demo", "Odd", (RegistryValueType)0x1234, new byte[] { 9, 8, 7, 6, 5 }),
        (@"Services\Demo", "OneCell", RegistryValueType.Binary, Pattern(16344, 4)),
        (@"Services\Demo", "BigData", RegistryValueType.Binary, Pattern(50000, 5)),
        (@"Services\Demo\Sub", "x", RegistryValueType.DWord, RegistryValue.EncodeDWord(0xDEADBEEF)),
        ("Unicode\\\u043a\u043b\u044e\u0447", "\u4e2d\u6587", RegistryValueType.String, RegistryValue.EncodeString("\u00e9\u4e2d")),
        ("Caf\u00e9", "Caf\u00e9", RegistryValueType.DWord, RegistryValue.EncodeDWord(7)),
    };

    private static RegModel Fill(RegistryHive hive, IEnumerable<(string Key, string Name, RegistryValueType Type, byte[] Data)> values)
    {
        var expected = new RegModel();
        expected.Keys[string.Empty] = NewKey();
        foreach (var v in values)
        {
            RegistryKey k = hive.Root.CreateSubkey(v.Key);
            string[] parts = v.Key.Split('\\');
            for (int i = 1; i <= parts.Length; i++)
            {
                string p = string.Join("\\", parts.Take(i));
                if (!expected.Keys.ContainsKey(p))
                {
                    expected.Keys[p] = NewKey();
                }
            }
            k.SetValue(v.Name, v.Type, v.Data);
            expected.Keys[v.Key][v.Name] = new ValueData((uint)v.Type, v.Data);
        }
        return expected;
    }

    private static SortedDictionary<string, ValueData> NewKey() => new(StringComparer.Ordinal);

    [Fact]
    public void NewHiveFilledThroughTheApiReadsBackInHivexAndInUs()
    {
        using var tmp = new TempDir();
        string path = tmp.File("NEW.DAT");
        RegModel expected;
        using (RegistryHive hive = RegistryHive.Create(path, Options()))
        {
            Assert.True(hive.IsWritable);
            Assert.Equal(5, hive.MinorVersion);
            Assert.Equal(path, hive.FilePath);
            expected = Fill(hive, Values);
            IReadOnlyList<RegistryProblem> problems = hive.Verify();
            Assert.True(problems.Count == 0, string.Join("\n", problems));
            hive.Save();
        }

        RegModel hivex = Hivex.Export(path);
        Assert.True(hivex.Diff(expected).Count == 0, string.Join("\n", hivex.Diff(expected)));
        WriteTests.AssertCleanBaseBlock(path);

        // hivexml names the root key as we stored it; hivexsh and hivexget navigate to the new keys.
        string xml = Oracle.RunChecked("hivexml", path);
        Assert.Contains("<node name=\"ROOT\" root=\"1\">", xml, StringComparison.Ordinal);
        string script = tmp.File("cmds");
        File.WriteAllText(script, "cd \\Services\\Demo\nlsval\n");
        string shell = Oracle.RunChecked("hivexsh", "-f", script, path);
        Assert.Contains("\"Start\"=dword:00000000", shell, StringComparison.Ordinal);
        Assert.Contains("\"Q\"=hex(11):08,07,06,05,04,03,02,01", shell, StringComparison.Ordinal);
        Assert.Equal("hello world", Oracle.RunChecked("hivexget", path, @"\Services\Demo", "Sz").TrimEnd('\n'));
        // hivexget prints a DWORD as a signed decimal.
        Assert.Equal("-559038737", Oracle.RunChecked("hivexget", path, @"\Services\Demo\Sub", "x").TrimEnd('\n'));

        using (RegistryHive again = Hives.OpenReadOnly(path))
        {
            Assert.Empty(again.Verify());
            RegModel ours = RegModel.FromHive(again.Root);
            Assert.True(ours.Diff(expected).Count == 0, string.Join("\n", ours.Diff(expected)));
            Assert.Null(again.RecoveredWith);
            Assert.False(again.IsDirtyWithoutRecovery);
        }
    }

    /// <summary>
    /// reged (chntpw 0.1 140201) has no big-data support and aborts on UTF-16 value names, so it reads a hive with
    /// neither; it also prints an empty value without ending its line, which its .reg cannot be parsed back from, so
    /// empty values are left out too.
    /// </summary>
    [Fact]
    public void RegedExportsANewHive()
    {
        using var tmp = new TempDir();
        string path = tmp.File("reged.hiv");
        RegModel expected;
        var values = Values.Where(v => v.Data.Length is > 0 and <= 16344 && NamesAreLatin1(v.Key + v.Name)).ToList();
        using (RegistryHive hive = RegistryHive.Create(path, Options()))
        {
            expected = Fill(hive, values);
            hive.Save();
        }
        RegModel reged = Hivex.RegedExport(path);
        Assert.Equal(expected.Keys.Keys, reged.Keys.Keys);
        foreach (var key in expected.Keys)
        {
            Assert.Equal(key.Value.Keys, reged.Keys[key.Key].Keys);
            foreach (var v in key.Value.Where(v => v.Value.Type != 1))
            {
                Assert.True(v.Value.Same(reged.Keys[key.Key][v.Key]), key.Key + " : " + v.Key + " " + reged.Keys[key.Key][v.Key]);
            }
        }
    }

    private static bool NamesAreLatin1(string s) => s.All(c => c <= 0xFF);

    [Fact]
    public void EmptyHiveHasTheDocumentedBaseBlockAndOneBin()
    {
        using var tmp = new TempDir();
        string path = tmp.File("EMPTY");
        using (RegistryHive hive = RegistryHive.Create(path, new RegistryCreateOptions { TimeProvider = new FixedTime(), FileName = @"\??\C:\Windows\System32\config\A-VERY-LONG-HIVE-NAME" }))
        {
            Assert.Empty(hive.Verify());
            Assert.Equal(0, hive.Root.SubkeyCount);
            Assert.Equal(0, hive.Root.ValueCount);
        }
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(8192, file.Length);
        byte[] head = WriteTests.AssertCleanBaseBlock(path);
        uint U32(int o) => BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(o));
        Assert.Equal(1u, U32(20));      // major
        Assert.Equal(5u, U32(24));      // minor
        Assert.Equal(0u, U32(28));      // primary file
        Assert.Equal(1u, U32(32));      // direct memory load
        Assert.Equal(4096u, U32(40));   // one bin
        Assert.Equal(1u, U32(44));      // clustering factor
        Assert.Equal(FixedTime.Instant.UtcDateTime.ToFileTimeUtc(), BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(12)));
        // The last 31 characters of the name, zero-terminated, as Windows keeps the end of a long path.
        string name = Encoding.Unicode.GetString(head, 48, 64);
        Assert.Equal(@"em32\config\A-VERY-LONG-HIVE-NAME"[^31..] + "\0", name);

        // The root: KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME, named ROOT, no subkeys or values.
        int root = (int)U32(36);
        ReadOnlySpan<byte> nk = file.AsSpan(4096 + root + 4);
        Assert.Equal("nk", Encoding.ASCII.GetString(nk.Slice(0, 2)));
        Assert.Equal(0x2C, BinaryPrimitives.ReadUInt16LittleEndian(nk.Slice(2)));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32LittleEndian(nk.Slice(28)));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32LittleEndian(nk.Slice(40)));
        Assert.Equal("ROOT", Encoding.ASCII.GetString(nk.Slice(76, BinaryPrimitives.ReadUInt16LittleEndian(nk.Slice(72)))));

        // hivex agrees: one key, no values, root named ROOT.
        RegModel hivex = Hivex.Export(path);
        Assert.Equal(new[] { string.Empty }, hivex.Keys.Keys);
        Assert.Empty(hivex.Keys[string.Empty]);
        Assert.Contains("<node name=\"ROOT\" root=\"1\">", Oracle.RunChecked("hivexml", path), StringComparison.Ordinal);
    }

    /// <summary>
    /// The root's descriptor grants what Windows grants on the roots of the hives it creates: the distinct ACEs, owner and
    /// group of the root descriptor of the corpus's Windows 7 SYSTEM hive (root "CMI-CreateHive{…}"), read from that file.
    /// </summary>
    [Fact]
    public void RootSecurityMatchesWhatWindowsGivesNewHives()
    {
        using var tmp = new TempDir();
        string path = tmp.File("SEC");
        using (RegistryHive hive = RegistryHive.Create(path, Options()))
        {
            hive.Save();
        }
        var ours = DescribeRootDescriptor(File.ReadAllBytes(path));
        var windows = DescribeRootDescriptor(File.ReadAllBytes(TestData.Require(Hives.Win7System)));
        Assert.Equal(windows.Control, ours.Control);
        Assert.Equal(windows.Owner, ours.Owner);
        Assert.Equal(windows.Group, ours.Group);
        Assert.Equal(windows.Aces.Distinct().OrderBy(a => a, StringComparer.Ordinal), ours.Aces.OrderBy(a => a, StringComparer.Ordinal));
        Assert.Equal(ours.Aces.Count, ours.Aces.Distinct().Count());
    }

    /// <summary>A test-side reader of the root's sk cell (MS-DTYP self-relative descriptor), independent of the library.</summary>
    private static (ushort Control, string Owner, string Group, List<string> Aces) DescribeRootDescriptor(byte[] file)
    {
        int root = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(36));
        int sk = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(4096 + root + 4 + 44));
        ReadOnlySpan<byte> c = file.AsSpan(4096 + sk + 4);
        Assert.Equal("sk", Encoding.ASCII.GetString(c.Slice(0, 2)));
        byte[] sd = c.Slice(20, BinaryPrimitives.ReadInt32LittleEndian(c.Slice(16))).ToArray();
        string Sid(int o)
        {
            var sb = new StringBuilder($"S-{sd[o]}-{sd[o + 7]}");
            for (int i = 0; i < sd[o + 1]; i++)
            {
                sb.Append('-').Append(BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(o + 8 + (4 * i))));
            }
            return sb.ToString();
        }
        int dacl = BinaryPrimitives.ReadInt32LittleEndian(sd.AsSpan(16));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(dacl + 4));
        var aces = new List<string>();
        int pos = dacl + 8;
        for (int i = 0; i < count; i++)
        {
            aces.Add($"type {sd[pos]} flags 0x{sd[pos + 1]:X2} mask 0x{BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(pos + 4)):X8} {Sid(pos + 8)}");
            pos += BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(pos + 2));
        }
        return (BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(2)), Sid(BinaryPrimitives.ReadInt32LittleEndian(sd.AsSpan(4))),
            Sid(BinaryPrimitives.ReadInt32LittleEndian(sd.AsSpan(8))), aces);
    }

    [Fact]
    public void CreatingOverAnExistingFileFailsAndLeavesItUnchanged()
    {
        using var tmp = new TempDir();
        string path = tmp.File("EXISTS");
        byte[] before = Pattern(5000, 42);
        File.WriteAllBytes(path, before);
        Assert.Throws<IOException>(() => RegistryHive.Create(path, Options()));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(tmp.Path));

        // A leftover NAME.creating (not ours) is neither used nor deleted.
        string other = tmp.File("OTHER");
        File.WriteAllBytes(other + ".creating", before);
        Assert.Throws<IOException>(() => RegistryHive.Create(other, Options()));
        Assert.Equal(before, File.ReadAllBytes(other + ".creating"));
        Assert.False(File.Exists(other));
    }

    [Fact]
    public void StreamHiveIsCreatedAndSavedIntoTheStream()
    {
        using var tmp = new TempDir();
        string path = tmp.File("stream.hiv");
        RegModel expected;
        using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            using RegistryHive hive = RegistryHive.Create(fs, Options("CMI-CreateHive{F10156BE-0E87-4EFB-969E-5DA29D131144}"));
            Assert.Null(hive.FilePath);
            expected = Fill(hive, Values);
            hive.Save();
        }
        WriteTests.AssertCleanBaseBlock(path);
        RegModel hivex = Hivex.Export(path);
        Assert.True(hivex.Diff(expected).Count == 0, string.Join("\n", hivex.Diff(expected)));
        Assert.Contains("<node name=\"CMI-CreateHive{F10156BE-0E87-4EFB-969E-5DA29D131144}\" root=\"1\">", Oracle.RunChecked("hivexml", path), StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidRootNameIsRefusedBeforeAnythingIsWritten()
    {
        using var tmp = new TempDir();
        string path = tmp.File("BAD");
        Assert.Throws<ArgumentException>(() => RegistryHive.Create(path, Options(@"a\b")));
        Assert.Throws<ArgumentException>(() => RegistryHive.Create(path, Options(string.Empty)));
        Assert.False(File.Exists(path));
    }

    // Names for random trees: case variants (one key, as Windows compares), a UTF-16 name and a Latin-1 one.
    private static readonly string[] TreeNames = { "a", "A", "b", "Services", "\u043a\u043b\u044e\u0447", "Z\u00e9ro", "x y" };

    [Fact]
    public void RandomKeyTreesOnANewHiveMatchHivex()
    {
        Oracle.Require("hivexregedit");
        Gen<(int[] Path, int Value)[]> gen = Gen.Select(Gen.Int[0, TreeNames.Length - 1].Array[1, 4], Gen.Int[0, 3], (p, v) => (p, v)).Array[1, 25];
        gen.Sample(entries =>
        {
            using var tmp = new TempDir();
            string path = tmp.File("tree");
            var expected = new RegModel();
            expected.Keys[string.Empty] = NewKey();
            // Model keys by upper-cased path, keeping the spelling first used, as Windows keeps a key's first name.
            var spelled = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { [string.Empty] = string.Empty };
            using (RegistryHive hive = RegistryHive.Create(path, Options()))
            {
                foreach ((int[] p, int v) in entries)
                {
                    string requested = string.Join("\\", p.Select(i => TreeNames[i]));
                    RegistryKey k = hive.Root.CreateSubkey(requested);
                    string parent = string.Empty;
                    foreach (string part in requested.Split('\\'))
                    {
                        string candidate = parent.Length == 0 ? part : parent + "\\" + part;
                        if (!spelled.TryGetValue(candidate, out string? actual))
                        {
                            actual = spelled[parent].Length == 0 ? part : spelled[parent] + "\\" + part;
                            spelled[candidate] = actual;
                            expected.Keys[actual] = NewKey();
                        }
                        parent = candidate;
                    }
                    if (v > 0)
                    {
                        byte[] data = v == 1 ? RegistryValue.EncodeDWord((uint)p.Length) : Pattern(v * 3000, p.Length);
                        k.SetValue("v" + v, v == 1 ? RegistryValueType.DWord : RegistryValueType.Binary, data);
                        expected.Keys[spelled[requested]]["v" + v] = new ValueData(v == 1 ? 4u : 3u, data);
                    }
                }
                Assert.Empty(hive.Verify());
                hive.Save();
            }
            RegModel hivex = Hivex.Export(path);
            Assert.True(hivex.Diff(expected).Count == 0, string.Join("\n", hivex.Diff(expected)));
        }, iter: 12, threads: 1);
    }
}
