using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Ntfs;
using IscsiConvert.Registry;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The lower layers together, as the engine can use them: the real 11 MiB Windows 7 SYSTEM hive on an NTFS volume
/// (written by ntfs-3g), opened through <see cref="NtfsVolume.OpenWrite"/>, edited and saved in place. Counted under
/// the volume, a small edit writes a few dozen KiB, never the hive; repeating the same edit writes no byte at all.
/// ntfs-3g and hivex read the result.
/// </summary>
public sealed class HiveOnNtfsWriteBudgetTests
{
    private const string HivePath = @"\Windows\System32\config\SYSTEM";
    private const string Service = @"ControlSet001\services\IscsiBudget";

    [Fact]
    public void ASmallHiveEditSavedThroughTheVolumeWritesOnlyDirtyPagesAndARepeatWritesNothing()
    {
        using var tmp = new TempDir();
        string image = NtfsImageBuilder.BuildWindows(tmp, tmp.File("volume.img"), TestData.Require("registry/win7-system/SYSTEM"));

        long first = EditThroughVolume(image);
        Assert.True(first > 0);
        Assert.True(first <= 128 * 1024, $"{first} bytes written to the volume for a small edit of an 11 MiB hive");

        string hive = tmp.File("SYSTEM.out");
        File.WriteAllBytes(hive, BinaryOracleBytes("ntfscat", image, "Windows/System32/config/SYSTEM"));
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, "\\" + Service, "Start").Trim());
        Assert.Equal("NDIS", Oracle.RunChecked("hivexget", hive, "\\" + Service, "Group").Trim());
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, "ntfsfix -n: " + fix.StdOut + fix.StdErr);

        string before = Sha256(image);
        DateTime mtime = File.GetLastWriteTimeUtc(image);
        Assert.Equal(0, EditThroughVolume(image));
        Assert.Equal(before, Sha256(image));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(image));
    }

    // Opens the volume on a counting stream, applies the edit to the hive in place, saves, flushes; returns bytes written.
    private static long EditThroughVolume(string image)
    {
        using var counting = new CountingStream(new FileStream(image, FileMode.Open, FileAccess.ReadWrite));
        using (NtfsVolume volume = NtfsVolume.Open(counting, new NtfsOpenOptions { Writable = true, FilePath = image, LeaveOpen = true }))
        {
            using (Stream file = volume.OpenWrite(HivePath, FileMode.Open))
            using (RegistryHive hive = RegistryHive.Open(file, new RegistryOpenOptions { Writable = true }))
            {
                RegistryKey k = hive.Root.CreateSubkey(Service);
                k.SetValue("Start", RegistryValueType.DWord, RegistryValue.EncodeDWord(0));
                k.SetValue("Group", RegistryValueType.String, RegistryValue.EncodeString("NDIS"));
                hive.Save();
            }
            volume.Flush();
        }
        return counting.BytesWritten;
    }

    private static byte[] BinaryOracleBytes(string tool, params string[] arguments)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Oracle.Require(tool)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = System.Diagnostics.Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(output);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{tool}: {stderr.GetAwaiter().GetResult()}");
        return output.ToArray();
    }

    private static string Sha256(string path)
    {
        using FileStream f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f));
    }
}
