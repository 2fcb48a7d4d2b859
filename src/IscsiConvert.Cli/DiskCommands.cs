using System;
using System.CommandLine;
using System.IO;
using System.Threading;
using IscsiConvert.Storage;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert disk info|convert|create`.</summary>
internal static class DiskCommands
{
    public static Command Build(CliConsole console)
    {
        var disk = new Command("disk", "Inspect, create and convert virtual disk images (raw, VHD, VHDX, VMDK, QCOW2).");
        disk.Subcommands.Add(BuildInfo(console));
        disk.Subcommands.Add(BuildConvert(console));
        disk.Subcommands.Add(BuildCreate(console));
        return disk;
    }

    private static Command BuildInfo(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The image file; its format is detected from its content." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("info", "Show an image's format, size, parent chain and partitions.") { image, json };
        command.SetAction(parse =>
        {
            using VirtualDisk disk = DiskImage.Open(parse.GetValue(image)!, DiskAccess.ReadOnly);
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
        var command = new Command("convert", "Copy an image into a new one of another format, skipping holes and zero blocks.")
        {
            input, output, format, subformat,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            using VirtualDisk source = DiskImage.Open(parse.GetValue(input)!, DiskAccess.ReadOnly);
            var options = new DiskCreateOptions
            {
                Format = ParseFormat(parse.GetValue(format)!),
            };
            ApplySubformat(options, parse.GetValue(subformat));
            using var bar = new ProgressBar(console);
            long written = DiskConverter.Convert(source, parse.GetValue(output)!, options, bar, cancellationToken);
            bar.Dispose();
            console.Output.WriteLine($"Converted {source.Format.ToString().ToLowerInvariant()} ({SizeParser.Format(source.Capacity)}) to {options.Format.ToString().ToLowerInvariant()}: {SizeParser.Format(written)} of data written to {Path.GetFullPath(parse.GetValue(output)!)}");
            return System.Threading.Tasks.Task.FromResult(0);
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
        var command = new Command("create", "Create a new empty image, or a differencing image on top of a parent.")
        {
            output, size, format, parent, isFixed, blockSize, subformat,
        };
        command.SetAction(parse =>
        {
            var options = new DiskCreateOptions
            {
                Format = ParseFormat(parse.GetValue(format)!),
                Fixed = parse.GetValue(isFixed),
                ParentPath = parse.GetValue(parent),
            };
            ApplySubformat(options, parse.GetValue(subformat));
            string? sizeText = parse.GetValue(size);
            if (sizeText is not null)
            {
                options.Capacity = ParseSize(sizeText, "--size");
            }
            else if (options.ParentPath is null)
            {
                throw new ArgumentException("--size is required unless --parent is given.");
            }
            string? blockText = parse.GetValue(blockSize);
            if (blockText is not null)
            {
                options.BlockSize = ParseSize(blockText, "--block-size");
            }
            using VirtualDisk disk = DiskImage.Create(parse.GetValue(output)!, options);
            disk.Flush();
            console.Output.WriteLine($"Created {disk.Format.ToString().ToLowerInvariant()} ({disk.Subformat}) {SizeParser.Format(disk.Capacity)} at {disk.FilePath}");
            return 0;
        });
        return command;
    }

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
            throw new ArgumentException($"--subformat {subformat} applies to vmdk images only.");
        }
        options.Variant = subformat;
    }

    internal static DiskFormat ParseFormat(string text) => text switch
    {
        "raw" => DiskFormat.Raw,
        "vhd" => DiskFormat.Vhd,
        "vhdx" => DiskFormat.Vhdx,
        "qcow2" => DiskFormat.Qcow2,
        "vmdk" => DiskFormat.Vmdk,
        _ => throw new ArgumentException($"Unknown format '{text}'."),
    };

    private static long ParseSize(string text, string option) =>
        SizeParser.TryParse(text, out long bytes) ? bytes : throw new ArgumentException($"{option}: '{text}' is not a size (examples: 64G, 512M, 1048576).");
}
