using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// Driver packages that try to do more than install their driver (issue 16, hostile input): AddReg to keys outside the
/// service, Include/Needs that loop or fan out, a service binary that is neither installed nor in the image. Each is
/// refused with a clear message and nothing written (the image hashed before and after), or confined to the service
/// key and reported — checked on the real Windows 7 SYSTEM hive with hivex.
/// </summary>
public sealed class HostilePackageTests : IDisposable
{
    private static readonly TargetOs Windows7X86 = new("x86", 6, 1, 7601);
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private string Image() => NtfsImageBuilder.Build(_tmp, _tmp.File("win7.raw"), mount =>
    {
        string config = Path.Combine(mount, "Windows", "System32", "config");
        Directory.CreateDirectory(config);
        File.Copy(TestData.Require("registry/win7-system/SYSTEM"), Path.Combine(config, "SYSTEM"));
        Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
    });

    private string Package(string name, Func<string, string> editInf)
    {
        string folder = TestNicPackage.Write(_tmp, name);
        File.WriteAllText(Path.Combine(folder, "ivnic.inf"), editInf(TestNicPackage.Inf), new UTF8Encoding(false));
        return folder;
    }

    private static IscsiBootPlan Apply(string image, string package)
    {
        using VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite);
        IscsiBootPlan plan;
        using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true)))
        {
            plan = IscsiBoot.For(w).ForTarget(Windows7X86).WithBootAdapter(TestNicPackage.Device).WithDriverPackage(package).Apply();
        }
        disk.Flush();
        return plan;
    }

    private static string Sha(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public void A_service_binary_the_package_does_not_install_and_the_image_does_not_hold_is_refused_and_nothing_is_written()
    {
        string image = Image();
        // CopyFiles installs ivnic.sys, the service starts evil.sys: the boot would stop at a missing boot driver.
        string package = Package("binary", inf => inf.Replace(@"ServiceBinary=%12%\ivnic.sys", @"ServiceBinary=%12%\evil.sys", StringComparison.Ordinal));
        string before = Sha(image);

        var ex = Assert.Throws<UnsafeToWriteException>(() => Apply(image, package));

        Assert.Contains(@"\Windows\System32\drivers\evil.sys", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("does not install", ex.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was written", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, Sha(image));
    }

    [Fact]
    public void A_service_binary_the_image_already_holds_is_accepted()
    {
        string image = NtfsImageBuilder.Build(_tmp, _tmp.File("win7-inbox.raw"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(TestData.Require("registry/win7-system/SYSTEM"), Path.Combine(config, "SYSTEM"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "System32", "drivers"));
            File.WriteAllBytes(Path.Combine(mount, "Windows", "System32", "drivers", "present.sys"), new byte[] { 0x4D, 0x5A, 1 });
        });
        string package = Package("present", inf => inf.Replace(@"ServiceBinary=%12%\ivnic.sys", @"ServiceBinary=%12%\present.sys", StringComparison.Ordinal));

        IscsiBootPlan plan = Apply(image, package);

        Assert.NotEmpty(plan.Changes);
        Assert.True(Oracle.Run("ntfsfix", "-n", image).ExitCode == 0);
    }

    [Fact]
    public void AddReg_lines_outside_the_service_key_are_not_written_and_are_reported()
    {
        string image = Image();
        string package = Package("addreg", inf => inf.Replace(
            "[Nic.Service.Reg]\r\n",
            "[Nic.Service.Reg]\r\nHKLM,SYSTEM\\CurrentControlSet\\Services\\Tcpip,Start,0x00010001,4\r\nHKLM,SYSTEM\\Select,Current,0x00010001,9\r\nHKCU,Software\\Evil,X,0x00010001,1\r\n",
            StringComparison.Ordinal));

        IscsiBootPlan plan = Apply(image, package);

        Assert.Contains(plan.Warnings, w => w.Contains("HKLM", StringComparison.Ordinal) && w.Contains("only HKR", StringComparison.Ordinal));
        Assert.Contains(plan.Warnings, w => w.Contains("HKCU", StringComparison.Ordinal) && w.Contains("only HKR", StringComparison.Ordinal));
        string hive = _tmp.File("SYSTEM.after");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        string original = TestData.Require("registry/win7-system/SYSTEM");
        Assert.Equal(HivexOracle.Get(original, @"ControlSet001\services\Tcpip", "Start"), HivexOracle.Get(hive, @"ControlSet001\services\Tcpip", "Start"));
        Assert.Equal(HivexOracle.Get(original, @"Select", "Current"), HivexOracle.Get(hive, @"Select", "Current"));
        // The package's own HKR lines are written, below the service key.
        Assert.Equal("64", HivexOracle.Get(hive, @"ControlSet001\services\ivnic\Parameters", "QueueDepth"));
    }

    [Fact]
    public void Needs_that_loop_or_fan_out_are_followed_once_each_and_planning_ends()
    {
        // Needs names sections that need each other and themselves, hundreds of times on one line: each section is
        // read once (a loop of Needs is no recursion), so planning ends and installs what the real sections say.
        string many = string.Join(",", Enumerable.Repeat("Loop.A,Loop.B,Nic.Install", 300));
        string image = Image();
        string package = Package("needs", inf => inf
            .Replace("[Nic.Install]\r\n", $"[Nic.Install]\r\nNeeds={many}\r\nInclude=ivnic.inf,ivnic.inf\r\n", StringComparison.Ordinal)
            .Replace("[DestinationDirs]", $"[Loop.A]\r\nNeeds=Loop.B,Loop.A,{many}\r\n[Loop.B]\r\nNeeds=Loop.A,Nic.Install\r\n[DestinationDirs]", StringComparison.Ordinal));

        InfFile parsed = InfFile.Load(Path.Combine(package, "ivnic.inf"));
        Assert.True(parsed.HasSection("Loop.A"));
        IscsiBootPlan plan = Apply(image, package);

        Assert.Contains(plan.Files, f => f.Destination.EndsWith(@"\drivers\ivnic.sys", StringComparison.OrdinalIgnoreCase));
        Assert.True(Oracle.Run("ntfsfix", "-n", image).ExitCode == 0);
    }
}
