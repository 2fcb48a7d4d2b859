using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using IscsiConvert.Storage;

namespace IscsiConvert.Cli;

/// <summary>What `disk convert` reports: the source and the new image, and whether the new image kept the source's exact size where its format would have rounded it.</summary>
internal sealed record DiskConvertReport(string Source, string SourceFormat, string Output, string Format, long SourceSize, long VirtualSize, long BytesWritten, bool ExactSizeKept, long? RoundedSize)
{
    public static DiskConvertReport From(VirtualDisk source, string outPath, DiskFormat format, long virtualSize, long written)
    {
        // A VHD rounds its size up to a whole CHS geometry; conversion keeps the source's size instead (as qemu's
        // force_size), so that a GPT's backup header stays on the last sector. Say so when that rounding was avoided.
        long? rounded = format == DiskFormat.Vhd && virtualSize == source.Capacity && DiskImage.RoundedVhdCapacity(source.Capacity) is long r && r != source.Capacity ? r : null;
        return new DiskConvertReport(source.FilePath ?? "(stream)", source.Format.ToString().ToLowerInvariant(), outPath, format.ToString().ToLowerInvariant(),
            source.Capacity, virtualSize, written, rounded is not null, rounded);
    }

    public string ToJson() => CliJson.Serialize(this, CliJson.OmitNullsOptions);

    public void WriteText(TextWriter w)
    {
        w.WriteLine($"Converted {SourceFormat} ({SizeParser.Format(SourceSize)}) to {Format}: {SizeParser.Format(BytesWritten)} of data written to {Output}");
        if (RoundedSize is long rounded)
        {
            w.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "Kept the exact size, {0} bytes: it is not a whole number of VHD CHS cylinders (rounding up would give {1} bytes and move the end of the disk), " +
                "so the VHD records it as its current size with the geometry that means \"use current size\" (Hyper-V and qemu read it so).",
                VirtualSize, rounded));
        }
        else if (VirtualSize != SourceSize)
        {
            w.WriteLine(string.Format(CultureInfo.InvariantCulture, "The size changed from {0} to {1} bytes: the {2} format rounds it to whole sectors.", SourceSize, VirtualSize, Format));
        }
    }
}
