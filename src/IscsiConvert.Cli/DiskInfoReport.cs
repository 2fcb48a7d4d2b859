using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;

namespace IscsiConvert.Cli;

/// <summary>What `disk info` reports about an image, as data that prints as text or JSON.</summary>
internal sealed record DiskInfoReport
{
    public required string Path { get; init; }

    public required string Format { get; init; }

    public required string Subformat { get; init; }

    public required long VirtualSize { get; init; }

    public required long StoredBytes { get; init; }

    public required int LogicalSectorSize { get; init; }

    public required IReadOnlyList<ChainEntry> ParentChain { get; init; }

    /// <summary>The partition table, or null when the disk has none (or it could not be read: see <see cref="PartitionTableError"/>).</summary>
    public PartitionTableReport? PartitionTable { get; init; }

    /// <summary>Why the partition table could not be read; the rest of the report still stands.</summary>
    public string? PartitionTableError { get; init; }

    /// <summary>The file system of a bare volume (a disk without a partition table), as `disk info` finds it in a partition.</summary>
    public string? FileSystem { get; init; }

    /// <summary>The bare volume's label, when its file system has one.</summary>
    public string? FileSystemLabel { get; init; }

    /// <summary>True when a pending VHDX log was replayed in memory to read the image (the file itself is unchanged).</summary>
    public bool LogReplayedInMemory { get; init; }

    /// <summary>True when the image's last in-place write was committed but not finished (its write journal lies beside
    /// it) and was applied in memory to read the image; the file is unchanged (a read-write open, or `disk recover`,
    /// finishes the write in the file).</summary>
    public bool JournalReplayedInMemory { get; init; }

    /// <summary>The parent path stored in the image (or in the last parent found) when that parent was not found; the
    /// partition table is then not read, since the content without its parent is not the disk's.</summary>
    public string? MissingParent { get; init; }

    /// <summary>
    /// Why the image is damaged (e.g. truncated: a table or data past the end of the file), or null. The header facts
    /// above still stand, as `qemu-img info` reports them; reads of the missing data fail.
    /// </summary>
    public string? Damage { get; init; }

    public static DiskInfoReport From(VirtualDisk disk)
    {
        if (disk.Chain.Any(d => d.MissingParentPath is not null))
        {
            // Without the parent the content is not the disk's: report the image itself and nothing read from it.
            return FromImage(disk);
        }
        PartitionTableReport? table = null;
        string? error = null;
        try
        {
            table = PartitionTableReport.From(Storage.Partitions.PartitionTable.Read(disk));
        }
        catch (CorruptDataException ex)
        {
            error = ex.Message;
        }
        DetectedFileSystem? bare = null;
        if (table is null && error is null)
        {
            try
            {
                bare = FileSystemProbe.Detect(disk.Content);
            }
            catch (CorruptDataException)
            {
            }
        }
        return FromImage(disk) with { PartitionTable = table, PartitionTableError = error, FileSystem = bare?.Name, FileSystemLabel = bare?.Label };
    }

    private static DiskInfoReport FromImage(VirtualDisk disk) => new()
    {
        Path = disk.FilePath ?? "(stream)",
        Format = disk.Format.ToString().ToLowerInvariant(),
        Subformat = disk.Subformat,
        VirtualSize = disk.Capacity,
        StoredBytes = disk.StoredBytes,
        LogicalSectorSize = disk.LogicalSectorSize,
        LogReplayedInMemory = disk.Chain.Any(d => d.LogReplayedInMemory),
        JournalReplayedInMemory = disk.Chain.Any(d => d.JournalReplayedInMemory),
        MissingParent = disk.Chain.Select(d => d.MissingParentPath).LastOrDefault(p => p is not null),
        Damage = disk.Damage,
        ParentChain = disk.Chain.Skip(1).Select(d => new ChainEntry(d.FilePath ?? "(stream)", d.Format.ToString().ToLowerInvariant(), d.Subformat)).ToList(),
    };

    public string ToJson() => CliJson.Serialize(this, CliJson.OmitNullsOptions);

    public void WriteText(TextWriter w)
    {
        w.WriteLine($"image:           {Path}");
        w.WriteLine($"format:          {Format} ({Subformat})");
        w.WriteLine($"virtual size:    {SizeParser.Format(VirtualSize)} ({VirtualSize} bytes)");
        w.WriteLine($"stored data:     {SizeParser.Format(StoredBytes)} ({StoredBytes} bytes)");
        w.WriteLine($"sector size:     {LogicalSectorSize}");
        if (Damage is not null)
        {
            w.WriteLine($"warning:         the image is damaged; reads of the missing data will fail: {Damage}");
        }
        if (LogReplayedInMemory)
        {
            w.WriteLine("log:             a pending VHDX log was replayed in memory to read the image; the file is unchanged (a read-write open replays it into the file)");
        }
        if (JournalReplayedInMemory)
        {
            w.WriteLine("journal:         the last write was committed but not finished: journal replayed in memory (not written); the file is unchanged ('disk recover' or a read-write open finishes it)");
        }
        if (ParentChain.Count == 0 && MissingParent is null)
        {
            w.WriteLine("parent chain:    (none)");
        }
        else
        {
            w.WriteLine("parent chain:"); // the missing parent, if any, is listed last, below
            foreach (ChainEntry p in ParentChain)
            {
                w.WriteLine($"  -> {p.Path} [{p.Format} ({p.Subformat})]");
            }
        }
        if (MissingParent is not null)
        {
            w.WriteLine($"  -> {MissingParent} [missing: not found; give --parent PATH if it moved]");
            w.WriteLine("partitions:      (not read: without its parent the content is not the disk's)");
        }
        else if (PartitionTableError is not null)
        {
            w.WriteLine($"partitions:      unreadable: {PartitionTableError}");
        }
        else if (PartitionTable is null)
        {
            w.WriteLine("partitions:      (no partition table)");
            w.WriteLine($"file system:     {(FileSystem is null ? "(none found: the whole disk is one volume of an unknown kind, or blank)" : FileSystemLabel is null ? FileSystem + " (the whole disk is one volume)" : $"{FileSystem} \"{FileSystemLabel}\" (the whole disk is one volume)")}");
        }
        else
        {
            PartitionTable.WriteText(w);
        }
    }

    internal sealed record ChainEntry(string Path, string Format, string Subformat);

    internal sealed record PartitionTableReport(string Scheme, string? DiskId, IReadOnlyList<PartitionRow> Partitions, IReadOnlyList<string> Warnings)
    {
        public static PartitionTableReport? From(PartitionTable? table)
        {
            if (table is null)
            {
                return null;
            }
            string? id = table.DiskGuid is { } g
                ? g.ToString("D").ToUpperInvariant()
                : table.DiskSignature is { } sig ? "0x" + sig.ToString("x8", CultureInfo.InvariantCulture) : null;
            var rows = new List<PartitionRow>();
            foreach (PartitionInfo p in table.Partitions)
            {
                rows.Add(PartitionRow.From(p));
            }
            return new PartitionTableReport(table.Scheme.ToString().ToLowerInvariant(), id, rows, table.Warnings);
        }

        public void WriteText(TextWriter w)
        {
            w.WriteLine($"partitions:      {Scheme}{(DiskId is null ? string.Empty : ", disk id " + DiskId)}, {Partitions.Count} partition(s)");
            foreach (string warning in Warnings)
            {
                w.WriteLine($"  warning: {warning}");
            }
            if (Partitions.Count == 0)
            {
                return;
            }
            w.WriteLine($"  {"#",3} {"boot",-4}  {"scheme",-6}  {"type",-30}  {"code",-36}  {"start",14}  {"length",14}  {"size",10}  {"name",-20}  file system");
            foreach (PartitionRow p in Partitions)
            {
                string fs = p.FileSystem is null ? "-" : p.FileSystemLabel is null ? p.FileSystem : $"{p.FileSystem} \"{p.FileSystemLabel}\"";
                w.WriteLine($"  {p.Index,3} {(p.Bootable ? "*" : string.Empty),-4}  {p.Scheme,-6}  {Clip(p.Type, 30),-30}  {p.TypeCode,-36}  {p.Start,14}  {p.Length,14}  {SizeParser.Format(p.Length),10}  {Clip(p.Name ?? "-", 20),-20}  {fs}");
            }
        }

        private static string Clip(string text, int width) => text.Length <= width ? text : text.Substring(0, width - 1) + "~";
    }

    /// <summary>One partition: start and length in bytes, the type by name and raw code, and the file system found in it.</summary>
    internal sealed record PartitionRow(int Index, string Scheme, string Kind, string Type, string TypeCode, long Start, long Length, long FirstSector, long SectorCount,
        string? Name, string? UniqueGuid, bool Bootable, bool Logical, string? FileSystem, string? FileSystemLabel)
    {
        public static PartitionRow From(PartitionInfo p)
        {
            DetectedFileSystem? fs = null;
            // Extended containers hold EBRs, not file systems; a partition past the end of the disk cannot be opened.
            if (p.Kind != PartitionKind.Extended)
            {
                try
                {
                    using SparseStream volume = p.Open();
                    fs = FileSystemProbe.Detect(volume);
                }
                catch (CorruptDataException)
                {
                }
            }
            return new PartitionRow(p.Index, p.Scheme.ToString().ToLowerInvariant(), p.Kind.ToString(), p.TypeName, p.TypeCode, p.Start, p.Length,
                p.FirstSector, p.SectorCount, p.Name, p.UniqueGuid?.ToString("D").ToUpperInvariant(), p.Bootable, p.IsLogical, fs?.Name, fs?.Label);
        }
    }
}
