using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using IscsiConvert.Cli;
using IscsiConvert.Fuzzing;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Tests;

namespace IscsiConvert.Fuzzing.Targets;

/// <summary>
/// A CLI command that ended with exit code 1 (a problem with the data) or 3 (refused as unsafe): an allowed outcome,
/// counted among the refusals. Thrown by the CLI targets only, so the runner counts it like the parsers' typed refusals.
/// </summary>
public sealed class CliRefusalException : IscsiConvertException
{
    public CliRefusalException(string message)
        : base(message, null, null)
    {
    }
}

/// <summary>
/// The whole tool as a user runs it, on mutated files: the commands of <see cref="Commands"/> run in-process
/// (<c>CliApp.Run</c>, exactly what <c>iscsi-convert</c> runs) on each mutated input. Allowed: exit code 0, 1 (the data)
/// or 3 (refused); a usage error (2) only when the message asks the user to choose a partition. A failure: any exception
/// out of the CLI (a stack trace for the user), a stack trace or an exception type name in what it printed, another exit
/// code, JSON that does not parse when <c>--json</c> was given, or a modified input (checked by the runner).
/// </summary>
internal abstract class CliTarget : FuzzTarget
{
    private static readonly Regex StackFrame = new(@"^\s+at \S+.*\)", RegexOptions.Multiline | RegexOptions.CultureInvariant);
    private static readonly Regex ExceptionTypeName = new(@"\b(System|IscsiConvert)\.[A-Za-z.]*Exception\b", RegexOptions.CultureInvariant);

    public override bool NeedsFiles => true;

    // Reports are text: a listing of a volume and a hive's .reg export allocate a small multiple of what they print.
    public override long AllocationPerInputByte => 32;

    public override long AllocationAllowance => 256L << 20;

    public override int ChangeCheckInterval => 25;

    /// <summary>The command lines for one input; the first one's exit code is the outcome counted.</summary>
    protected abstract IEnumerable<string[]> Commands(FuzzInput input);

    public override void Execute(FuzzInput input)
    {
        int? first = null;
        foreach (string[] args in Commands(input))
        {
            int code = Run(args);
            first ??= code;
        }
        if (first is 1 or 3)
        {
            throw new CliRefusalException($"exit code {first}");
        }
    }

    /// <summary>Runs one command line and checks what a user would see.</summary>
    internal static int Run(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        string printed = stdout + "\n" + stderr;
        string line = string.Join(' ', args);
        if (StackFrame.IsMatch(printed) || ExceptionTypeName.IsMatch(printed))
        {
            throw new FuzzGuardException($"'{line}' printed a stack trace or an exception type (exit {code}):\n{Tail(printed)}");
        }
        bool usageAboutPartition = code == 2 && printed.Contains("--partition", StringComparison.Ordinal);
        if (code is not (0 or 1 or 3) && !usageAboutPartition)
        {
            throw new FuzzGuardException($"'{line}' exited with {code}:\n{Tail(printed)}");
        }
        if (args.Contains("--json"))
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(stdout.ToString());
            }
            catch (JsonException ex)
            {
                throw new FuzzGuardException($"'{line}' was asked for JSON and printed something else (exit {code}, {ex.Message}):\n{Tail(stdout.ToString())}");
            }
        }
        return code;
    }

    private static string Tail(string s) => s.Length <= 2000 ? s : "…" + s[^2000..];
}

/// <summary>
/// The read-only commands on mutated disk images: every container seed of the disk targets (VHD, VMDK, QCOW2, VHDX;
/// Windows- and qemu-made) plus a small Windows-like image of our own (the demo's sample installation on a QCOW2), so
/// that <c>inspect</c>, <c>reg export --hive</c> and <c>prepare --dry-run</c> reach a hive and an INF folder.
/// </summary>
internal sealed class CliDiskTarget : CliTarget
{
    private const string WindowsSeedName = "Windows-like QCOW2 (demo sample, our writer)";

    public override string Name => "CLI disk";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        var seeds = new List<Seed>();
        foreach (FuzzTarget target in new FuzzTarget[] { new VhdTarget(), new VmdkTarget(), new Qcow2Target(), new VhdxTarget() })
        {
            // A child whose parent is absent is refused by the parsers but reported by `disk info` (exit 0): the CLI has
            // its own expectations, so such seeds are left to the parser targets.
            seeds.AddRange(target.LoadSeeds(scratch).Where(s => !s.Facts.ContainsKey(Seed.RefusedUnmutated)));
        }
        seeds.Add(WindowsSeed(scratch));
        return seeds;
    }

    protected override IEnumerable<string[]> Commands(FuzzInput input)
    {
        string path = input.PathOf(0);
        yield return new[] { "disk", "info", path };
        yield return new[] { "disk", "info", path, "--json" };
        yield return new[] { "inspect", path, "--json" };
        yield return new[] { "fs", "ls", path, "\\" };
        yield return new[] { "fs", "check", path };
        if (input.Seed.Name == WindowsSeedName)
        {
            yield return new[] { "reg", "export", path, @"ControlSet001\Services", "--hive", "SYSTEM" };
            yield return new[] { "fs", "ls", path, @"\Windows\INF", "--json" };
            yield return new[] { "prepare", path, "--nic", WindowsImageSeed.BootNic, "--dry-run", "--json" };
        }
    }

    private static Seed WindowsSeed(string scratch)
    {
        string path = Path.Combine(scratch, "windows-like.qcow2");
        WindowsImageSeed.Build(path);
        var seed = new Seed(WindowsSeedName, new SeedFile("windows-like.qcow2", File.ReadAllBytes(path)));
        // Aim at the structures a user's command walks: the QCOW2 header and tables are found by the QCOW2 target's
        // scan on its own seeds; here every 64 KiB cluster is a region, so mutations also land in MFT records, index
        // blocks and hive bins inside the guest.
        for (long offset = 0; offset < seed.Files[0].Bytes.Length; offset += 64 << 10)
        {
            seed.Region("cluster", offset, 64 << 10);
        }
        foreach (string token in new[] { "FILE", "INDX", "hbin", "nk", "vk", "lf", "lh", "ri" })
        {
            seed.Dictionary.Add(Encoding.ASCII.GetBytes(token));
        }
        return seed;
    }
}

/// <summary>The demo's sample Windows 7 installation on a small GPT QCOW2 (the image the package target prepares).</summary>
internal static class WindowsImageSeed
{
    public const string BootNic = DemoWindows.BootNic;

    public static void Build(string path)
    {
        using VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Qcow2, Capacity = 48L << 20 });
        PartitionTable table = PartitionTable.CreateGpt(disk.Content, disk.LogicalSectorSize, IdentifierSource.Random);
        PartitionInfo windows = table.AddPartition(NewPartition.Of(PartitionKind.BasicData, 0, "Basic data partition"));
        using (SparseStream volume = table.Open(windows))
        {
            NtfsFormatter.Format(volume, new NtfsFormatOptions { Label = "Windows", BytesPerSector = disk.LogicalSectorSize, HiddenSectors = windows.FirstSector });
            using NtfsVolume ntfs = NtfsVolume.Open(volume, new NtfsOpenOptions { Writable = true, LeaveOpen = true });
            DemoWindows.Install(ntfs);
        }
        disk.Flush();
    }
}

/// <summary>
/// Hostile driver packages through <c>prepare</c>: the real virtio-net INF (stamped for amd64, as its build does) mutated
/// — file names, destination folders, services, AddReg roots, Include/Needs, encodings, plus path tokens that try to
/// escape (<c>..</c>, rooted and drive paths, device names, alternate data streams) — installed with <c>--driver</c> into the
/// sample Windows 7 image, once as a plan (<c>--dry-run --json</c>) and once written into a differencing child
/// (<c>--output</c>). Besides the CLI's checks: the image is never modified (its SHA-256 after every execution), and a
/// child that was written opens, and its volume verifies clean.
/// </summary>
internal sealed class CliPackageTarget : CliTarget
{
    private static readonly string[] PackageFiles = { "netkvm.sys", "netkvmp.exe", "netkvm.cat" };

    private string? _image;
    private byte[]? _imageHash;

    public override string Name => "CLI prepare --driver";

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        _image = Path.Combine(scratch, "windows-like.qcow2");
        WindowsImageSeed.Build(_image);
        _imageHash = Hash(_image);
        string inf = NetKvmInf.Stamped("amd64");
        Seed seed = InfTarget.Describe(new Seed("netkvm.inf (virtio-win, stamped amd64)", new SeedFile("netkvm.inf", Encoding.UTF8.GetBytes(inf))),
            TestData.Require(NetKvmInf.RelativePath));
        foreach (string token in new[]
        {
            "..\\", "..\\..\\..\\", "\\", "C:\\Windows\\", "\\\\?\\C:\\", "\\\\server\\share\\", "CON", "NUL.sys", "COM1", "x.sys::$DATA", "x.sys:evil",
            "%11%\\..\\..", "%10%\\..", "12,..\\..", "HKLM,", "HKCU,", "HKCR,SOFTWARE", "HKR,..\\..", "*", "?", "trailingdot.", "trailing ",
        })
        {
            seed.Dictionary.Add(Encoding.UTF8.GetBytes(token));
        }
        return new[] { seed };
    }

    protected override IEnumerable<string[]> Commands(FuzzInput input)
    {
        string inf = input.PathOf(0);
        string package = Path.GetDirectoryName(inf)!;
        foreach (string f in PackageFiles)
        {
            string p = Path.Combine(package, f);
            if (!File.Exists(p))
            {
                File.WriteAllBytes(p, Encoding.ASCII.GetBytes("placeholder for " + f));
            }
        }
        string image = _image ?? throw new InvalidOperationException("seeds not loaded");
        yield return new[] { "prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "--driver", package, "--dry-run", "--json" };
        string child = Path.Combine(package, "child.qcow2");
        File.Delete(child);
        yield return new[] { "prepare", image, "--nic", @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00", "--driver", package, "--output", child, "--quiet" };
        try
        {
            if (!Hash(image).AsSpan().SequenceEqual(_imageHash))
            {
                throw new FuzzGuardException("prepare --output modified the input image");
            }
            if (File.Exists(child))
            {
                using VirtualDisk disk = DiskImage.Open(child);
                PartitionTable table = PartitionTable.Read(disk) ?? throw new FuzzGuardException("the child has no partition table");
                using SparseStream volume = table.Open(table.Partitions[0]);
                using NtfsVolume ntfs = NtfsVolume.Open(volume, new NtfsOpenOptions { LeaveOpen = true });
                IReadOnlyList<string> problems = ntfs.Verify().Select(p => p.ToString()!).ToList();
                if (problems.Count > 0)
                {
                    throw new FuzzGuardException("the child's volume does not verify: " + string.Join("; ", problems));
                }
            }
        }
        finally
        {
            File.Delete(child);
        }
    }

    private static byte[] Hash(string path)
    {
        using FileStream f = File.OpenRead(path);
        return SHA256.HashData(f);
    }
}
