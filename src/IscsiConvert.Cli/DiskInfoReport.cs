using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using IscsiConvert.Storage;

namespace IscsiConvert.Cli;

/// <summary>What `disk info` reports about an image, as data that prints as text or JSON.</summary>
internal sealed class DiskInfoReport
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public required string Path { get; init; }

    public required string Format { get; init; }

    public required string Subformat { get; init; }

    public required long VirtualSize { get; init; }

    public required long StoredBytes { get; init; }

    public required int LogicalSectorSize { get; init; }

    public required IReadOnlyList<ChainEntry> ParentChain { get; init; }

    public static DiskInfoReport From(VirtualDisk disk) => new()
    {
        Path = disk.FilePath ?? "(stream)",
        Format = disk.Format.ToString().ToLowerInvariant(),
        Subformat = disk.Subformat,
        VirtualSize = disk.Capacity,
        StoredBytes = disk.StoredBytes,
        LogicalSectorSize = disk.LogicalSectorSize,
        ParentChain = disk.Chain.Skip(1).Select(d => new ChainEntry(d.FilePath ?? "(stream)", d.Format.ToString().ToLowerInvariant(), d.Subformat)).ToList(),
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public void WriteText(TextWriter w)
    {
        w.WriteLine($"image:           {Path}");
        w.WriteLine($"format:          {Format} ({Subformat})");
        w.WriteLine($"virtual size:    {SizeParser.Format(VirtualSize)} ({VirtualSize} bytes)");
        w.WriteLine($"stored data:     {SizeParser.Format(StoredBytes)} ({StoredBytes} bytes)");
        w.WriteLine($"sector size:     {LogicalSectorSize}");
        if (ParentChain.Count == 0)
        {
            w.WriteLine("parent chain:    (none)");
        }
        else
        {
            w.WriteLine("parent chain:");
            foreach (ChainEntry p in ParentChain)
            {
                w.WriteLine($"  -> {p.Path} [{p.Format} ({p.Subformat})]");
            }
        }
    }

    internal sealed record ChainEntry(string Path, string Format, string Subformat);
}
