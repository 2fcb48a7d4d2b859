using System.IO;
using IscsiConvert.Cli;
using IscsiConvert.Ntfs;
using IscsiConvert.Tests;
using IscsiConvert.Windows.Tests;
using Xunit;

namespace IscsiConvert.Packaging.Tests;

/// <summary>
/// The test image the packaging tests prepare: a raw NTFS volume (no partition table, so the oracles read it without
/// an offset) holding the demo's Windows-7-like system (<see cref="DemoWindows"/>) with the inbox-style e1000 driver.
/// </summary>
internal static class SampleImage
{
    public const string BootNic = DemoWindows.BootNic;

    /// <summary>The service of the sample's e1000 INF.</summary>
    public const string Service = "E1G60";

    private const long VolumeSize = 32L << 20;

    /// <summary>
    /// Writes the sample image to <paramref name="path"/> (a new file); <paramref name="hibernated"/> adds a
    /// \hiberfil.sys that starts with "HIBR", as Windows leaves it when it hibernates, so writes must be refused.
    /// </summary>
    public static string Create(string path, bool hibernated = false)
    {
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            file.SetLength(VolumeSize);
            NtfsFormatter.Format(file, new NtfsFormatOptions { Label = "Windows" });
            using NtfsVolume volume = NtfsVolume.Open(file, new NtfsOpenOptions { Writable = true, LeaveOpen = true });
            DemoWindows.Install(volume);
            if (hibernated)
            {
                byte[] hiberfil = new byte[4096];
                "HIBR"u8.CopyTo(hiberfil);
                volume.WriteFile(@"\hiberfil.sys", hiberfil);
                volume.Flush();
            }
        }
        return path;
    }

    /// <summary>
    /// Checks with the oracles (ntfscat for the file system, hivexget for the hive), not with our own reader, that the
    /// image's Windows now starts the NIC's driver at boot and has its Critical Device Database entry.
    /// </summary>
    public static void AssertPrepared(TempDir tmp, string image)
    {
        string hive = ExtractSystemHive(tmp, image);
        Assert.Equal("0", HivexOracle.Get(hive, @"\ControlSet001\Services\" + Service, "Start"));
        Assert.Equal(Service, HivexOracle.Get(hive, @"\ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e", "Service"));
    }

    /// <summary>Checks with the oracles that the image's Windows is as the sample was made: the driver on demand start.</summary>
    public static void AssertUnprepared(TempDir tmp, string image)
    {
        string hive = ExtractSystemHive(tmp, image);
        Assert.Equal("3", HivexOracle.Get(hive, @"\ControlSet001\Services\" + Service, "Start"));
        Assert.Null(HivexOracle.Get(hive, @"\ControlSet001\Control\CriticalDeviceDatabase\pci#ven_8086&dev_100e", "Service"));
    }

    private static string ExtractSystemHive(TempDir tmp, string image)
    {
        Oracle.Require("ntfscat");
        string hive = tmp.File("SYSTEM-" + Path.GetRandomFileName());
        Oracle.RunChecked("sh", "-c", "ntfscat \"$1\" /Windows/System32/config/SYSTEM > \"$2\"", "sh", image, hive);
        return hive;
    }
}
