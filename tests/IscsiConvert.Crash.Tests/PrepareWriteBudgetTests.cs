using System;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Tests;
using IscsiConvert.Windows;
using IscsiConvert.Windows.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>
/// The write budget of the performance issue: preparing an image for a supplied NIC package — the seed's edit on the
/// real 11 MiB Windows 7 SYSTEM hive (CDDB entry, service, boot start) plus a 320 KiB driver file installed — writes at
/// most 1 MiB to the image file, never the whole hive. Counted under the container: every write the storage layer
/// makes to the dynamic VHDX file (through its test seam, <c>ImageFile.Opener</c>, the recording stream of the crash
/// tests), so the VHDX's own metadata (BAT, log, headers) is in the count and nothing else the process writes is.
/// A count, not a timing; it lives here because this project sees the seam.
/// </summary>
public sealed class PrepareWriteBudgetTests : IDisposable
{
    private const long Budget = 1L << 20;
    private const int DriverBytes = 320 << 10;
    private static readonly TargetOs Windows7X64 = new("amd64", 6, 1, 7601);
    private readonly TempDir _tmp = new();
    private readonly ITestOutputHelper _output;

    public PrepareWriteBudgetTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Preparing_a_windows_7_vhdx_with_a_320_KiB_driver_writes_at_most_a_mebibyte_to_the_image_file()
    {
        string volume = NtfsImageBuilder.Build(_tmp, _tmp.File("win7.raw"), mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(TestData.Require("registry/win7-system/SYSTEM"), Path.Combine(config, "SYSTEM"));
            Directory.CreateDirectory(Path.Combine(mount, "Windows", "INF"));
        });
        (string image, int partition) = GptImage.Wrap(_tmp, volume, "win7.vhdx");
        string package = TestNicPackage.Write(_tmp, "budget");
        // The seed's driver is a 320 KiB binary; the test package's own is smaller.
        var sys = new byte[DriverBytes];
        new Random(3).NextBytes(sys);
        sys[0] = 0x4D;
        sys[1] = 0x5A;
        File.WriteAllBytes(Path.Combine(package, "ivnic.sys"), sys);

        IscsiBootPlan? plan = null;
        WriteJournal journal = CrashHarness.Record(() =>
        {
            using WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, new WindowsImageOptions());
            plan = windows.GetInstallation().PrepareIscsiBoot(new IscsiBootBuilder()
                .ForTarget(Windows7X64).WithBootAdapter(TestNicPackage.Device).WithDriverPackage(package)).Apply();
        });

        Assert.NotEmpty(plan!.Changes);
        string full = Path.GetFullPath(image);
        long written = journal.Events.Where(e => e.Kind == JournalEventKind.Write && string.Equals(Path.GetFullPath(e.Path), full, StringComparison.Ordinal))
            .Sum(e => (long)e.Bytes.Length);
        _output.WriteLine($"{written} bytes in {journal.WriteCount} writes to {Path.GetFileName(image)}");
        Assert.True(written > DriverBytes, $"{written} bytes written: less than the driver itself, so the count missed writes");
        Assert.True(written <= Budget, $"{written} bytes written to the image for the preparation (budget {Budget})");

        // The result is a sound image with the change in it.
        ToolResult check = Oracle.Run("qemu-img", "check", "-f", "vhdx", image);
        Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
        string after = GptImage.ExtractVolume(_tmp, image, partition, "after.raw");
        ToolResult fix = Oracle.Run("ntfsfix", "-n", after);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
        string hive = _tmp.File("SYSTEM.after");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{after}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, @"\ControlSet001\services\ivnic", "Start").Trim());
    }
}
