using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>Every hive of the corpus reads the same as hivexregedit --export reads it (keys, values, types, bytes).</summary>
public sealed class ReadTests
{
    /// <summary>Bytes a full open-and-walk may allocate per hive byte (measured: 3.4 on the Windows 7 SYSTEM hive; the bound catches work that grows faster than the hive).</summary>
    private const long WalkAllocationPerHiveByte = 8;

    public static TheoryData<string> PlainHives => new()
    {
        Hives.Minimal, Hives.Bcd, Hives.Sam, Hives.Security, Hives.Win7System, Hives.NtUser, Hives.OldDirty,
        Hives.OldRecoveredByWindows, Hives.SystemBRecoveredByYarp,
    };

    [Theory]
    [MemberData(nameof(PlainHives))]
    public void ApiAndRegExportMatchHivex(string relative)
    {
        string path = TestData.Require(relative);
        RegModel expected = Hivex.ExportCached(path);
        // hivex does not replay logs, so read the primary as it is for this comparison.
        using RegistryHive hive = Hives.OpenReadOnly(path, recover: false);
        RegModel api = RegModel.FromHive(hive.Root);
        Assert.True(api.Diff(expected).Count == 0, relative + ":\n" + string.Join("\n", api.Diff(expected)));
        Assert.True(expected.Keys.Count > 0);

        var text = new StringWriter();
        RegistryExport.WriteReg(hive.Root, text, string.Empty);
        RegModel ours = RegModel.ParseReg(text.ToString(), string.Empty);
        Assert.True(ours.Diff(expected).Count == 0, relative + " (.reg):\n" + string.Join("\n", ours.Diff(expected)));
    }

    [Fact]
    public void DirtySystemBPrimaryMatchesHivex()
    {
        using var tmp = new TempDir();
        string path = Hives.SystemB(tmp);
        RegModel expected = Hivex.Export(path);
        using RegistryHive hive = Hives.OpenReadOnly(path, recover: false);
        Assert.True(hive.IsDirtyWithoutRecovery);
        RegModel api = RegModel.FromHive(hive.Root);
        Assert.True(api.Diff(expected).Count == 0, string.Join("\n", api.Diff(expected)));
    }

    [Fact]
    public void Win7SystemFactsFromManifest()
    {
        string path = TestData.Require(Hives.Win7System);
        byte[] file = File.ReadAllBytes(path);
        // The work is bounded, not timed (docs/testing.md): opening and walking an 11 MiB hive reads each byte about
        // once and allocates a small multiple of the file, whatever the machine's speed.
        using var counting = new CountingStream(new MemoryStream(file, writable: false));
        long before = GC.GetAllocatedBytesForCurrentThread();
        using RegistryHive hive = RegistryHive.Open(counting, new RegistryOpenOptions());
        int keys = RegistryExport.Walk(hive.Root).Count();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(8, hive.Root.SubkeyCount);
        Assert.Equal(2548, hive.OpenKey(@"ControlSet001\Control\CriticalDeviceDatabase")!.SubkeyCount);
        Assert.Equal(2548, hive.OpenKey(@"\controlset001\CONTROL\criticaldevicedatabase")!.GetSubkeyNames().Count);
        Assert.Equal(5, hive.MinorVersion);
        Assert.True(keys > 10000);
        Assert.True(counting.BytesRead <= 2L * file.Length, $"open and walk read {counting.BytesRead} bytes of a {file.Length}-byte hive");
        Assert.True(allocated <= WalkAllocationPerHiveByte * file.Length, $"open and walk allocated {allocated} bytes for a {file.Length}-byte hive");
    }

    [Fact]
    public void ReadOnlyOpenChangesNoByte()
    {
        string path = TestData.Require(Hives.NtUser);
        string dir = Path.GetDirectoryName(path)!;
        var before = Directory.GetFiles(dir).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
        using (RegistryHive hive = Hives.OpenReadOnly(path))
        {
            Assert.NotNull(hive.RecoveredWith);
            Assert.Throws<InvalidOperationException>(() => hive.Root.SetValue("x", RegistryValueType.DWord, new byte[4]));
            Assert.Throws<InvalidOperationException>(() => hive.Save());
        }
        foreach (var kv in before)
        {
            Assert.Equal(kv.Value, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(kv.Key))));
        }
    }

    [Theory]
    [InlineData(Hives.Minimal)]
    [InlineData(Hives.Bcd)]
    [InlineData(Hives.Sam)]
    [InlineData(Hives.Win7System)]
    [InlineData(Hives.OldRecoveredByWindows)]
    public void VerifyFindsNothingInCleanHives(string relative)
    {
        using RegistryHive hive = Hives.OpenReadOnly(TestData.Require(relative));
        var problems = hive.Verify();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
    }
}
