using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// Writing a 20 MiB file onto a fresh 256 MiB volume made by mkntfs before every iteration (not timed). Ours: open
/// writable, WriteFile from a host file, Flush, Dispose. Baseline: `ntfscp IMAGE SOURCE /big.bin`, a whole process.
/// ntfscp calls fsync once when it unmounts; our Flush does not (the data is left in the page cache).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 9, invocationCount: 1)]
[MedianColumn]
public class NtfsWriteBenchmarks
{
    private const long VolumeSize = 256L << 20;

    private string _image = string.Empty;
    private string _source = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _image = BenchmarkFiles.PathOf("ntfs-write.img");
        _source = BenchmarkFiles.PathOf("ntfs-20mib.bin");
        byte[] data = new byte[20 << 20];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)((i * 31) ^ (i >> 11));
        }
        File.WriteAllBytes(_source, data);

        // Once, untimed: what our writer leaves must satisfy ntfs-3g (ntfsfix -n fails on anything to fix).
        NtfsBenchmarkVolumes.Format(_image, VolumeSize);
        WriteFileAndFlush();
        using (NtfsVolume check = NtfsVolume.Open(File.OpenRead(_image)))
        {
            if (check.GetEntry(@"\big.bin").Size != data.Length)
            {
                throw new InvalidOperationException("The 20 MiB file was not written whole.");
            }
        }
        BenchmarkFiles.Run("ntfsfix", "-n", _image);
    }

    [IterationSetup]
    public void FreshVolume() => NtfsBenchmarkVolumes.Format(_image, VolumeSize);

    [Benchmark(Baseline = true)]
    public void Ntfs3gNtfscp() => BenchmarkFiles.Run("ntfscp", _image, _source, "/big.bin");

    [Benchmark]
    public void WriteFileAndFlush()
    {
        using var volume = NtfsVolume.Open(
            new FileStream(_image, FileMode.Open, FileAccess.ReadWrite),
            new NtfsOpenOptions { Writable = true, FilePath = _image });
        using (var source = File.OpenRead(_source))
        {
            volume.WriteFile(@"\big.bin", source);
        }
        volume.Flush();
    }
}
