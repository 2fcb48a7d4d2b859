using System;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The write budget of the whole engine (performance issue): preparing the real 11 MiB Windows 7 SYSTEM hive's image for
/// a supplied NIC package — CDDB entries, service, boot start, driver store, files — writes about a MiB at most, never
/// the whole hive again. Counted as every byte the process hands to write(2) during Apply and the final flush (Linux
/// /proc/self/io wchar), so this class runs alone, with no other test writing at the same time. A count, not a timing.
/// </summary>
[Collection(WriteBudgetCollection.Name)]
public sealed class EngineWriteBudgetTests : IDisposable
{
    private static readonly TargetOs Windows7X86 = new("x86", 6, 1, 7601);
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Preparing_a_windows_7_image_with_a_driver_package_writes_under_a_mebibyte()
    {
        if (!File.Exists("/proc/self/io"))
        {
            Oracle.MissingPrerequisite("/proc/self/io (Linux) to count the bytes written");
        }
        string image = NtfsImageBuilder.Build(_tmp, _tmp.File("win7.raw"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(TestData.Require("registry/win7-system/SYSTEM"), Path.Combine(config, "SYSTEM"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
        });
        string package = TestNicPackage.Write(_tmp, "budget");
        long packageBytes = Directory.EnumerateFiles(package).Sum(f => new FileInfo(f).Length);

        long before = WrittenByThisProcess();
        IscsiBootPlan plan;
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            using (WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk, writable: true)))
            {
                plan = IscsiBoot.For(w).ForTarget(Windows7X86).WithBootAdapter(TestNicPackage.Device).WithDriverPackage(package).Apply();
            }
            disk.Flush();
        }
        long written = WrittenByThisProcess() - before;

        Assert.NotEmpty(plan.Changes);
        // The package's files go to three places (driver store, destination, INF/catalog), plus hive pages, MFT
        // records, index blocks and bitmaps; the whole hive alone would be 11 MiB.
        long budget = (1L << 20) + (3 * packageBytes);
        Assert.True(written <= budget, $"{written} bytes written for the preparation (budget {budget})");
        string hive = _tmp.File("SYSTEM.after");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal("0", HivexOracle.Get(hive, @"ControlSet001\services\ivnic", "Start"));
        ToolResult fix = Oracle.Run("ntfsfix", "-n", image);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
    }

    private static long WrittenByThisProcess() =>
        long.Parse(File.ReadAllLines("/proc/self/io").Single(l => l.StartsWith("wchar:", StringComparison.Ordinal)).Substring(6).Trim(), System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Tests that count the process's writes run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WriteBudgetCollection
{
    public const string Name = "write budget";
}
