using System;
using System.IO;
using IscsiConvert.Ntfs;
using IscsiConvert.Registry;

namespace IscsiConvert.Cli;

/// <summary>
/// The demo's stand-in for an installed Windows 7 x64: the few files and registry keys the engine reads, built from
/// scratch on the demo's NTFS volume — a SYSTEM hive (Select\Current, the control set with the inbox e1000 NIC's
/// service as Windows 7 installs it, demand start, and an empty Critical Device Database), a SOFTWARE hive with the
/// version, and an INF shaped like the inbox e1000 INF. It is a sample, not Windows: no Microsoft file is embedded.
/// </summary>
internal static class DemoWindows
{
    public const string BootNic = @"PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02";

    // Written for the demo from Microsoft's documented INF syntax, shaped like the Windows 7 inbox e1000 INF.
    private const string E1000Inf =
        "; Sample INF for the iscsi-convert demo, shaped like the Windows 7 inbox Intel PRO/1000 INF.\r\n" +
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nClassGuid={4D36E972-E325-11CE-BFC1-08002BE10318}\r\nProvider=%Msft%\r\nDriverVer=06/21/2006,6.1.7600.16385\r\n" +
        "[Manufacturer]\r\n%Intel%=Intel,NTamd64\r\n" +
        "[Intel.NTamd64]\r\n%E100E%=E1000, PCI\\VEN_8086&DEV_100E\r\n" +
        "[E1000]\r\nCopyFiles=E1000.CopyFiles\r\n[E1000.Services]\r\nAddService=E1G60, 2, E1000.Service\r\n" +
        "[E1000.Service]\r\nServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%12%\\e1g6064.sys\r\nLoadOrderGroup=NDIS\r\n" +
        "[E1000.CopyFiles]\r\ne1g6064.sys\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n" +
        "[Strings]\r\nMsft=\"Microsoft\"\r\nIntel=\"Intel\"\r\nE100E=\"Intel(R) PRO/1000 MT Network Connection\"\r\n";

    /// <summary>Writes the sample installation onto <paramref name="volume"/> (opened writable) and flushes it.</summary>
    public static void Install(NtfsVolume volume)
    {
        volume.CreateDirectory(@"\Windows\System32\config");
        volume.CreateDirectory(@"\Windows\System32\drivers");
        volume.CreateDirectory(@"\Windows\INF");
        volume.WriteFile(@"\Windows\System32\config\SYSTEM", SystemHive());
        volume.WriteFile(@"\Windows\System32\config\SOFTWARE", SoftwareHive());
        volume.WriteFile(@"\Windows\INF\net1000.inf", System.Text.Encoding.ASCII.GetBytes(E1000Inf));
        volume.WriteFile(@"\Windows\System32\drivers\e1g6064.sys", System.Text.Encoding.ASCII.GetBytes("placeholder for the e1000 driver binary"));
        volume.Flush();
    }

    private static byte[] SystemHive() => Hive("SYSTEM", root =>
    {
        RegistryKey select = root.CreateSubkey("Select");
        foreach (string name in new[] { "Current", "Default", "LastKnownGood" })
        {
            select.SetValue(name, RegistryValueType.DWord, RegistryValue.EncodeDWord(1));
        }
        select.SetValue("Failed", RegistryValueType.DWord, RegistryValue.EncodeDWord(0));
        RegistryKey set = root.CreateSubkey("ControlSet001");
        set.CreateSubkey(@"Control\CriticalDeviceDatabase");
        set.CreateSubkey(@"Control\ProductOptions").SetValue("ProductType", RegistryValueType.String, RegistryValue.EncodeString("WinNT"));
        set.CreateSubkey(@"Control\Session Manager\Environment").SetValue("PROCESSOR_ARCHITECTURE", RegistryValueType.String, RegistryValue.EncodeString("AMD64"));
        RegistryKey e1g = set.CreateSubkey(@"Services\E1G60");
        e1g.SetValue("Type", RegistryValueType.DWord, RegistryValue.EncodeDWord(1));
        e1g.SetValue("Start", RegistryValueType.DWord, RegistryValue.EncodeDWord(3));
        e1g.SetValue("ErrorControl", RegistryValueType.DWord, RegistryValue.EncodeDWord(1));
        e1g.SetValue("Group", RegistryValueType.String, RegistryValue.EncodeString("NDIS"));
        e1g.SetValue("ImagePath", RegistryValueType.ExpandString, RegistryValue.EncodeString(@"system32\DRIVERS\e1g6064.sys"));
    });

    private static byte[] SoftwareHive() => Hive("SOFTWARE", root =>
    {
        RegistryKey version = root.CreateSubkey(@"Microsoft\Windows NT\CurrentVersion");
        version.SetValue("ProductName", RegistryValueType.String, RegistryValue.EncodeString("Windows 7 Professional (iscsi-convert demo sample)"));
        version.SetValue("CurrentVersion", RegistryValueType.String, RegistryValue.EncodeString("6.1"));
        version.SetValue("CurrentBuild", RegistryValueType.String, RegistryValue.EncodeString("7601"));
        version.SetValue("CurrentBuildNumber", RegistryValueType.String, RegistryValue.EncodeString("7601"));
        version.SetValue("EditionID", RegistryValueType.String, RegistryValue.EncodeString("Professional"));
    });

    private static byte[] Hive(string fileName, Action<RegistryKey> fill)
    {
        using var stream = new MemoryStream();
        using (RegistryHive hive = RegistryHive.Create(stream, new RegistryCreateOptions { FileName = fileName }))
        {
            fill(hive.Root);
            hive.Save();
        }
        return stream.ToArray();
    }
}
