using System.IO;
using BenchmarkDotNet.Attributes;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Benchmarks;

/// <summary>Formatting a 4 GiB sparse raw file as NTFS (4 KiB clusters): NtfsFormatter against mkntfs -f (quick format).</summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class FormatBenchmarks
{
    private const long Size = 4L << 30;
    private string _image = string.Empty;

    [IterationSetup]
    public void FreshFile()
    {
        _image = BenchmarkFiles.PathOf("format.img");
        File.Delete(_image);
        using var f = new FileStream(_image, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(Size);
    }

    [Benchmark(Baseline = true)]
    public void Mkntfs() => BenchmarkFiles.Run("mkntfs", "-q", "-F", "-f", "-L", "bench", _image);

    [Benchmark]
    public long NtfsFormatter()
    {
        using var f = new FileStream(_image, FileMode.Open, FileAccess.ReadWrite);
        return Ntfs.NtfsFormatter.Format(f, new NtfsFormatOptions { Label = "bench" }).FreeClusters;
    }
}
