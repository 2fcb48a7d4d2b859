using System.IO;
using BenchmarkDotNet.Attributes;
using IscsiConvert.Storage;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// `disk convert` of a 4 GiB image holding 1 GiB of data, against `qemu-img convert` on the same input (the baseline).
/// One iteration is a whole conversion, so the job is short: a ratio, not a fine-grained timing.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class ConvertBenchmarks
{
    private string _source = string.Empty;

    [Params("raw", "vhdx", "vmdk", "qcow2")]
    public string Target { get; set; } = "raw";

    [GlobalSetup]
    public void Setup() => _source = BenchmarkFiles.SparseRaw("convert-source.img", 4L << 30, 1L << 30);

    [Benchmark(Baseline = true)]
    public void QemuImgConvert()
    {
        string output = BenchmarkFiles.PathOf("qemu-out." + Target);
        File.Delete(output);
        BenchmarkFiles.Run("qemu-img", "convert", "-f", "raw", "-O", QemuName(Target), _source, output);
    }

    /// <summary>
    /// qemu-img's default cache mode for the output of convert is "unsafe": it never flushes, so its figure excludes
    /// writing the data to the disk. Ours flushes before renaming the finished image; "-t writeback" makes qemu-img
    /// flush too, the like-for-like comparison.
    /// </summary>
    [Benchmark]
    public void QemuImgConvertFlushed()
    {
        string output = BenchmarkFiles.PathOf("qemu-flushed-out." + Target);
        File.Delete(output);
        BenchmarkFiles.Run("qemu-img", "convert", "-t", "writeback", "-f", "raw", "-O", QemuName(Target), _source, output);
    }

    [Benchmark]
    public void IscsiConvertConvert()
    {
        string output = BenchmarkFiles.PathOf("ours-out." + Target);
        File.Delete(output);
        using VirtualDisk source = DiskImage.Open(_source);
        DiskConverter.Convert(source, output, new DiskCreateOptions { Format = Format(Target) });
    }

    private static string QemuName(string target) => target == "vhd" ? "vpc" : target;

    private static DiskFormat Format(string target) => target switch
    {
        "vhd" => DiskFormat.Vhd,
        "vhdx" => DiskFormat.Vhdx,
        "vmdk" => DiskFormat.Vmdk,
        "qcow2" => DiskFormat.Qcow2,
        _ => DiskFormat.Raw,
    };
}
