using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert fs ls|cat|check|put|mkdir|rm`: the NTFS volume inside a disk image.</summary>
internal static class FsCommands
{
    public static Command Build(CliConsole console)
    {
        var fs = new Command("fs", "Read and write the NTFS file system inside a disk image (raw, VHD, VHDX, VMDK, QCOW2), with or without a partition table.");
        fs.Subcommands.Add(BuildLs(console));
        fs.Subcommands.Add(BuildCat(console));
        fs.Subcommands.Add(BuildCheck(console));
        fs.Subcommands.Add(BuildPut(console));
        fs.Subcommands.Add(BuildMkdir(console));
        fs.Subcommands.Add(BuildRm(console));
        return fs;
    }

    private static Argument<string> ImageArgument() => new("IMAGE") { Description = "The disk image." };

    private static Option<int?> PartitionOption() => new("--partition", "-p")
    {
        Description = "The partition number (as `disk info` lists them). Default: the only NTFS partition, or the whole disk when it has no partition table.",
    };

    private static Command BuildLs(CliConsole console)
    {
        var image = ImageArgument();
        var partition = PartitionOption();
        var path = new Argument<string>("PATH") { Description = "A directory or file on the volume (\\ or / separated; default: the root).", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("ls", "List a directory (or describe a file): type, size, last write time (UTC), MFT record and name.") { image, partition, path, json };
        command.SetAction(parse =>
        {
            using OpenedNtfs opened = OpenedNtfs.Open(console, parse.GetValue(image)!, parse.GetValue(partition));
            string target = parse.GetValue(path) ?? "\\";
            NtfsEntry entry = opened.Volume.GetEntry(target);
            IReadOnlyList<NtfsEntry> entries = entry.IsDirectory ? opened.Volume.ListDirectory(target) : new[] { entry };
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(CliJson.Serialize(entries.Select(EntryReport.From).ToList(), CliJson.OmitNullsOptions));
                return 0;
            }
            foreach (NtfsEntry e in entries)
            {
                char type = e.ReparseTag is not null ? 'l' : e.IsDirectory ? 'd' : '-';
                string name = e.ReparseTarget is null ? e.Name : $"{e.Name} -> {e.ReparseTarget}";
                console.Output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0} {1,14} {2:yyyy-MM-dd HH:mm:ss} {3,8}  {4}",
                    type, e.IsDirectory ? 0 : e.Size, e.LastWriteTimeUtc, e.MftRecordNumber, name));
            }
            return 0;
        });
        return command;
    }

    private static Command BuildCat(CliConsole console)
    {
        var image = ImageArgument();
        var partition = PartitionOption();
        var path = new Argument<string>("PATH") { Description = "The file on the volume." };
        var stream = new Option<string>("--stream") { Description = "A named data stream (alternate data stream) instead of the file's contents." };
        var output = new Option<string>("--output", "-o") { Description = "Write to this file instead of standard output." };
        var command = new Command("cat", "Copy a file's contents (or a named stream) to standard output or a file.") { image, partition, path, stream, output };
        command.SetAction(parse =>
        {
            using OpenedNtfs opened = OpenedNtfs.Open(console, parse.GetValue(image)!, parse.GetValue(partition));
            using Stream source = opened.Volume.OpenFile(parse.GetValue(path)!, parse.GetValue(stream));
            string? outPath = parse.GetValue(output);
            if (outPath is not null)
            {
                using var file = new FileStream(outPath, FileMode.Create, FileAccess.Write);
                source.CopyTo(file);
            }
            else if (ReferenceEquals(console.Output, Console.Out))
            {
                console.Output.Flush();
                using Stream stdout = Console.OpenStandardOutput();
                source.CopyTo(stdout);
            }
            else
            {
                // Captured output (tests, embedding): one char per byte, so that the bytes can be recovered exactly.
                byte[] buffer = new byte[81920];
                int n;
                while ((n = source.Read(buffer, 0, buffer.Length)) > 0)
                {
                    console.Output.Write(Encoding.Latin1.GetString(buffer, 0, n));
                }
            }
            return 0;
        });
        return command;
    }

    private static Command BuildCheck(CliConsole console)
    {
        var image = ImageArgument();
        var partition = PartitionOption();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (volume, problems, write safety, exitCode)." };
        var command = new Command("check", "Cross-check the volume's metadata (read-only) and say whether it is safe to write; exit code 1 when problems are found, " +
            "3 when the volume is sound but writes would be refused (hibernated, dirty, not shut down cleanly).") { image, partition, json };
        command.SetAction(parse =>
        {
            using OpenedNtfs opened = OpenedNtfs.Open(console, parse.GetValue(image)!, parse.GetValue(partition));
            NtfsVolume v = opened.Volume;
            IReadOnlyList<NtfsProblem> problems = v.Verify();
            string? refusal = null;
            try
            {
                v.CheckWritable();
            }
            catch (UnsafeToWriteException ex)
            {
                refusal = ex.Message;
            }
            // Damage outranks a refusal; a sound volume that may not be written is exit code 3, as a write would be.
            int exitCode = problems.Count > 0 ? CliApp.DataError : refusal is not null ? CliApp.Refused : CliApp.Success;
            if (parse.GetValue(json))
            {
                var report = new FsCheckReport(Path.GetFullPath(parse.GetValue(image)!), $"{v.MajorVersion}.{v.MinorVersion}", v.VolumeLabel, v.ClusterSize, v.TotalClusters,
                    v.IsDirty, problems.Select(p => p.ToString()).ToList(), refusal is null, refusal, exitCode);
                console.Output.WriteLine(CliJson.Serialize(report, CliJson.OmitNullsOptions));
                return exitCode;
            }
            console.Output.WriteLine($"NTFS {v.MajorVersion}.{v.MinorVersion} \"{v.VolumeLabel}\", {v.ClusterSize}-byte clusters, {v.TotalClusters} clusters{(v.IsDirty ? ", DIRTY" : string.Empty)}");
            foreach (NtfsProblem p in problems)
            {
                console.Output.WriteLine(p.ToString());
            }
            console.Output.WriteLine(refusal is null
                ? "Write safety: clean (not dirty, $LogFile closed cleanly, not hibernated)."
                : "Write safety: writes would be refused. " + refusal);
            console.Output.WriteLine(problems.Count == 0 ? "OK: no problems found." : $"{problems.Count} problem(s) found.");
            return exitCode;
        });
        return command;
    }

    private static Option<bool> DryRunOption() => new("--dry-run", "-n")
    {
        Description = "Do everything in memory and report it, but write nothing to the image.",
    };

    private static Command BuildPut(CliConsole console)
    {
        var image = ImageArgument();
        var partition = PartitionOption();
        var local = new Argument<string>("LOCAL") { Description = "The file to copy into the image." };
        var path = new Argument<string>("PATH") { Description = "Where to put it on the volume (a file path, or an existing directory to keep the name)." };
        var parents = new Option<bool>("--parents") { Description = "Create missing directories on the way." };
        var dryRun = DryRunOption();
        var json = EditJsonOption();
        var command = new Command("put", "Copy a local file into the NTFS volume (created or replaced). The volume must be clean: not dirty, not hibernated.") { image, partition, local, path, parents, dryRun, json };
        command.SetAction(parse =>
        {
            string source = parse.GetValue(local)!;
            using FileStream input = File.OpenRead(source);
            return Edit(console, parse, image, partition, dryRun, json, volume =>
            {
                string target = parse.GetValue(path)!;
                if (volume.TryGetEntry(target) is { IsDirectory: true } dir)
                {
                    target = dir.Path.TrimEnd('\\') + "\\" + Path.GetFileName(source);
                }
                string parent = ParentOf(target);
                if (parse.GetValue(parents) && parent.Length > 0)
                {
                    volume.CreateDirectory(parent);
                }
                bool existed = volume.TryGetEntry(target) is not null;
                NtfsEntry written = volume.WriteFile(target, input);
                return (existed ? "replaced" : "created", written.Path, written.Size, written.MftRecordNumber);
            });
        });
        return command;
    }

    private static Command BuildMkdir(CliConsole console)
    {
        var image = ImageArgument();
        var partition = PartitionOption();
        var path = new Argument<string>("PATH") { Description = "The directory to create (missing parents are created too)." };
        var dryRun = DryRunOption();
        var json = EditJsonOption();
        var command = new Command("mkdir", "Create a directory (and its missing parents) on the NTFS volume.") { image, partition, path, dryRun, json };
        command.SetAction(parse => Edit(console, parse, image, partition, dryRun, json, volume =>
        {
            string target = parse.GetValue(path)!;
            bool existed = volume.TryGetEntry(target) is not null;
            NtfsEntry dir = volume.CreateDirectory(target);
            return (existed ? "exists" : "created", dir.Path, null, dir.MftRecordNumber);
        }));
        return command;
    }

    private static Command BuildRm(CliConsole console)
    {
        var image = ImageArgument();
        var partition = PartitionOption();
        var path = new Argument<string>("PATH") { Description = "The file or directory to delete." };
        var recursive = new Option<bool>("--recursive", "-r") { Description = "Delete a directory with everything in it." };
        var dryRun = DryRunOption();
        var json = EditJsonOption();
        var command = new Command("rm", "Delete a file, or a directory (empty, or with --recursive), from the NTFS volume.") { image, partition, path, recursive, dryRun, json };
        command.SetAction(parse => Edit(console, parse, image, partition, dryRun, json, volume =>
        {
            NtfsEntry entry = volume.GetEntry(parse.GetValue(path)!);
            volume.Delete(entry.Path, parse.GetValue(recursive));
            return ("deleted", entry.Path, null, entry.MftRecordNumber);
        }));
        return command;
    }

    private static Option<bool> EditJsonOption() => new("--json")
    {
        Description = "Print the result as JSON (image, partition, command, outcome, path, size, mftRecord, dryRun, written); errors too.",
    };

    // Opens the volume writable, applies the edit (staged in memory), and commits it in one write transaction of the
    // image (unless dry-run): a crash leaves the old or the new image; prints what was done (as text, or a FsEditReport).
    private static int Edit(CliConsole console, ParseResult parse, Argument<string> image, Option<int?> partition, Option<bool> dryRunOption, Option<bool> json,
        Func<NtfsVolume, (string Outcome, string Path, long? Size, long MftRecord)> edit)
    {
        string imagePath = parse.GetValue(image)!;
        bool dryRun = parse.GetValue(dryRunOption);
        using OpenedNtfs opened = OpenedNtfs.Open(console, imagePath, parse.GetValue(partition), writable: true);
        (string outcome, string path, long? size, long mftRecord) = edit(opened.Volume);
        // A directory that already exists is not written to; neither is anything in a dry run.
        bool written = !dryRun && outcome != "exists";
        if (dryRun)
        {
            opened.Volume.DiscardChanges();
        }
        else
        {
            opened.Commit();
        }
        var report = new FsEditReport(Path.GetFullPath(imagePath), parse.GetValue(partition), parse.CommandResult.Command.Name, outcome, path, size, mftRecord, dryRun, written);
        if (parse.GetValue(json))
        {
            console.Output.WriteLine(CliJson.Serialize(report, CliJson.ReportOptions));
        }
        else
        {
            console.Output.WriteLine(dryRun ? "dry run: " + report.Describe() + "; nothing was written." : report.Describe());
        }
        return 0;
    }

    private static string ParentOf(string path)
    {
        string trimmed = path.Replace('/', '\\').TrimEnd('\\');
        int slash = trimmed.LastIndexOf('\\');
        return slash <= 0 ? string.Empty : trimmed.Substring(0, slash);
    }

    internal sealed record StreamReport(string Name, long Length);

    internal sealed record EntryReport(
        string Name, string Path, bool IsDirectory, long Size, long MftRecord, DateTime Created, DateTime Modified, DateTime MftChanged, DateTime Accessed,
        string Attributes, int HardLinks, string? ShortName, string? ReparseTag, string? ReparseTarget, IReadOnlyList<StreamReport>? Streams)
    {
        public static EntryReport From(NtfsEntry e) => new(
            e.Name, e.Path, e.IsDirectory, e.IsDirectory ? 0 : e.Size, e.MftRecordNumber, e.CreationTimeUtc, e.LastWriteTimeUtc, e.MftChangeTimeUtc, e.LastAccessTimeUtc,
            e.Attributes.ToString(), e.HardLinkCount, e.ShortName, e.ReparseTag is { } t ? "0x" + t.ToString("X8", CultureInfo.InvariantCulture) : null, e.ReparseTarget,
            e.AlternateStreams.Count == 0 ? null : e.AlternateStreams.Select(s => new StreamReport(s.Name, s.Length)).ToList());
    }
}

/// <summary>The NTFS volume of a disk image: the partition chosen by number, the single NTFS partition, or the bare disk.</summary>
internal sealed class OpenedNtfs : IDisposable
{
    private readonly VirtualDisk _disk;
    private readonly SparseStream _stream;

    private OpenedNtfs(VirtualDisk disk, SparseStream stream, NtfsVolume volume)
    {
        _disk = disk;
        _stream = stream;
        Volume = volume;
    }

    public NtfsVolume Volume { get; }

    public static OpenedNtfs Open(CliConsole console, string imagePath, int? partitionNumber, bool writable = false)
    {
        VirtualDisk disk = console.OpenDisk(imagePath, writable ? DiskAccess.ReadWrite : DiskAccess.ReadOnly);
        try
        {
            SparseStream stream = SelectVolume(disk, imagePath, partitionNumber);
            try
            {
                return new OpenedNtfs(disk, stream, NtfsVolume.Open(stream, new NtfsOpenOptions { FilePath = imagePath, LeaveOpen = true, Writable = writable }));
            }
            catch
            {
                if (!ReferenceEquals(stream, disk.Content))
                {
                    stream.Dispose();
                }
                throw;
            }
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    private static SparseStream SelectVolume(VirtualDisk disk, string imagePath, int? partitionNumber)
    {
        PartitionTable? table = PartitionTable.Read(disk);
        if (table is null || table.Partitions.Count == 0)
        {
            if (partitionNumber is not null)
            {
                throw new UsageException($"{imagePath} has no partition table; leave out --partition to read the whole disk as one volume.");
            }
            return disk.Content;
        }
        if (partitionNumber is { } n)
        {
            PartitionInfo chosen = table.Partitions.FirstOrDefault(p => p.Index == n)
                ?? throw new UsageException($"{imagePath} has no partition {n}. It has: {Describe(table, table.Partitions)}.");
            return table.Open(chosen);
        }
        var ntfs = new List<PartitionInfo>();
        foreach (PartitionInfo p in table.Partitions)
        {
            using SparseStream s = table.Open(p);
            if (FileSystemProbe.Detect(s)?.Name == "NTFS")
            {
                ntfs.Add(p);
            }
        }
        return ntfs.Count switch
        {
            1 => table.Open(ntfs[0]),
            0 => throw new ArgumentException($"{imagePath} has no NTFS partition. Its partitions: {Describe(table, table.Partitions)}."),
            _ => throw new UsageException($"{imagePath} has {ntfs.Count} NTFS partitions: {Describe(table, ntfs)}. Choose one with --partition N."),
        };
    }

    private static string Describe(PartitionTable table, IEnumerable<PartitionInfo> partitions) =>
        string.Join("; ", partitions.Select(p =>
        {
            string? fs = null;
            using (SparseStream s = table.Open(p))
            {
                fs = FileSystemProbe.Detect(s)?.ToString();
            }
            return string.Format(CultureInfo.InvariantCulture, "{0}: {1}, {2} MiB{3}", p.Index, p.TypeName, p.Length >> 20, fs is null ? string.Empty : ", " + fs);
        }));

    /// <summary>Writes the volume's staged changes and the disk image's own metadata in one write transaction
    /// (<see cref="DiskWriteTransaction"/>): all of it reaches the image, or — on a failure or a crash before the
    /// commit point — none of it.</summary>
    public void Commit()
    {
        using DiskWriteTransaction transaction = _disk.BeginWriteTransaction();
        Volume.Flush();
        transaction.Commit();
    }

    public void Dispose()
    {
        Volume.Dispose();
        if (!ReferenceEquals(_stream, _disk.Content))
        {
            _stream.Dispose();
        }
        _disk.Dispose();
    }
}

/// <summary>What `fs check --json` prints: the volume, the problems found, whether writes are allowed (and why not), and the exit code.</summary>
internal sealed record FsCheckReport(string Image, string NtfsVersion, string Label, long ClusterSize, long TotalClusters, bool Dirty,
    IReadOnlyList<string> Problems, bool Writable, string? WriteRefusal, int ExitCode);
