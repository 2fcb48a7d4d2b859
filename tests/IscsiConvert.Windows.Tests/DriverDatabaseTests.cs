using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Registry;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// DriverDatabase details from the real Windows 10 1709 SYSTEM hive (the yarp-recovered SYSTEM_B, MANIFEST.md) and
/// from a DRIVERS hive written by hivexregedit; names, values and device IDs checked against hivexget/hivexsh/hivexregedit.
/// </summary>
public class DriverDatabaseTests
{
    private const string Win10System = "registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp";

    private static WindowsSystemConfig ReadWin10(out string hive)
    {
        hive = TestData.Require(Win10System);
        using RegistryHive system = RegistryHive.Open(hive, null);
        return WindowsSystemConfig.Read(system, null, null);
    }

    [Fact]
    public void Packages_have_the_inf_provider_and_class_the_hive_holds()
    {
        WindowsSystemConfig config = ReadWin10(out string hive);
        DriverDatabase db = Assert.IsType<DriverDatabase>(config.DriverDatabase);
        Assert.Equal("SYSTEM", db.HiveName);
        Assert.Null(config.DriversHiveDatabase);
        IReadOnlyList<string> names = HivexOracle.Subkeys(hive, @"\DriverDatabase\DriverPackages");
        Assert.Equal(222, db.Packages.Count); // MANIFEST.md
        Assert.Equal(names.OrderBy(n => n, StringComparer.OrdinalIgnoreCase), db.Packages.Select(p => p.Name).OrderBy(n => n, StringComparer.OrdinalIgnoreCase));

        foreach (string name in new[] { names[0], names[50], names[100], names[names.Count - 1], "lsi_sas.inf_amd64_74bb5e3e01cfd526", "machine.inf_amd64_2e357051cb5d7b68" })
        {
            DriverDatabasePackage p = db.Packages.Single(x => x.Name == name);
            string key = @"\DriverDatabase\DriverPackages\" + name;
            Assert.Equal(HivexOracle.Get(hive, key, "@"), p.InfName);
            Assert.Equal(HivexOracle.Get(hive, key, "Provider"), p.Provider);
            Assert.StartsWith(p.InfName + "_", p.Name, StringComparison.OrdinalIgnoreCase);
            // The class name is the one the image's Control\Class gives the GUID decoded from the Version value.
            Assert.NotNull(p.ClassGuid);
            Assert.Equal(HivexOracle.Get(hive, $@"\ControlSet001\Control\Class\{p.ClassGuid:B}", "Class"), p.ClassName);
            // The services are the Service values hivexget reads from the package's configurations.
            IReadOnlyList<string> configurations = HivexOracle.Subkeys(hive, key).Contains("Configurations", StringComparer.OrdinalIgnoreCase)
                ? HivexOracle.Subkeys(hive, key + @"\Configurations")
                : Array.Empty<string>();
            if (configurations.Count == 0)
            {
                Assert.Empty(p.Services);
            }
            foreach (string configuration in configurations)
            {
                if (HivexOracle.Get(hive, $@"{key}\Configurations\{configuration}", "Service") is { Length: > 0 } service)
                {
                    Assert.Contains(service, p.Services, StringComparer.OrdinalIgnoreCase);
                }
            }
        }

        // Facts about the real files: machine.inf of this build is 10.0.16299.309 (MANIFEST.md), of the System class;
        // LSI's SAS miniport INF (lsi_sas.inf) is a SCSIAdapter package that installs the LSI_SAS service.
        DriverDatabasePackage machine = db.Packages.Single(x => x.InfName == "machine.inf");
        Assert.Equal(new Version(10, 0, 16299, 309), machine.DriverVersion);
        Assert.Equal("System", machine.ClassName);
        // Microsoft's inbox INFs carry DriverVer 06/21/2006 (Windows 10's machine.inf says "DriverVer = 06/21/2006,...").
        Assert.Equal(new DateTime(2006, 6, 21), machine.DriverDate);
        DriverDatabasePackage lsi = db.Packages.Single(x => x.InfName == "lsi_sas.inf");
        Assert.Equal("SCSIAdapter", lsi.ClassName);
        Assert.Equal(new[] { "LSI_SAS" }, lsi.Services);

        // As MANIFEST.md and the issue say: this SYSTEM DriverDatabase has SCSIAdapter packages but no Net class.
        Assert.Contains(db.Packages, p => p.ClassName == "SCSIAdapter");
        Assert.DoesNotContain(db.Packages, p => p.ClassName == "Net");
    }

    [Fact]
    public void Device_ids_name_the_infs_that_serve_them_as_hivexregedit_exports_them()
    {
        WindowsSystemConfig config = ReadWin10(out string hive);
        DriverDatabase db = config.DriverDatabase!;

        // Every key under DeviceIds with values named *.inf, from hivexregedit's export of the subtree.
        Oracle.Require("hivexregedit");
        string export = Oracle.RunChecked("hivexregedit", "--export", hive, @"\DriverDatabase\DeviceIds");
        var expected = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        string? current = null;
        foreach (string raw in export.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("[", StringComparison.Ordinal))
            {
                current = line.Trim('[', ']');
                const string prefix = @"\DriverDatabase\DeviceIds\";
                int at = current.IndexOf(prefix, StringComparison.OrdinalIgnoreCase);
                current = at >= 0 ? current.Substring(at + prefix.Length) : null;
            }
            else if (current is not null && line.StartsWith("\"", StringComparison.Ordinal))
            {
                string name = line.Substring(1, line.IndexOf("\"=", StringComparison.Ordinal) - 1);
                if (name.EndsWith(".inf", StringComparison.OrdinalIgnoreCase))
                {
                    if (!expected.TryGetValue(current, out List<string>? list))
                    {
                        expected[current] = list = new List<string>();
                    }
                    list.Add(name);
                }
            }
        }
        Assert.True(expected.Count > 1000);
        Assert.Equal(expected.Count, db.DeviceIdCount);
        foreach (var (id, infs) in expected)
        {
            Assert.Equal(infs.OrderBy(n => n, StringComparer.OrdinalIgnoreCase), db.GetInfsFor(id).OrderBy(n => n, StringComparer.OrdinalIgnoreCase));
        }
        Assert.Contains("lsi_sas.inf", db.GetInfsFor(@"pci\ven_1000&dev_0050"));
        Assert.Empty(db.GetInfsFor(@"PCI\VEN_1AF4&DEV_1000"));
    }

    [Fact]
    public void A_drivers_hive_database_is_reported_beside_the_system_one()
    {
        using var tmp = new TempDir();
        string drivers = HivexOracle.Build(tmp, "DRIVERS", "HKEY_LOCAL_MACHINE\\DRIVERS",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages\\netkvm.inf_amd64_1]",
            "@=\"netkvm.inf\"",
            "\"Provider\"=\"Red Hat, Inc.\"",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages\\netkvm.inf_amd64_1\\Configurations]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DriverPackages\\netkvm.inf_amd64_1\\Configurations\\kvmnet6.ndi]",
            "\"Service\"=\"netkvm\"",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DeviceIds]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DeviceIds\\PCI]",
            "[HKEY_LOCAL_MACHINE\\DRIVERS\\DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1000]",
            "\"netkvm.inf\"=hex(3):01,ff,00,00");
        string hive = TestData.Require(Win10System);
        using RegistryHive system = RegistryHive.Open(hive, null);
        using RegistryHive driversHive = RegistryHive.Open(drivers, null);
        WindowsSystemConfig config = WindowsSystemConfig.Read(system, null, driversHive);
        Assert.Equal(222, config.DriverDatabase!.Packages.Count);
        DriverDatabase d = Assert.IsType<DriverDatabase>(config.DriversHiveDatabase);
        Assert.Equal("DRIVERS", d.HiveName);
        DriverDatabasePackage p = Assert.Single(d.Packages);
        Assert.Equal(HivexOracle.Get(drivers, @"\DriverDatabase\DriverPackages\netkvm.inf_amd64_1", "@"), p.InfName);
        Assert.Equal("Red Hat, Inc.", p.Provider);
        Assert.Null(p.ClassGuid); // no Version value
        Assert.Equal(new[] { "netkvm" }, p.Services);
        Assert.Equal(new[] { "netkvm.inf" }, d.GetInfsFor(@"PCI\VEN_1AF4&DEV_1000"));
        Assert.Equal(1, d.DeviceIdCount);
        Assert.Equal(1, config.DriversHivePackageCount);
    }

    [Fact]
    public void Version_values_too_short_or_odd_leave_the_fields_empty()
    {
        DriverDatabase.DecodeVersion(new byte[0x27], out Guid? g, out DateTime? d, out Version? v);
        Assert.Null(g);
        Assert.Null(d);
        Assert.Null(v);
        var data = new byte[0x30];
        data.AsSpan(0x18, 8).Fill(0xFF); // FILETIME -1: no date
        DriverDatabase.DecodeVersion(data, out g, out d, out v);
        Assert.Equal(Guid.Empty, g);
        Assert.Null(d);
        Assert.Equal(new Version(0, 0, 0, 0), v);
    }
}
