using IscsiConvert.Drivers;
using IscsiConvert.Registry;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>The target INF matching uses, from hives written by hivexregedit (values read back with hivexget).</summary>
public class TargetOsTests
{
    private static WindowsSystemConfig Read(TempDir tmp, string arch, string productType, params string[] versionValues)
    {
        string system = HivexOracle.Build(tmp, "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]", "\"Current\"=dword:00000002",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002]",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control]",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\ProductOptions]", $"\"ProductType\"=\"{productType}\"",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\Session Manager]",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Control\\Session Manager\\Environment]", $"\"PROCESSOR_ARCHITECTURE\"=\"{arch}\"");
        var lines = new System.Collections.Generic.List<string>
        {
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft]",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT]",
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]",
        };
        lines.AddRange(versionValues);
        string software = HivexOracle.Build(tmp, "SOFTWARE", "HKEY_LOCAL_MACHINE\\SOFTWARE", lines.ToArray());
        Assert.Equal(arch, HivexOracle.Get(system, @"\ControlSet002\Control\Session Manager\Environment", "PROCESSOR_ARCHITECTURE"));
        using RegistryHive s = RegistryHive.Open(system, null);
        using RegistryHive sw = RegistryHive.Open(software, null);
        return WindowsSystemConfig.Read(s, sw, null);
    }

    [Fact]
    public void Windows_7_x86_workstation()
    {
        using var tmp = new TempDir();
        TargetOs t = Read(tmp, "x86", "WinNT", "\"CurrentVersion\"=\"6.1\"", "\"CurrentBuild\"=\"7601\"").GetTargetOs()!;
        Assert.Equal(("x86", 6, 1, 7601, 1), (t.Architecture, t.Major, t.Minor, t.Build, t.ProductType));
    }

    [Fact]
    public void Server_2019_uses_the_major_version_number_not_the_6_3_of_current_version()
    {
        using var tmp = new TempDir();
        WindowsSystemConfig c = Read(tmp, "AMD64", "ServerNT", "\"CurrentVersion\"=\"6.3\"", "\"CurrentBuild\"=\"17763\"",
            "\"CurrentMajorVersionNumber\"=dword:0000000a", "\"CurrentMinorVersionNumber\"=dword:00000000", "\"InstallationType\"=\"Server\"");
        Assert.Equal("ControlSet002", c.CurrentControlSet);
        Assert.Equal("ServerNT", c.ProductType);
        TargetOs t = c.GetTargetOs()!;
        Assert.Equal(("amd64", 10, 0, 17763, 3), (t.Architecture, t.Major, t.Minor, t.Build, t.ProductType));
    }

    [Fact]
    public void Domain_controller_arm64_and_unreadable_versions()
    {
        using var tmp = new TempDir();
        TargetOs t = Read(tmp, "ARM64", "LanmanNT", "\"CurrentVersion\"=\"6.3\"", "\"CurrentBuild\"=\"9600\"").GetTargetOs()!;
        Assert.Equal(("arm64", 6, 3, 9600, 2), (t.Architecture, t.Major, t.Minor, t.Build, t.ProductType));

        using var tmp2 = new TempDir();
        Assert.Null(Read(tmp2, "AMD64", "WinNT", "\"CurrentVersion\"=\"six\"").GetTargetOs());
        using var tmp3 = new TempDir();
        Assert.Null(Read(tmp3, "MIPS", "WinNT", "\"CurrentVersion\"=\"6.1\"").GetTargetOs());
    }
}
