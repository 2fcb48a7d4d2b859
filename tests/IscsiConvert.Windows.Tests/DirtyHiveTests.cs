using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The dirty-hive rules of prepare, each with the real dirty Windows 10 1709 SYSTEM hive (SYSTEM_B) in a volume built
/// by mkntfs + ntfs-3g: with its own logs it is recovered and saved clean; without logs it is edited as it is, saved
/// clean, with a warning; with logs that cannot be applied (the real logs of another hive) it is refused unless
/// allowed. hivexget reads the result, and the base block's two sequence numbers are read here, not by our code.
/// </summary>
public sealed class DirtyHiveTests : IDisposable
{
    private const string Dir = "registry/win10-dirty-system/";
    private const string Nic = @"PCI\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_01";
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static byte[] Gunzip(string relative)
    {
        using var gz = new GZipStream(File.OpenRead(TestData.Require(relative)), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    private string Image(string name, byte[]? log1, byte[]? log2) => NtfsImageBuilder.Build(_tmp, _tmp.File(name), mount =>
    {
        string config = Path.Combine(mount, "Windows", "System32", "config");
        Directory.CreateDirectory(config);
        File.WriteAllBytes(Path.Combine(config, "SYSTEM"), Gunzip(Dir + "SYSTEM_B.gz"));
        if (log1 is not null)
        {
            File.WriteAllBytes(Path.Combine(config, "SYSTEM.LOG1"), log1);
        }
        if (log2 is not null)
        {
            File.WriteAllBytes(Path.Combine(config, "SYSTEM.LOG2"), log2);
        }
        Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
        File.WriteAllText(Path.Combine(mount, "Windows", "INF", "e1i63x64.inf"), IscsiBootTests.E1iInf, new UTF8Encoding(false));
    });

    private static IscsiBoot Boot(WindowsInstallation w) => IscsiBoot.For(w).WithBootAdapter(Nic).ForTarget(TargetOs.Windows10X64);

    private string ReadBack(string image, string path, string name)
    {
        string file = _tmp.File(name);
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' '{path}' > '{file}'");
        return file;
    }

    private static void AssertClean(string hive)
    {
        byte[] head = File.ReadAllBytes(hive).AsSpan(0, 12).ToArray();
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4)), BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(8)));
    }

    private IscsiBootPlan Apply(string image, Func<IscsiBoot, IscsiBoot> configure)
    {
        using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
        IscsiBootPlan plan;
        using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true)))
        {
            plan = configure(Boot(w)).Apply();
        }
        disk.Flush();
        return plan;
    }

    [Fact]
    public void A_dirty_hive_whose_logs_apply_is_recovered_and_saved_clean_with_its_logs_emptied()
    {
        string image = Image("logs.raw", Gunzip(Dir + "SYSTEM_B.LOG1.gz"), Gunzip(Dir + "SYSTEM_B.LOG2.gz"));
        IscsiBootPlan plan = Apply(image, b => b);
        Assert.Contains(plan.Warnings, w => w.Contains("logs were applied", StringComparison.Ordinal));
        Assert.True(Oracle.Run("ntfsfix", "-n", image).ExitCode == 0);
        string hive = ReadBack(image, "/Windows/System32/config/SYSTEM", "SYSTEM.logs");
        AssertClean(hive);
        Assert.Equal("0", HivexOracle.Get(hive, @"ControlSet001\Services\e1iexpress", "Start"));
        Assert.Empty(File.ReadAllBytes(ReadBack(image, "/Windows/System32/config/SYSTEM.LOG1", "LOG1")));
        Assert.Empty(File.ReadAllBytes(ReadBack(image, "/Windows/System32/config/SYSTEM.LOG2", "LOG2")));
        // The recovered content is what yarp recovered: a key the logs added is there.
        string yarp = TestData.Require(Dir + "SYSTEM_B.recovered-by-yarp");
        Assert.Equal(HivexOracle.Subkeys(yarp, @"DriverDatabase\DriverPackages").Count, HivexOracle.Subkeys(hive, @"DriverDatabase\DriverPackages").Count);
    }

    [Fact]
    public void A_dirty_hive_without_logs_is_edited_as_it_is_and_saved_clean_with_a_warning()
    {
        string image = Image("nologs.raw", null, Array.Empty<byte>());
        IscsiBootPlan plan = Apply(image, b => b);
        Assert.Contains(plan.Warnings, w => w.Contains("no transaction logs", StringComparison.Ordinal));
        Assert.True(Oracle.Run("ntfsfix", "-n", image).ExitCode == 0);
        string hive = ReadBack(image, "/Windows/System32/config/SYSTEM", "SYSTEM.nologs");
        AssertClean(hive);
        Assert.Equal("0", HivexOracle.Get(hive, @"ControlSet001\Services\e1iexpress", "Start"));
        Assert.Equal("1", HivexOracle.Get(hive, @"ControlSet001\Services\e1iexpress", "BootFlags"));
    }

    [Fact]
    public void A_dirty_hive_with_logs_that_cannot_be_applied_is_refused_unless_allowed()
    {
        // Real new-format logs, but of another hive (the dirty NTUSER.DAT): they do not apply to SYSTEM_B.
        byte[] log1 = File.ReadAllBytes(TestData.Require("registry/win10-dirty-ntuser/transactions_ntuser.dat.log1"));
        byte[] log2 = File.ReadAllBytes(TestData.Require("registry/win10-dirty-ntuser/transactions_ntuser.dat.log2"));
        string image = Image("badlogs.raw", log1, log2);
        byte[] before = File.ReadAllBytes(image);
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true)))
        {
            Assert.Equal(HiveCondition.DirtyLogsUnusable, w.GetHiveCondition("SYSTEM"));
            var ex = Assert.Throws<UnsafeToWriteException>(() => Boot(w).Apply());
            Assert.Contains("--allow-dirty-hive", ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, File.ReadAllBytes(image));

        IscsiBootPlan plan = Apply(image, b => b.AllowDirtyHive());
        Assert.Contains(plan.Warnings, w => w.Contains("cannot be applied", StringComparison.Ordinal));
        string hive = ReadBack(image, "/Windows/System32/config/SYSTEM", "SYSTEM.badlogs");
        AssertClean(hive);
        Assert.Equal("0", HivexOracle.Get(hive, @"ControlSet001\Services\e1iexpress", "Start"));
    }

    [Fact]
    public void On_windows_10_service_without_an_inf_only_arms_the_service_and_says_so()
    {
        string image = NtfsImageBuilder.BuildWindows(_tmp, _tmp.File("service10.raw"), TestData.Require(Dir + "SYSTEM_B.recovered-by-yarp"));
        IscsiBootPlan plan = Apply(image, b => b.WithService("e1iexpress"));
        Assert.Contains(plan.Warnings, w => w.Contains("no INF", StringComparison.Ordinal));
        Assert.Empty(plan.Files);
        // No CDDB on Windows 8+, nothing staged: only the service's start (BootFlags is 1 already in the real hive).
        Assert.Equal(new[] { @"ControlSet001\Services\e1iexpress" }, plan.Changes.Select(c => c.Key).Distinct());
        string hive = ReadBack(image, "/Windows/System32/config/SYSTEM", "SYSTEM.service10");
        Assert.Equal("0", HivexOracle.Get(hive, @"ControlSet001\Services\e1iexpress", "Start"));
        Assert.Equal("1", HivexOracle.Get(hive, @"ControlSet001\Services\e1iexpress", "BootFlags"));
    }
}
