using IscsiConvert.Registry;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>A SYSTEM hive without a bootable control set is reported as corrupt data, naming the key, never guessed around.</summary>
public class BadSystemHiveTests
{
    [Fact]
    public void Missing_select_key_is_corrupt_data()
    {
        using var tmp = new TempDir();
        string hive = HivexOracle.Build(tmp, "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]");
        using RegistryHive system = RegistryHive.Open(hive, null);
        var ex = Assert.Throws<CorruptDataException>(() => WindowsSystemConfig.Read(system, null, null));
        Assert.Contains("Select", ex.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Select_current_naming_a_missing_control_set_is_corrupt_data()
    {
        using var tmp = new TempDir();
        string hive = HivexOracle.Build(tmp, "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]",
            "\"Current\"=dword:00000005");
        Assert.Equal(5u, HivexOracle.DWord(hive, @"\Select", "Current"));
        using RegistryHive system = RegistryHive.Open(hive, null);
        var ex = Assert.Throws<CorruptDataException>(() => WindowsSystemConfig.Read(system, null, null));
        Assert.Contains("ControlSet005", ex.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Select_current_of_the_wrong_type_is_corrupt_data()
    {
        using var tmp = new TempDir();
        string hive = HivexOracle.Build(tmp, "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]",
            "\"Current\"=\"1\"");
        using RegistryHive system = RegistryHive.Open(hive, null);
        Assert.Throws<CorruptDataException>(() => WindowsSystemConfig.Read(system, null, null));
    }
}
