using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// Path lookup of \Windows\System32\config\SYSTEM on a 4 GiB volume holding 100,000 files in a Windows-like tree
/// (mkntfs, then filled through ntfs-3g over FUSE once per machine; see <see cref="NtfsBenchmarkVolumes"/>). Ours:
/// open the volume and look the path up, and the lookup alone on an open volume. Baseline: `ntfsinfo -F PATH`, a
/// whole process that opens the volume, finds the path and dumps its record; `true` shows what starting any
/// process costs.
/// </summary>
[ShortRunJob]
[MedianColumn]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class NtfsLookupBenchmarks
{
    private const string UnixPath = "/Windows/System32/config/SYSTEM";

    private string _image = string.Empty;
    private NtfsVolume? _open;

    [GlobalSetup]
    public void Setup()
    {
        _image = BenchmarkFiles.PathOf("ntfs-100k.img");
        string done = _image + ".done";
        if (!File.Exists(done) || !File.Exists(_image))
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int files = NtfsBenchmarkVolumes.BuildWithNtfs3g(_image);
            File.WriteAllText(done, $"{files} files written through ntfs-3g in {sw.Elapsed.TotalSeconds:F1} s\n");
        }
        _open = NtfsVolume.Open(File.OpenRead(_image), new NtfsOpenOptions { FilePath = _image });
        if (_open.GetEntry(NtfsBenchmarkVolumes.SystemHivePath).Size != 64 << 10)
        {
            throw new InvalidOperationException("The benchmark volume does not hold the expected SYSTEM file.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _open?.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("OpenAndLookup")]
    public void Ntfs3gNtfsinfo() => BenchmarkFiles.Run("ntfsinfo", "-F", UnixPath, _image);

    [Benchmark]
    [BenchmarkCategory("OpenAndLookup")]
    public void ProcessStartFloor() => BenchmarkFiles.Run("true");

    [Benchmark]
    [BenchmarkCategory("OpenAndLookup")]
    public long OpenAndGetEntry()
    {
        using NtfsVolume volume = NtfsVolume.Open(File.OpenRead(_image), new NtfsOpenOptions { FilePath = _image });
        return volume.GetEntry(NtfsBenchmarkVolumes.SystemHivePath).MftRecordNumber;
    }

    [Benchmark]
    [BenchmarkCategory("LookupOnOpenVolume")]
    public long GetEntryOnOpenVolume() => _open!.GetEntry(NtfsBenchmarkVolumes.SystemHivePath).MftRecordNumber;
}
