using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using IscsiConvert.Tests;
using IscsiConvert.Windows.Tests;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// Two Windows images built with mkntfs + ntfs-3g for the `match` and `inspect` tests: the real Windows 7 SP1 x86
/// SYSTEM hive and the real Windows 10 1709 x64 SYSTEM hive (MANIFEST.md), each with a SOFTWARE hive written by
/// hivexregedit, and \Windows\INF holding the real testdata INFs (stamped as their builds stamp them) and the e1000
/// fixtures below. Built once per test class, on first use, so that a missing oracle skips instead of failing the fixture.
/// </summary>
public sealed class MatchImages : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly Lazy<string> _win7;
    private readonly Lazy<string> _win10;
    private readonly Lazy<string> _win10NoSoftware;

    public MatchImages()
    {
        _win7 = new Lazy<string>(() => BuildWin7(_tmp));
        _win10 = new Lazy<string>(() => BuildWin10(_tmp, withSoftware: true));
        _win10NoSoftware = new Lazy<string>(() => BuildWin10(_tmp, withSoftware: false));
    }

    /// <summary>Windows 7 SP1 x86 (MANIFEST.md: the win7-system hive is Windows 7 SP1 x86): target NTx86.6.1, build 7601.</summary>
    public string Win7 => _win7.Value;

    /// <summary>Windows 10 1709 x64 (MANIFEST.md: SYSTEM_B is Windows 10 1709, build 16299): target NTamd64.10.0, build 16299.</summary>
    public string Win10 => _win10.Value;

    /// <summary>The Windows 10 SYSTEM hive and INFs but no SOFTWARE hive: the version cannot be read.</summary>
    public string Win10WithoutSoftware => _win10NoSoftware.Value;

    public TempDir Tmp => _tmp;

    /// <summary>
    /// A QCOW2 child that qemu-img made over a copy of <see cref="Win7"/> in a new folder <paramref name="name"/>, and
    /// the parent then renamed, so that the path stored in the child names nothing: what --parent is for.
    /// </summary>
    public (string Folder, string Child, string MovedParent) Win7ChildWithMovedParent(string name)
    {
        Oracle.Require("qemu-img");
        string dir = Directory.CreateDirectory(_tmp.File(name)).FullName;
        string parent = Path.Combine(dir, "base.raw");
        File.Copy(Win7, parent);
        string child = Path.Combine(dir, "child.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", child);
        string moved = Path.Combine(dir, "renamed.raw");
        File.Move(parent, moved);
        return (dir, child, moved);
    }

    public void Dispose() => _tmp.Dispose();

    // ---- e1000 fixtures -------------------------------------------------------------------------------------------
    // FIXTURES written for these tests, not Intel's files: INFs shaped like the inbox e1000 drivers of Windows
    // (net1000/e1g: Class=Net, an Intel manufacturer with NTx86/NTamd64 models sections, an E1000 install section with an
    // E1G60 function-driver service), written from Microsoft's documented INF syntax. The rankings the tests expect
    // follow from Microsoft's documented ranking rules ("How Windows Ranks Drivers", "INF Manufacturer Section"), not
    // from our code: a device hardware-ID match beats a compatible-ID match whatever the dates, an ID earlier in the
    // device's list (more specific, with SUBSYS) beats a later one, then the newer DriverVer date wins, and a models
    // section whose TargetOSVersion needs NT 10.0 build 16299 does not exist for Windows 7.

    private const string E1000Tail =
        "[E1000]\r\nCopyFiles = E1000.CopyFiles\r\n" +
        "[E1000.Services]\r\nAddService = E1G60, 2, E1000.Service\r\n" +
        "[E1000.Service]\r\nServiceType = 1\r\nStartType = 3\r\nErrorControl = 1\r\nServiceBinary = %12%\\E1G60.sys\r\nLoadOrderGroup = NDIS\r\n" +
        "[E1000.CopyFiles]\r\nE1G60.sys\r\n[DestinationDirs]\r\nDefaultDestDir = 12\r\n" +
        "[Strings]\r\nIntel = \"Intel\"\r\nE100E = \"Intel(R) PRO/1000 MT Network Connection\"\r\n";

    private static string E1000Head(string driverVer) =>
        "[Version]\r\nSignature = \"$Windows NT$\"\r\nClass = Net\r\nClassGUID = {4d36e972-e325-11ce-bfc1-08002be10318}\r\n" +
        "Provider = %Intel%\r\nDriverVer = " + driverVer + "\r\n";

    /// <summary>Older (2010) driver: the generic ID and a subsystem-specific ID, for every Windows of either architecture.</summary>
    public static readonly string E1000Old =
        E1000Head("03/01/2010,9.13.41.0") +
        "[Manufacturer]\r\n%Intel% = Intel, NTx86, NTamd64\r\n" +
        "[Intel.NTx86]\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086\r\n" +
        "[Intel.NTamd64]\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086\r\n" +
        E1000Tail;

    /// <summary>Newer (2015) driver: the generic ID only.</summary>
    public static readonly string E1000New =
        E1000Head("06/15/2015,12.15.22.6") +
        "[Manufacturer]\r\n%Intel% = Intel, NTx86, NTamd64\r\n" +
        "[Intel.NTx86]\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E\r\n[Intel.NTamd64]\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E\r\n" +
        E1000Tail;

    /// <summary>A driver for Windows 10 1709 (build 16299) and later only, subsystem-specific ID, dated 2017.</summary>
    public static readonly string E1000Rs3 =
        E1000Head("09/01/2017,12.17.8.9") +
        "[Manufacturer]\r\n%Intel% = Intel, NTx86.10.0...16299, NTamd64.10.0...16299\r\n" +
        "[Intel.NTx86.10.0...16299]\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086\r\n" +
        "[Intel.NTamd64.10.0...16299]\r\n%E100E% = E1000, PCI\\VEN_8086&DEV_100E&SUBSYS_001E8086\r\n" +
        E1000Tail;

    /// <summary>The newest (2024) INF, which lists the e1000 only as a compatible ID of another device.</summary>
    public static readonly string GenericNet =
        "[Version]\r\nSignature = \"$Windows NT$\"\r\nClass = Net\r\nProvider = Example\r\nDriverVer = 01/01/2024,1.0.0.0\r\n" +
        "[Manufacturer]\r\nExample = Example, NTx86, NTamd64\r\n" +
        "[Example.NTx86]\r\nGeneric = G, PCI\\VEN_FFFF&DEV_FFFF, PCI\\VEN_8086&DEV_100E\r\n" +
        "[Example.NTamd64]\r\nGeneric = G, PCI\\VEN_FFFF&DEV_FFFF, PCI\\VEN_8086&DEV_100E\r\n[G]\r\n[G.Services]\r\nAddService = gnet, 2, GS\r\n[GS]\r\nServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%12%\\gnet.sys\r\n";

    /// <summary>
    /// A testdata INF or INX as the driver's build stamps it (stampinf -a replaces $ARCH$; virtio-win's build replaces
    /// _INX_SUBSYS_VENDOR_ID with Red Hat's PCI vendor ID 1AF4).
    /// </summary>
    public static string Stamped(string relative, string arch) =>
        File.ReadAllText(TestData.Require(relative))
            .Replace("$ARCH$", arch, StringComparison.Ordinal)
            .Replace("_INX_SUBSYS_VENDOR_ID", "1AF4", StringComparison.Ordinal);

    private static Dictionary<string, string> Infs(string arch) => new()
    {
        ["nete1g-old.inf"] = E1000Old,
        ["nete1g-new.inf"] = E1000New,
        ["nete1g-rs3.inf"] = E1000Rs3,
        ["netgeneric.inf"] = GenericNet,
        ["netkvm.inf"] = Stamped("inf/virtio-win/netkvm-base.txt", arch),
        ["viostor.inf"] = Stamped("inf/virtio-win/viostor.inx", arch),
        ["vioscsi.inf"] = Stamped("inf/virtio-win/vioscsi.inx", arch),
        ["lsi_u3.inf"] = Stamped("inf/ms-pl/lsi_u3.inf", arch),
    };

    private static string Software(TempDir tmp, string name, params string[] values)
    {
        var lines = new List<string>
        {
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]",
        };
        lines.AddRange(values);
        return HivexOracle.Build(tmp, name, "HKEY_LOCAL_MACHINE\\SOFTWARE", lines.ToArray());
    }

    private static void Fill(string mount, string system, string? software, Dictionary<string, string> infs, Action<string>? more = null)
    {
        string windows = Path.Combine(mount, "Windows");
        string config = Path.Combine(windows, "System32", "config");
        Directory.CreateDirectory(config);
        File.Copy(system, Path.Combine(config, "SYSTEM"));
        if (software is not null)
        {
            File.Copy(software, Path.Combine(config, "SOFTWARE"));
        }
        string inf = Path.Combine(windows, "INF");
        Directory.CreateDirectory(inf);
        foreach (var (name, text) in infs)
        {
            File.WriteAllText(Path.Combine(inf, name), text, new UTF8Encoding(false));
        }
        // Not an INF Windows could read either: the match goes on without it and says so.
        File.WriteAllBytes(Path.Combine(inf, "broken.inf"), new byte[] { 0x5B, 0x56, 0x00, 0x01, 0x02, 0x03, 0xFF, 0xFE, 0x00, 0x00, 0x07, 0x08 });
        more?.Invoke(windows);
    }

    private static string BuildWin7(TempDir tmp)
    {
        string system = TestData.Require("registry/win7-system/SYSTEM");
        string software = Software(tmp, "SOFTWARE-win7",
            "\"ProductName\"=\"Windows 7 Professional\"", "\"CurrentVersion\"=\"6.1\"", "\"CurrentBuild\"=\"7601\"", "\"CurrentBuildNumber\"=\"7601\"",
            "\"EditionID\"=\"Professional\"", "\"InstallationType\"=\"Client\"");
        return NtfsImageBuilder.Build(tmp, tmp.File("win7.raw"), mount => Fill(mount, system, software, Infs("x86")));
    }

    private static string BuildWin10(TempDir tmp, bool withSoftware)
    {
        // The yarp-recovered copy of SYSTEM_B (MANIFEST.md): the same hive, clean.
        string system = TestData.Require("registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp");
        string? software = withSoftware
            ? Software(tmp, "SOFTWARE-win10",
                "\"ProductName\"=\"Windows 10 Pro\"", "\"CurrentVersion\"=\"6.3\"", "\"CurrentBuild\"=\"16299\"", "\"CurrentBuildNumber\"=\"16299\"",
                "\"EditionID\"=\"Professional\"", "\"InstallationType\"=\"Client\"",
                "\"CurrentMajorVersionNumber\"=dword:0000000a", "\"CurrentMinorVersionNumber\"=dword:00000000")
            : null;
        string name = withSoftware ? "win10.raw" : "win10-nosoftware.raw";
        return NtfsImageBuilder.Build(tmp, tmp.File(name), mount => Fill(mount, system, software, Infs("amd64"), windows =>
        {
            // The same netkvm INF staged in the driver store as well, the way Windows 10 keeps inbox and OEM packages.
            string package = Path.Combine(windows, "System32", "DriverStore", "FileRepository", "netkvm.inf_amd64_0123456789abcdef");
            Directory.CreateDirectory(package);
            File.WriteAllText(Path.Combine(package, "netkvm.inf"), Stamped("inf/virtio-win/netkvm-base.txt", "amd64"), new UTF8Encoding(false));
        }));
    }
}
