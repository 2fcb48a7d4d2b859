using System.IO;
using IscsiConvert.Tests;

namespace IscsiConvert.Registry.Tests;

/// <summary>The real hives of the shared corpus.</summary>
internal static class Hives
{
    public const string Minimal = "registry/hivex-minimal/minimal";
    public const string Bcd = "registry/misc/BCD";
    public const string Sam = "registry/misc/SAM";
    public const string Security = "registry/misc/SECURITY";
    public const string Win7System = "registry/win7-system/SYSTEM";
    public const string NtUser = "registry/win10-dirty-ntuser/transactions_NTUSER.DAT";
    public const string OldDirty = "registry/win7-dirty-oldlog/OldDirtyHive";
    public const string OldRecoveredByWindows = "registry/win7-dirty-oldlog/RecoveredHive_Windows7";
    public const string SystemBRecoveredByYarp = "registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp";

    /// <summary>Copies a hive (and optionally its logs) into a temp dir, writable.</summary>
    public static string CopyTo(TempDir dir, string relative, params string[] logSuffixes)
    {
        string src = TestData.Require(relative);
        string dst = dir.File(Path.GetFileName(src));
        File.Copy(src, dst);
        File.SetAttributes(dst, FileAttributes.Normal);
        foreach (string suffix in logSuffixes)
        {
            string log = TestData.Require(relative.Substring(0, relative.LastIndexOf('/') + 1) + Path.GetFileName(src) + suffix);
            string ldst = dir.File(Path.GetFileName(log));
            File.Copy(log, ldst);
            File.SetAttributes(ldst, FileAttributes.Normal);
        }
        return dst;
    }

    /// <summary>SYSTEM_B and its two logs, decompressed into <paramref name="dir"/>.</summary>
    public static string SystemB(TempDir dir)
    {
        string hive = TestData.Gunzip("registry/win10-dirty-system/SYSTEM_B.gz", dir.Path);
        TestData.Gunzip("registry/win10-dirty-system/SYSTEM_B.LOG1.gz", dir.Path);
        TestData.Gunzip("registry/win10-dirty-system/SYSTEM_B.LOG2.gz", dir.Path);
        return hive;
    }

    public static RegistryHive OpenReadOnly(string path, bool recover = true) =>
        RegistryHive.Open(path, new RegistryOpenOptions { RecoverFromLogs = recover });

    public static RegistryHive OpenWritable(string path) =>
        RegistryHive.Open(path, new RegistryOpenOptions { Writable = true });
}
