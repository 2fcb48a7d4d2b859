using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>
/// A no-op writes nothing: setting a value to the type and data it has, or creating a key that exists, marks nothing,
/// and saving a hive with nothing changed writes no byte (no sequence bump, no timestamp) to a file or a stream.
/// </summary>
public sealed class NoOpSaveTests
{
    private const string Control = @"ControlSet001\Control";

    [Fact]
    public void RepeatingExistingDataAndKeysLeavesAFileHiveUntouched()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Win7System);
        (string hash, DateTime mtime) before = Stamp(path);
        using (RegistryHive hive = RegistryHive.Open(path, new RegistryOpenOptions { Writable = true, TimeProvider = new FixedTime() }))
        {
            RegistryKey control = hive.OpenKey(Control)!;
            DateTimeOffset lastWrite = control.LastWriteTime;
            foreach (RegistryValue v in control.GetValues())
            {
                Assert.False(control.SetValue(v.Name, v.Type, v.GetBytes()), $"re-setting {v.Name} reported a change");
            }
            Assert.Equal(Control, hive.Root.CreateSubkey(@"controlset001\CONTROL").Path, ignoreCase: true);
            Assert.False(hive.HasUnsavedChanges);
            Assert.Equal(lastWrite, hive.OpenKey(Control)!.LastWriteTime);
            hive.Save();
        }
        Assert.Equal(before, Stamp(path));
        Assert.False(File.Exists(path + ".saving"));
    }

    [Fact]
    public void SavingAnUnchangedStreamHiveWritesNoByte()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Win7System);
        (string hash, DateTime mtime) before = Stamp(path);
        using (var counting = new CountingStream(new FileStream(path, FileMode.Open, FileAccess.ReadWrite)))
        {
            using RegistryHive hive = RegistryHive.Open(counting, new RegistryOpenOptions { Writable = true });
            RegistryKey select = hive.OpenKey("Select")!;
            RegistryValue current = select.GetValue("Current")!;
            Assert.False(select.SetValue("current", current.Type, current.GetBytes()));
            hive.Save();
            hive.Save();
            Assert.Equal(0, counting.BytesWritten);
            Assert.Equal(0, counting.SetLengthCalls);
        }
        Assert.Equal(before, Stamp(path));
    }

    [Fact]
    public void ADifferentTypeWithTheSameBytesIsAChange()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Win7System);
        using RegistryHive hive = Hives.OpenWritable(path);
        RegistryKey select = hive.OpenKey("Select")!;
        RegistryValue current = select.GetValue("Current")!;
        Assert.Equal(RegistryValueType.DWord, current.Type);
        Assert.True(select.SetValue("Current", RegistryValueType.Binary, current.GetBytes()));
        Assert.True(hive.HasUnsavedChanges);
        Assert.Equal(RegistryValueType.Binary, hive.OpenKey("Select")!.GetValue("Current")!.Type);
    }

    internal static (string Hash, DateTime Mtime) Stamp(string path) =>
        (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))), File.GetLastWriteTimeUtc(path));
}
