using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using IscsiConvert.Windows;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// The guarantees of the library's entry point (<see cref="WindowsImage"/>, <see cref="IscsiBootBuilder"/>,
/// <see cref="IscsiBootPlan"/>) on the images of <see cref="MatchImages"/> — the real Windows 7 SP1 x86 SYSTEM hive
/// and the real Windows 10 1709 x64 one — preparing a virtio NIC with the netkvm package (so that the plan has
/// folders, files and values: the CDDB on 7, the DriverDatabase on 10). Each guarantee is checked on the image file's
/// bytes (SHA-256) and timestamp, the written changes with the oracles (qemu-img, ntfscat, hivexget). Kept in the CLI
/// test project because the two images are built by its fixture.
/// </summary>
public sealed class WindowsImageApiTests : IClassFixture<MatchImages>
{
    private const string VirtioNic = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";
    private readonly MatchImages _images;

    public WindowsImageApiTests(MatchImages images)
    {
        _images = images;
    }

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    }

    /// <summary>Calls back on the reporting thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<ProgressReport> report) : IProgress<ProgressReport>
    {
        public void Report(ProgressReport value) => report(value);
    }

    private static WindowsImageOptions Options => new() { TimeProvider = new FixedClock() };

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static (string Hash, DateTime Written) Snapshot(string path) => (Hash(path), File.GetLastWriteTimeUtc(path));

    // A fresh copy of the family's image and the netkvm package for its architecture.
    private (string Image, string Package) Fresh(string family, string name)
    {
        string image = _images.Tmp.File(name + ".raw");
        File.Copy(family == "win7" ? _images.Win7 : _images.Win10, image, overwrite: true);
        string package = _images.Tmp.File(name + "-pkg");
        if (!Directory.Exists(package))
        {
            PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, name + "-pkg", family == "win7" ? "x86" : "amd64");
        }
        return (image, package);
    }

    private static IscsiBootBuilder Nic(string package) => new IscsiBootBuilder().WithBootAdapter(VirtioNic).WithDriverPackage(package);

    private string Hive(string rawImage, string name)
    {
        string target = _images.Tmp.File(Path.GetFileName(rawImage) + "-" + Guid.NewGuid().ToString("N") + "-" + name);
        Oracle.Require("ntfscat");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{rawImage}' /Windows/System32/config/{name} > '{target}'");
        return target;
    }

    private static string HivexGet(string hive, string key, string value) => Oracle.RunChecked("hivexget", hive, key, value).Trim();

    // What the family's rules write for the virtio NIC, read back by hivexget (PrepareOutputTests checks the CLI's output with it too).
    internal static void AssertPrepared(string family, string systemHive)
    {
        Assert.Equal("0", HivexGet(systemHive, @"ControlSet001\services\netkvm", "Start"));
        if (family == "win7")
        {
            Assert.Equal("netkvm", HivexGet(systemHive, @"ControlSet001\Control\CriticalDeviceDatabase\pci#ven_1af4&dev_1000", "Service"));
        }
        else
        {
            Assert.Equal("1", HivexGet(systemHive, @"ControlSet001\services\netkvm", "BootFlags"));
        }
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Planning_reads_only_even_on_an_image_opened_for_writing(string family)
    {
        (string image, string package) = Fresh(family, "api-dry-" + family);
        File.SetLastWriteTimeUtc(image, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var before = Snapshot(image);
        foreach (ImageAccess access in new[] { ImageAccess.ReadOnly, ImageAccess.ReadWrite })
        {
            using WindowsImage windows = WindowsImage.Open(image, access, Options);
            WindowsImageInstallation w = Assert.Single(windows.Installations);
            Assert.Equal(WindowsVolumeState.Clean, w.State);
            Assert.Equal(family == "win7" ? WindowsFamily.Windows7Or2008R2 : WindowsFamily.Windows10OrLater, w.Family);
            IscsiBootPlan plan = windows.PrepareIscsiBoot(b => b.WithBootAdapter(VirtioNic).WithDriverPackage(package));
            Assert.False(plan.IsEmpty);
            Assert.NotEmpty(plan.Files);
            Assert.Contains(plan.Changes, c => c.Key == @"ControlSet001\Services\netkvm" && c.ValueName == "Start");
        }
        Assert.Equal(before, Snapshot(image));
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Applying_to_an_image_that_has_every_change_reports_none_and_changes_no_byte(string family)
    {
        (string image, string package) = Fresh(family, "api-noop-" + family);
        IscsiBootPlan first;
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            IscsiBootPlan plan = windows.PrepareIscsiBoot(Nic(package));
            first = plan.Apply();
            Assert.True(first.IsApplied);
            Assert.Equal(plan.Changes, first.Changes);
            Assert.Throws<InvalidOperationException>(() => plan.Apply()); // the image changed since that plan
        }
        AssertPrepared(family, Hive(image, "SYSTEM"));
        File.SetLastWriteTimeUtc(image, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var before = Snapshot(image);

        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            IscsiBootPlan again = windows.PrepareIscsiBoot(Nic(package));
            Assert.True(again.IsEmpty, again.ToString());
            Assert.Empty(again.Folders);
            IscsiBootPlan written = again.Apply();
            Assert.True(written.IsApplied);
            Assert.True(written.IsEmpty);
        }
        Assert.Equal(before, Snapshot(image));
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Cancelling_at_any_progress_report_before_the_commit_leaves_the_image_byte_identical(string family)
    {
        (string image, string package) = Fresh(family, "api-cancel-" + family);
        string pristine = Hash(image);
        var reports = new List<ProgressReport>();
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            windows.PrepareIscsiBoot(Nic(package)).Apply(new SyncProgress(reports.Add));
        }
        Assert.NotEqual(pristine, Hash(image));
        string[] stages = reports.Select(r => r.Stage).Distinct().ToArray();
        Assert.Equal(new[] { "Verifying", "Creating folder", "Copying", "Saving hive", "Committing", "Committed" }, stages);

        // Cancelled while planning: nothing to undo, nothing written.
        (image, _) = Fresh(family, "api-cancel-" + family);
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => windows.PrepareIscsiBoot(Nic(package), cts.Token));
        }
        Assert.Equal(pristine, Hash(image));

        for (int cancelAt = 0; cancelAt < reports.Count; cancelAt++)
        {
            (image, _) = Fresh(family, "api-cancel-" + family);
            using var cts = new CancellationTokenSource();
            int seen = 0;
            var progress = new SyncProgress(_ =>
            {
                if (seen++ == cancelAt)
                {
                    cts.Cancel();
                }
            });
            using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
            {
                IscsiBootPlan plan = windows.PrepareIscsiBoot(Nic(package));
                if (reports[cancelAt].Stage == "Committed")
                {
                    plan.Apply(progress, cts.Token); // after the commit point a cancellation has nothing left to stop
                }
                else
                {
                    Assert.ThrowsAny<OperationCanceledException>(() => plan.Apply(progress, cts.Token));
                }
            }
            // (Two applies differ in the NTFS and hive timestamps they write, so "applied" is "no longer pristine".)
            string after = Hash(image);
            Assert.True(reports[cancelAt].Stage == "Committed" ? after != pristine : after == pristine, $"cancelled at report {cancelAt} ({reports[cancelAt]})");
        }
    }

    /// <summary>
    /// All or nothing on a failure (not a cancellation) before the commit point: a package file that changes between
    /// planning and applying is found by the apply's first stage (its size and SHA-256 against the plan's), and the
    /// image keeps every byte and its timestamp; a child of the same plan is not left behind.
    /// </summary>
    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void A_source_file_changed_after_planning_fails_the_apply_before_the_commit_and_the_image_is_unchanged(string family)
    {
        (string image, string package) = Fresh(family, "api-changed-source-" + family);
        File.SetLastWriteTimeUtc(image, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var before = Snapshot(image);
        string child = _images.Tmp.File($"api-changed-source-{family}.qcow2");
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            IscsiBootPlan plan = windows.PrepareIscsiBoot(Nic(package));
            Assert.Contains(plan.Files, f => f.Source.EndsWith("netkvm.sys", StringComparison.Ordinal));
            File.WriteAllBytes(Path.Combine(package, "netkvm.sys"), new byte[] { 9, 9, 9, 9 }); // same size, other bytes
            var ex = Assert.Throws<InvalidOperationException>(() => plan.Apply());
            Assert.Contains("changed since the plan was made", ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, Snapshot(image));
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadOnly, Options))
        {
            IscsiBootPlan plan = windows.PrepareIscsiBoot(Nic(package));
            File.WriteAllBytes(Path.Combine(package, "netkvm.sys"), new byte[] { 8, 8, 8 });
            Assert.Throws<InvalidOperationException>(() => plan.ApplyTo(child));
        }
        Assert.False(File.Exists(child), "the child of a failed apply was left behind");
        Assert.Equal(before, Snapshot(image));
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void ApplyTo_writes_a_qcow2_child_whose_backing_file_is_the_untouched_image(string family)
    {
        (string image, string package) = Fresh(family, "api-child-" + family);
        var before = Snapshot(image);
        string child = _images.Tmp.File($"api-child-{family}.qcow2");
        File.Delete(child);
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadOnly, Options))
        {
            IscsiBootPlan written = windows.PrepareIscsiBoot(Nic(package)).ApplyTo(child);
            Assert.Equal(child, written.OutputPath);
        }
        Assert.Equal(before, Snapshot(image));
        Oracle.Require("qemu-img");
        Assert.Equal(Path.GetFullPath(image), QemuImg.Info(child).GetProperty("full-backing-filename").GetString());
        QemuImg.Check(child, "qcow2");
        string flat = _images.Tmp.File($"api-child-{family}-flat.raw");
        File.Delete(flat);
        QemuImg.ConvertToRaw(child, "qcow2", flat);
        AssertPrepared(family, Hive(flat, "SYSTEM"));
        Assert.NotEqual(0, Oracle.Run("hivexget", Hive(image, "SYSTEM"), @"ControlSet001\services\netkvm", "Start").ExitCode); // the parent has no netkvm service
        ToolResult fix = Oracle.Run("ntfsfix", "-n", flat);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
    }

    [Theory]
    [InlineData("win7", DiskFormat.Vhdx, "vhdx")]
    [InlineData("win10", DiskFormat.Qcow2, "qcow2")]
    [InlineData("win10", DiskFormat.Vmdk, "vmdk")]
    public void ApplyToCopy_writes_a_full_converted_copy_holding_the_changes(string family, DiskFormat format, string qemuFormat)
    {
        (string image, string package) = Fresh(family, $"api-copy-{family}-{qemuFormat}");
        var before = Snapshot(image);
        string copy = _images.Tmp.File($"api-copy-{family}.{qemuFormat}");
        File.Delete(copy);
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadOnly, Options))
        {
            windows.PrepareIscsiBoot(Nic(package)).ApplyToCopy(copy, format);
        }
        Assert.Equal(before, Snapshot(image));
        Oracle.Require("qemu-img");
        QemuImg.Check(copy, qemuFormat);
        Assert.False(QemuImg.Info(copy).TryGetProperty("backing-filename", out _), "a full copy has no backing file");
        string flat = _images.Tmp.File($"api-copy-{family}-{qemuFormat}-flat.raw");
        File.Delete(flat);
        QemuImg.ConvertToRaw(copy, qemuFormat, flat);
        AssertPrepared(family, Hive(flat, "SYSTEM"));
        ToolResult fix = Oracle.Run("ntfsfix", "-n", flat);
        Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void A_hibernated_windows_is_listed_as_such_and_refused_for_writing_in_place_and_into_a_child(string family)
    {
        (string image, string package) = Fresh(family, "api-hibernated-" + family);
        string hiberfil = _images.Tmp.File("api-hiberfil.sys");
        File.WriteAllBytes(hiberfil, Encoding.ASCII.GetBytes("HIBR").Concat(new byte[4092]).ToArray()); // an active hibernation image's signature
        var (code, _, stderr) = CliRunner.Run("fs", "put", image, hiberfil, @"\hiberfil.sys");
        Assert.True(code == 0, stderr);
        var before = Snapshot(image);

        Assert.Throws<UnsafeToWriteException>(() => WindowsImage.Open(image, ImageAccess.ReadWrite, Options));
        string child = _images.Tmp.File("api-hibernated-" + family + ".qcow2");
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadOnly, Options))
        {
            WindowsImageInstallation w = Assert.Single(windows.Installations);
            Assert.Equal(WindowsVolumeState.Hibernated, w.State);
            Assert.Contains("hibernat", w.StateReason, StringComparison.OrdinalIgnoreCase);
            IscsiBootPlan plan = windows.PrepareIscsiBoot(Nic(package)); // reading is allowed
            Assert.Throws<InvalidOperationException>(() => plan.Apply()); // opened read-only
            Assert.Throws<UnsafeToWriteException>(() => plan.ApplyTo(child));
        }
        Assert.False(File.Exists(child), "the child of a refused apply was left behind");
        Assert.Equal(before, Snapshot(image));
    }

    /// <summary>
    /// A disk whose only volume is BitLocker-encrypted: the API refuses with UnsafeToWriteException naming the partition
    /// (not "no Windows"), and the CLI's prepare exits 3; the image keeps its bytes and time.
    /// </summary>
    [Fact]
    public void A_bitlocker_volume_is_refused_by_name_and_nothing_is_written()
    {
        string image = _images.Tmp.File("api-bitlocker.raw");
        var disk = new byte[8 << 20];
        // MBR: one partition of type 0x07 (NTFS/exFAT/BitLocker all use it) from sector 2048 to the end.
        disk[446 + 4] = 0x07;
        BitConverter.GetBytes(2048u).CopyTo(disk, 446 + 8);
        BitConverter.GetBytes((uint)(disk.Length / 512 - 2048)).CopyTo(disk, 446 + 12);
        disk[510] = 0x55;
        disk[511] = 0xAA;
        // The volume's boot sector as BitLocker writes it: a jump, then the "-FVE-FS-" signature where NTFS has "NTFS    ".
        int vbr = 2048 * 512;
        new byte[] { 0xEB, 0x58, 0x90 }.CopyTo(disk, vbr);
        Encoding.ASCII.GetBytes("-FVE-FS-").CopyTo(disk, vbr + 3);
        BitConverter.GetBytes((ushort)512).CopyTo(disk, vbr + 11);
        disk[vbr + 510] = 0x55;
        disk[vbr + 511] = 0xAA;
        File.WriteAllBytes(image, disk);
        var before = Snapshot(image);

        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            Assert.Empty(windows.Installations);
            var ex = Assert.Throws<UnsafeToWriteException>(() => windows.PrepareIscsiBoot(b => b.WithBootAdapter(VirtioNic)));
            Assert.Contains("partition 1 is BitLocker-encrypted", ex.Message, StringComparison.Ordinal);
            Assert.Contains("manage-bde -off", ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, Snapshot(image));

        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic);
        Assert.True(code == 3, $"exit {code}: {stderr}");
        Assert.Contains("BitLocker", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(image));

        // The reg commands choose the installation the same way, so they refuse it alike.
        (code, _, stderr) = CliRunner.Run("reg", "set", image, "--hive", "SYSTEM", @"CurrentControlSet\Services\Tcpip\Parameters", "X", "-t", "REG_DWORD", "-d", "1");
        Assert.True(code == 3, $"exit {code}: {stderr}");
        Assert.Contains("BitLocker", stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(image));
    }

    /// <summary>No Windows on the image: nothing of a family to vary, so one image (blank) shows it.</summary>
    [Fact]
    public void An_image_without_windows_is_refused_with_nothing_written()
    {
        string blank = _images.Tmp.File("api-blank.raw");
        File.WriteAllBytes(blank, new byte[1 << 20]);
        var before = Snapshot(blank);
        using (WindowsImage windows = WindowsImage.Open(blank, ImageAccess.ReadWrite, Options))
        {
            Assert.Empty(windows.Installations);
            var ex = Assert.Throws<WindowsInstallationChoiceException>(() => windows.PrepareIscsiBoot(b => b.WithBootAdapter(VirtioNic)));
            Assert.Contains("no Windows installation", ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, Snapshot(blank));
    }

    /// <summary>
    /// An INF that does not serve the adapter (the netkvm package for an Intel NIC), through the step and through the
    /// builder the CLI uses (`--nic ID --driver PACKAGE`, where the image's own INFs do not serve that NIC either).
    /// </summary>
    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void A_package_that_does_not_serve_the_device_is_refused_with_nothing_written(string family)
    {
        const string IntelNic = @"PCI\VEN_8086&DEV_10D3";
        (string image, string package) = Fresh(family, "api-wrong-inf-" + family);
        File.SetLastWriteTimeUtc(image, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var before = Snapshot(image);
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            var step = new StageDriverPackageStep(IntelNic, DriverPackage.Open(package));
            var ex = Assert.Throws<NotSupportedException>(() => windows.Plan(new PlanStep[] { step }));
            Assert.Contains("does not serve", ex.Message, StringComparison.Ordinal);
            ex = Assert.Throws<NotSupportedException>(() => windows.PrepareIscsiBoot(b => b.WithBootAdapter(IntelNic).WithDriverPackage(package)));
            Assert.Contains("No INF in the image or the supplied packages serves " + IntelNic, ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, Snapshot(image));

        var (code, _, stderr) = CliRunner.Run("prepare", image, "--nic", IntelNic, "--driver", package);
        Assert.True(code == CliApp.DataError, $"exit {code}: {stderr}");
        Assert.Contains("serves " + IntelNic, stderr, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(image));
    }

    [Fact]
    public void The_builder_is_immutable_each_with_returns_a_new_value()
    {
        var empty = new IscsiBootBuilder();
        IscsiBootBuilder one = empty.WithBootAdapter(VirtioNic);
        IscsiBootBuilder two = one.WithStorageController(@"PCI\VEN_1AF4&DEV_1048").WithService("netkvm");
        Assert.Empty(empty.DeviceIds);
        Assert.Equal(new[] { VirtioNic }, one.DeviceIds);
        Assert.Null(one.Service);
        Assert.Equal(new[] { VirtioNic, @"PCI\VEN_1AF4&DEV_1048" }, two.DeviceIds);
        Assert.Equal("netkvm", two.Service);
        Assert.Throws<InvalidOperationException>(() => empty.ToSteps());
        Assert.Throws<FormatException>(() => empty.WithBootAdapter(VirtioNic, "not a pci path"));
        Assert.Empty(empty.DeviceIds);
    }

    [Fact]
    public void Steps_compose_into_a_transformation_of_their_own_a_staged_driver_and_a_value_without_boot_flags()
    {
        (string image, string package) = Fresh("win10", "api-steps");
        string extra = _images.Tmp.File("api-steps-readme.txt");
        File.WriteAllText(extra, "prepared by a test");
        PlanStep[] steps =
        {
            new StageDriverPackageStep(VirtioNic, DriverPackage.Open(package)),
            SetRegistryValueStep.DWord("SYSTEM", @"CurrentControlSet\Services\Tcpip\Parameters", "DisableDHCPMediaSense", 1),
            new CopyFileStep(extra, @"\Windows\Setup\readme.txt"),
        };
        using (WindowsImage windows = WindowsImage.Open(image, ImageAccess.ReadWrite, Options))
        {
            IscsiBootPlan plan = windows.Plan(steps);
            Assert.Contains(@"\Windows\Setup", plan.Folders);
            Assert.DoesNotContain(plan.Changes, c => c.ValueName == "BootFlags");
            plan.Apply();
            Assert.True(windows.Plan(steps).IsEmpty);
        }
        string system = Hive(image, "SYSTEM");
        Assert.Equal("0", HivexGet(system, @"ControlSet001\services\netkvm", "Start"));
        Assert.Equal("1", HivexGet(system, @"ControlSet001\services\Tcpip\Parameters", "DisableDHCPMediaSense"));
        Assert.NotEqual(0, Oracle.Run("hivexget", system, @"ControlSet001\services\netkvm", "BootFlags").ExitCode);
        Assert.Equal("prepared by a test", Oracle.RunChecked("ntfscat", image, "/Windows/Setup/readme.txt"));
    }
}
