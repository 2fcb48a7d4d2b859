using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert disk info|convert|create|format`.</summary>
internal static class DiskCommands
{
    public static Command Build(CliConsole console)
    {
        var disk = new Command("disk", "Inspect, create and convert virtual disk images (raw, VHD, VHDX, VMDK, QCOW2).");
        disk.Subcommands.Add(BuildInfo(console));
        disk.Subcommands.Add(BuildConvert(console));
        disk.Subcommands.Add(BuildCreate(console));
        disk.Subcommands.Add(BuildFormat(console));
        disk.Subcommands.Add(BuildRecover(console));
        return disk;
    }

    // Any read-write open does the same first; this says what it found, and is what a read-only command's refusal of an
    // image with a committed, unfinished write points to.
    private static Command BuildRecover(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The image file." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (image, outcome: finished, discarded or none); errors too." };
        var command = new Command("recover", "Finish (or discard) an in-place write that a crash interrupted: the write journal beside the image (IMAGE.iscsiconvert-journal).") { image, json };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(image)!;
            JournalRecovery found = DiskImage.Recover(path, console.Logger);
            if (parse.GetValue(json))
            {
                string outcome = found switch
                {
                    JournalRecovery.Finished => "finished",
                    JournalRecovery.Discarded => "discarded",
                    _ => "none",
                };
                console.Output.WriteLine(CliJson.Serialize(new DiskRecoverReport(Path.GetFullPath(path), outcome), CliJson.ReportOptions));
                return 0;
            }
            console.Output.WriteLine(found switch
            {
                JournalRecovery.Finished => $"{path}: finished the interrupted write from its journal; the image holds the complete write.",
                JournalRecovery.Discarded => $"{path}: discarded the journal of a write that stopped before its commit point; the image is as it was before that write.",
                _ => $"{path}: no interrupted write; nothing to do.",
            });
            return 0;
        });
        return command;
    }

    private static Command BuildInfo(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The image file; its format is detected from its content." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("info", "Show an image's format, size, parent chain and partitions.") { image, json };
        command.SetAction(parse =>
        {
            using VirtualDisk disk = console.OpenDiskForReport(parse.GetValue(image)!);
            DiskInfoReport report = DiskInfoReport.From(disk);
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(report.ToJson());
            }
            else
            {
                report.WriteText(console.Output);
            }
            return 0;
        });
        return command;
    }

    private static Command BuildConvert(CliConsole console)
    {
        var input = new Argument<string>("IN") { Description = "The source image (any supported format, parents merged)." };
        var output = new Argument<string>("OUT") { Description = "The new image; must not exist." };
        var format = FormatOption(required: true);
        var subformat = SubformatOption();
        var json = new Option<bool>("--json") { Description = "Print the report as JSON (source, new image, sizes, whether the exact size was kept)." };
        var command = new Command("convert", "Copy an image into a new one of another format, skipping holes and zero blocks. The disk keeps its exact size " +
            "(a VHD too, where its CHS geometry would round it up: as qemu's force_size, so a GPT's backup header stays on the last sector).")
        {
            input, output, format, subformat, json,
        };
        command.SetAction(parse =>
        {
            using VirtualDisk source = console.OpenDisk(parse.GetValue(input)!);
            var options = new DiskCreateOptions
            {
                Logger = console.Logger,
                Format = ParseFormat(parse.GetValue(format)!),
            };
            ApplySubformat(options, parse.GetValue(subformat));
            string outPath = Path.GetFullPath(parse.GetValue(output)!);
            RequireNew(outPath);
            // Ctrl-C and SIGTERM cancel the copy instead of killing the process, so that the converter removes
            // OUT.partial (a leftover would stop the next run).
            using var interrupt = new InterruptSignals();
            using var bar = new ProgressBar(console);
            long written;
            try
            {
                written = DiskConverter.Convert(source, outPath, options, bar, interrupt.Token);
            }
            catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested)
            {
                bar.Dispose();
                return console.Fail(CliApp.Interrupted, "interrupted", $"Interrupted by {interrupt.Signal}: the conversion stopped and {outPath}.partial was removed.", "Run the command again to convert.");
            }
            bar.Dispose();
            long newSize;
            // The new image is stand-alone: --parent was for the source.
            using (VirtualDisk converted = DiskImage.Open(outPath, new DiskOpenOptions { Logger = console.Logger }))
            {
                newSize = converted.Capacity;
            }
            DiskConvertReport report = DiskConvertReport.From(source, outPath, options.Format, newSize, written);
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(report.ToJson());
            }
            else
            {
                report.WriteText(console.Output);
            }
            return 0;
        });
        return command;
    }

    private static Command BuildCreate(CliConsole console)
    {
        var output = new Argument<string>("OUT") { Description = "The new image; must not exist." };
        var size = new Option<string>("--size") { Description = "Virtual size, such as 64G, 512M or a byte count (binary units). Not needed with --parent." };
        var format = FormatOption(required: true);
        var parent = new Option<string>("--parent") { Description = "Make a differencing image on top of this base image." };
        var isFixed = new Option<bool>("--fixed") { Description = "Allocate the whole image now (fixed) instead of growing it as written (dynamic)." };
        var blockSize = new Option<string>("--block-size") { Description = "Block size of a dynamic image (default: VHD 2M, VHDX 32M, VMDK grain 64K)." };
        var subformat = SubformatOption();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (output, format, subformat, virtualSize, parent); errors too." };
        var command = new Command("create", "Create a new empty image, or a differencing image on top of a parent.")
        {
            output, size, format, parent, isFixed, blockSize, subformat, json,
        };
        command.SetAction(parse =>
        {
            var options = new DiskCreateOptions
            {
                Logger = console.Logger,
                Format = ParseFormat(parse.GetValue(format)!),
                Fixed = parse.GetValue(isFixed),
                ParentPath = parse.GetValue(parent),
            };
            if (options.Fixed && parse.GetValue(subformat) is string sub && (sub == "dynamic" || sub == "streamOptimized" || sub.EndsWith("Sparse", StringComparison.Ordinal)))
            {
                throw new UsageException($"--fixed and --subformat {sub} contradict each other; give one of them.");
            }
            ApplySubformat(options, parse.GetValue(subformat));
            string? sizeText = parse.GetValue(size);
            if (sizeText is not null)
            {
                options.Capacity = ParseSize(sizeText, "--size");
            }
            else if (options.ParentPath is null)
            {
                throw new UsageException("--size is required unless --parent is given.");
            }
            string? blockText = parse.GetValue(blockSize);
            if (blockText is not null && options.Format == DiskFormat.Raw)
            {
                throw new UsageException("--block-size is for dynamic vhd, vhdx, vmdk and qcow2 images; a raw image has no blocks.");
            }
            RequireNew(parse.GetValue(output)!);
            if (blockText is not null)
            {
                options.BlockSize = ParsePowerOfTwo(blockText, "--block-size", "1M, 2M, 32M");
            }
            VirtualDisk created;
            try
            {
                created = DiskImage.Create(parse.GetValue(output)!, options);
            }
            catch (ArgumentException ex)
            {
                // The format's own limits on --size and --block-size (a VHD's 2 TiB, a VHDX block of 1 to 256 MiB).
                throw new UsageException(CliApp.WithoutParameterName(ex), ex);
            }
            using VirtualDisk disk = created;
            disk.Flush();
            if (parse.GetValue(json))
            {
                var report = new DiskCreateReport(disk.FilePath!, disk.Format.ToString().ToLowerInvariant(), disk.Subformat, disk.Capacity, disk.Parent?.FilePath);
                console.Output.WriteLine(CliJson.Serialize(report, CliJson.ReportOptions));
                return 0;
            }
            console.Output.WriteLine($"Created {disk.Format.ToString().ToLowerInvariant()} ({disk.Subformat}) {SizeParser.Format(disk.Capacity)} at {disk.FilePath}");
            return 0;
        });
        return command;
    }

    private static Command BuildFormat(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The disk image (raw, VHD, VHDX, VMDK, QCOW2); opened read-write." };
        var partition = new Option<int?>("--partition", "-p")
        {
            Description = "The partition to format (as `disk info` lists them). Default: the only partition, or the whole disk when it has no partition table.",
        };
        var label = new Option<string>("--label", "-L") { Description = "The volume label (at most 32 characters)." };
        var clusterSize = new Option<string>("--cluster-size", "-c") { Description = "Bytes per cluster: 512 to 2M, a power of two (default: as Windows picks, 4K up to 16 TiB)." };
        var force = new Option<bool>("--force") { Description = "Format even when the partition already holds a file system (it is lost)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be made, and write nothing." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (the partition, its size, the file system it held, the new volume's label, cluster size and clusters, dryRun, written); errors too." };
        var command = new Command("format", "Create a new, empty NTFS file system on a partition of an image.")
        {
            image, partition, label, clusterSize, force, dryRun, json,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(image)!;
            bool dry = parse.GetValue(dryRun);
            using VirtualDisk disk = console.OpenDisk(path, dry ? DiskAccess.ReadOnly : DiskAccess.ReadWrite);
            (SparseStream volume, string what, long firstSector, int? number) = SelectPartitionToFormat(disk, path, parse.GetValue(partition));
            try
            {
                var options = new NtfsFormatOptions
                {
                    Logger = console.Logger,
                    Label = parse.GetValue(label) ?? string.Empty,
                    BytesPerSector = disk.LogicalSectorSize,
                    // The field has 32 bits; a partition beyond them is only booted through UEFI, which does not read it.
                    HiddenSectors = firstSector <= uint.MaxValue ? firstSector : 0,
                };
                string? clusterText = parse.GetValue(clusterSize);
                if (clusterText is not null)
                {
                    long bytes = ParsePowerOfTwo(clusterText, "--cluster-size", "512, 4K, 64K, 2M");
                    options.ClusterSize = bytes is > 0 and <= int.MaxValue ? (int)bytes : throw new UsageException($"--cluster-size: {clusterText} is out of range.");
                }
                NtfsFormatInfo plan;
                try
                {
                    // The label and cluster size are checked before anything is read or written: a bad one is a usage error.
                    plan = NtfsFormatter.Plan(volume.Length, options);
                }
                catch (ArgumentException ex)
                {
                    throw new UsageException(CliApp.WithoutParameterName(ex), ex);
                }
                DetectedFileSystem? existing = FileSystemProbe.Detect(volume);
                if (existing is not null && !parse.GetValue(force))
                {
                    throw new UnsafeToWriteException($"{what} holds a file system ({existing}); formatting erases it. Add --force to format it anyway.", path);
                }
                if (dry)
                {
                    if (parse.GetValue(json))
                    {
                        console.Output.WriteLine(CliJson.Serialize(FormatReport(disk, number, what, volume.Length, existing, plan, dryRun: true), CliJson.ReportOptions));
                        return 0;
                    }
                    console.Output.WriteLine($"Would format {what} ({SizeParser.Format(volume.Length)}{(existing is null ? string.Empty : ", now " + existing)}) as {plan}. Nothing was written (--dry-run).");
                    return 0;
                }
                NtfsFormatInfo info;
                // One write transaction: a crash while formatting leaves the partition as it was, or formatted.
                using (DiskWriteTransaction transaction = disk.BeginWriteTransaction())
                {
                    info = NtfsFormatter.Format(volume, options);
                    transaction.Commit();
                }
                if (parse.GetValue(json))
                {
                    console.Output.WriteLine(CliJson.Serialize(FormatReport(disk, number, what, volume.Length, existing, info, dryRun: false), CliJson.ReportOptions));
                    return 0;
                }
                console.Output.WriteLine($"Formatted {what} ({SizeParser.Format(volume.Length)}{(existing is null ? string.Empty : ", was " + existing)}) of {disk.FilePath} as {info}.");
            }
            finally
            {
                // A partition's stream is ours to close; the whole disk's content belongs to the disk.
                if (!ReferenceEquals(volume, disk.Content))
                {
                    volume.Dispose();
                }
            }
            return 0;
        });
        return command;
    }

    private static DiskFormatReport FormatReport(VirtualDisk disk, int? partition, string what, long size, DetectedFileSystem? existing, NtfsFormatInfo info, bool dryRun) =>
        new(disk.FilePath!, partition, what, size, existing?.ToString(), info.Label, info.ClusterSize, info.BytesPerSector, info.TotalClusters,
            info.SerialNumber.ToString("X16", CultureInfo.InvariantCulture), dryRun, !dryRun);

    // The partition (or bare disk) to format: the one named, the only one, or the whole disk without a partition table.
    private static (SparseStream Volume, string What, long FirstSector, int? Number) SelectPartitionToFormat(VirtualDisk disk, string path, int? number)
    {
        PartitionTable? table = PartitionTable.Read(disk);
        if (table is null || table.Partitions.Count == 0)
        {
            if (number is not null)
            {
                throw new UsageException($"{path} has no partition table; leave out --partition to format the whole disk as one volume, or create a partition first.");
            }
            return (disk.Content, "the whole disk", 0, null);
        }
        PartitionInfo chosen;
        if (number is { } n)
        {
            chosen = table.Partitions.FirstOrDefault(p => p.Index == n)
                ?? throw new UsageException($"{path} has no partition {n}. It has: {DescribePartitions(table)}.");
        }
        else if (table.Partitions.Count == 1)
        {
            chosen = table.Partitions[0];
        }
        else
        {
            throw new UsageException($"{path} has {table.Partitions.Count} partitions: {DescribePartitions(table)}. Choose one with --partition N.");
        }
        return (table.Open(chosen), string.Format(CultureInfo.InvariantCulture, "partition {0} ({1})", chosen.Index, chosen.TypeName), chosen.FirstSector, chosen.Index);
    }

    private static string DescribePartitions(PartitionTable table) =>
        string.Join("; ", table.Partitions.Select(p =>
        {
            using SparseStream s = table.Open(p);
            DetectedFileSystem? fs = FileSystemProbe.Detect(s);
            return string.Format(CultureInfo.InvariantCulture, "{0}: {1}, {2}{3}", p.Index, p.TypeName, SizeParser.Format(p.Length), fs is null ? string.Empty : ", " + fs);
        }));

    private static Option<string> FormatOption(bool required)
    {
        var format = new Option<string>("--format", "-f") { Description = "The image format: raw, vhd, vhdx, vmdk or qcow2.", Required = required };
        format.AcceptOnlyFromAmong("raw", "vhd", "vhdx", "vmdk", "qcow2");
        return format;
    }

    /// <summary>The VMDK variants that --subformat can name (besides dynamic and fixed, which every format takes).</summary>
    private static readonly string[] VmdkSubformats = { "monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized" };

    private static Option<string> SubformatOption()
    {
        var subformat = new Option<string>("--subformat")
        {
            Description = "dynamic (sparse, the default) or fixed (fully allocated); for vmdk also monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat or streamOptimized (convert only: written front to back).",
        };
        subformat.AcceptOnlyFromAmong(["dynamic", "fixed", .. VmdkSubformats]);
        return subformat;
    }

    internal static void ApplySubformat(DiskCreateOptions options, string? subformat)
    {
        switch (subformat)
        {
            case null:
                return;
            case "dynamic":
                options.Fixed = false;
                return;
            case "fixed":
                options.Fixed = true;
                return;
        }
        if (options.Format != DiskFormat.Vmdk)
        {
            throw new UsageException($"--subformat {subformat} applies to vmdk images only.");
        }
        options.Variant = subformat;
    }

    // OUT must be a new file (the converter and the creators never overwrite): naming one that exists is a usage error, as prepare --output.
    private static void RequireNew(string path)
    {
        if (File.Exists(path) || Directory.Exists(path))
        {
            throw new UsageException($"'{path}' exists; name a new file (nothing is overwritten).");
        }
    }

    internal static DiskFormat ParseFormat(string text) => text switch
    {
        "raw" => DiskFormat.Raw,
        "vhd" => DiskFormat.Vhd,
        "vhdx" => DiskFormat.Vhdx,
        "qcow2" => DiskFormat.Qcow2,
        "vmdk" => DiskFormat.Vmdk,
        _ => throw new UsageException($"Unknown format '{text}': use raw, vhd, vhdx, vmdk or qcow2."),
    };

    // Cluster and block sizes are powers of two in every format; the format's own range is checked by the library.
    private static long ParsePowerOfTwo(string text, string option, string examples)
    {
        long bytes = ParseSize(text, option);
        return bytes > 0 && (bytes & (bytes - 1)) == 0 ? bytes : throw new UsageException($"{option}: '{text}' is not a power of two (examples: {examples}).");
    }

    private static long ParseSize(string text, string option) =>
        SizeParser.TryParse(text, out long bytes) ? bytes : throw new UsageException($"{option}: '{text}' is not a size (examples: 64G, 512M, 1048576).");
}
