using System;
using System.CommandLine;
using System.Linq;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>
/// `iscsi-convert demo`: builds a small Windows-style disk in a scratch folder and runs the storage engine on it,
/// printing each step and what it changed. It needs nothing but the tool itself, so it works on a fresh machine.
/// </summary>
/// <remarks>
/// The demo grows with the engine: a VHDX with a GPT laid out like a Windows disk, its Windows partition formatted as
/// NTFS and given a small Windows-7-like system (<see cref="DemoWindows"/>), made iSCSI-bootable by the engine (CDDB
/// entries and boot start for the e1000 NIC) into a differencing child through the same API as `prepare --output`, the
/// parent's SHA-256 compared before and after, then the child converted to every format, each copy verified.
/// </remarks>
internal static class DemoCommand
{
    private const long DiskSize = 512L << 20;

    public static Command Build(CliConsole console)
    {
        var keep = new Option<string>("--output-dir") { Description = "Keep the sample images in this folder instead of a temporary one." };
        var command = new Command("demo", "Build a small Windows-style sample disk and show what iscsi-convert does with it.") { keep };
        command.SetAction(parse =>
        {
            string? outputDir = parse.GetValue(keep);
            string dir = outputDir ?? Path.Combine(Path.GetTempPath(), "iscsi-convert-demo-" + Path.GetRandomFileName());
            Directory.CreateDirectory(dir);
            try
            {
                Run(console, dir, keep: outputDir is not null);
            }
            finally
            {
                if (outputDir is null)
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            return 0;
        });
        return command;
    }

    private static void Run(CliConsole console, string dir, bool keep)
    {
        TextWriter o = console.Output;
        string basePath = Path.Combine(dir, "windows-sample.vhdx");
        string childPath = Path.Combine(dir, "windows-sample-child.vhdx");

        o.WriteLine($"1. Creating a {SizeParser.Format(DiskSize)} dynamic VHDX laid out like a Windows UEFI disk");
        using (VirtualDisk disk = DiskImage.Create(basePath, new DiskCreateOptions { Format = DiskFormat.Vhdx, Capacity = DiskSize }))
        {
            PartitionTable table = PartitionTable.CreateGpt(disk.Content, disk.LogicalSectorSize, IdentifierSource.Random);
            table.AddPartition(NewPartition.Of(PartitionKind.EfiSystem, 100L << 20, "EFI system partition"));
            table.AddPartition(NewPartition.Of(PartitionKind.MicrosoftReserved, 16L << 20, "Microsoft reserved partition"));
            PartitionInfo windows = table.AddPartition(NewPartition.Of(PartitionKind.BasicData, 0, "Basic data partition"));
            using (SparseStream volume = table.Open(windows))
            {
                NtfsFormatInfo ntfs = NtfsFormatter.Format(volume, new NtfsFormatOptions
                {
                    Label = "Windows",
                    BytesPerSector = disk.LogicalSectorSize,
                    HiddenSectors = windows.FirstSector,
                });
                o.WriteLine($"   + GPT with {table.Partitions.Count} partitions; partition {windows.Index} formatted as NTFS (iscsi-convert disk format): {ntfs.ClusterSize}-byte clusters, label \"{ntfs.Label}\"");
                using (NtfsVolume ntfsVolume = NtfsVolume.Open(volume, new NtfsOpenOptions { Writable = true, LeaveOpen = true }))
                {
                    DemoWindows.Install(ntfsVolume);
                }
                o.WriteLine(@"   + a small Windows-7-like system written into it (iscsi-convert fs put): \Windows\System32\config\SYSTEM and SOFTWARE");
                o.WriteLine(@"     (new hives), \Windows\INF\net1000.inf (a sample inbox-style e1000 INF), \Windows\System32\drivers\e1g6064.sys");
            }
            disk.Flush();
        }

        o.WriteLine();
        o.WriteLine($"2. Making it iSCSI-bootable for the boot NIC {DemoWindows.BootNic}, into a differencing child");
        o.WriteLine($"   (iscsi-convert prepare {Path.GetFileName(basePath)} --nic ... --output {Path.GetFileName(childPath)}: the image itself is only read)");
        string baseHash = Sha256Of(basePath);
        // The same calls as `prepare --output`: open the image read-only, plan from the builder, write the plan into a new child.
        using (WindowsImage image = WindowsImage.Open(basePath, ImageAccess.ReadOnly))
        {
            IscsiBootPlan written = image.PrepareIscsiBoot(new IscsiBootBuilder().WithBootAdapter(DemoWindows.BootNic)).ApplyTo(childPath);
            foreach (string driver in written.Drivers)
            {
                o.WriteLine("   driver  " + driver);
            }
            foreach (RegistryChange change in written.Changes)
            {
                o.WriteLine("   set     " + change);
            }
        }
        string parentHash = Sha256Of(basePath);
        using (VirtualDisk child = DiskImage.Open(childPath))
        {
            o.WriteLine($"   child:  {Path.GetFileName(childPath)} ({child.Format.ToString().ToLowerInvariant()} {child.Subformat}, {SizeParser.Format(new FileInfo(childPath).Length)} file)");
            o.WriteLine($"   parent: {Path.GetFileName(child.Parent!.FilePath)}");
            o.WriteLine($"   parent SHA-256 before: {baseHash}");
            o.WriteLine($"   parent SHA-256 after:  {parentHash}");
            o.WriteLine($"   parent unchanged: {(parentHash == baseHash ? "yes" : "NO")}");
            using WindowsInstallation w = WindowsInstallation.Find(child).Single();
            WindowsSystemConfig config = w.ReadConfiguration();
            WindowsService e1g = config.Services.Single(s => s.Name == "E1G60");
            o.WriteLine($"   read back from the child (iscsi-convert inspect): service E1G60 start {e1g.Start} (0 = boot), {config.CriticalDevices.Count} CDDB entries, volume clean: {(w.Volume.Verify().Count == 0 ? "yes" : "NO")}");
        }
        using (VirtualDisk parent = DiskImage.Open(basePath))
        {
            using WindowsInstallation w = WindowsInstallation.Find(parent).Single();
            WindowsService e1g = w.ReadConfiguration().Services.Single(s => s.Name == "E1G60");
            o.WriteLine($"   read back from the parent: service E1G60 start {e1g.Start} (as it was)");
        }

        o.WriteLine();
        o.WriteLine("3. Inspecting the child (iscsi-convert disk info):");
        using (VirtualDisk disk = DiskImage.Open(childPath))
        {
            DiskInfoReport.From(disk).WriteText(o);
        }

        o.WriteLine();
        o.WriteLine("4. Converting the child (parent merged in) to every format, and checking each copy reads the same");
        using (VirtualDisk child = DiskImage.Open(childPath))
        {
            string expected = ContentHash(child, child.Capacity);
            foreach ((DiskFormat format, string extension) in new[] { (DiskFormat.Raw, "img"), (DiskFormat.Vhd, "vhd"), (DiskFormat.Vmdk, "vmdk"), (DiskFormat.Qcow2, "qcow2") })
            {
                string target = Path.Combine(dir, "windows-sample-merged." + extension);
                long written = DiskConverter.Convert(child, target, new DiskCreateOptions { Format = format });
                using VirtualDisk copy = DiskImage.Open(target);
                // Some formats round the size up (VHD to its CHS geometry); the added tail reads as zeros.
                bool same = ContentHash(copy, child.Capacity) == expected && copy.Capacity >= child.Capacity;
                o.WriteLine($"   + {Path.GetFileName(target),-32} {copy.Format.ToString().ToLowerInvariant(),-6} {copy.Subformat,-17} {SizeParser.Format(written),8} of data, file size {SizeParser.Format(new FileInfo(target).Length),8}, same content: {(same ? "yes" : "NO")}");
            }
        }

        o.WriteLine();
        o.WriteLine(keep
            ? $"Done. The sample files are in {dir}."
            : "Done. The sample files were made in a temporary folder and removed; add --output-dir DIR to keep them.");
        o.WriteLine("What the engine does today: Windows XP to 7 get Critical Device Database entries and the NIC's service at boot start (as");
        o.WriteLine("above); Windows 8 and later get the driver staged as offline DISM does (driver store, DriverDatabase in SYSTEM or the");
        o.WriteLine("DRIVERS hive, boot start and the network-boot BootFlags). A driver the image lacks comes from --driver DIR.");
        o.WriteLine("On your own image: 'iscsi-convert inspect IMAGE', then 'iscsi-convert prepare IMAGE --nic ID --dry-run'.");
    }

    private static string Sha256Of(string path)
    {
        using FileStream f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f));
    }

    private static string ContentHash(VirtualDisk disk, long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        for (long pos = 0; pos < length; pos += buffer.Length)
        {
            int n = disk.Content.ReadAt(pos, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - pos)));
            hash.AppendData(buffer, 0, n);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
