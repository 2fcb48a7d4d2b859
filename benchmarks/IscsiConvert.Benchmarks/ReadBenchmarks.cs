using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using IscsiConvert.Storage;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// Reading through a dynamic VHDX against reading the same bytes from a raw file with a FileStream (the baseline):
/// sequential 1 MiB reads over 256 MiB of data, and 4096 random 4 KiB reads.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ReadBenchmarks
{
    private const long DataSize = 256L << 20;
    private const int RandomReads = 4096;
    private readonly byte[] _buffer = new byte[1 << 20];
    private long[] _offsets = Array.Empty<long>();
    private string _raw = string.Empty;
    private string _vhdx = string.Empty;
    private FileStream? _rawFile;
    private VirtualDisk? _vhdxDisk;

    [GlobalSetup]
    public void Setup()
    {
        _raw = BenchmarkFiles.SparseRaw("read-source.img", DataSize, DataSize);
        _vhdx = BenchmarkFiles.PathOf("read-source.vhdx");
        if (!File.Exists(_vhdx))
        {
            BenchmarkFiles.Run("qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic", _raw, _vhdx);
        }
        var random = new Random(1234);
        _offsets = new long[RandomReads];
        for (int i = 0; i < RandomReads; i++)
        {
            _offsets[i] = random.NextInt64(0, DataSize / 4096) * 4096;
        }
        _rawFile = new FileStream(_raw, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        _vhdxDisk = DiskImage.Open(_vhdx);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rawFile?.Dispose();
        _vhdxDisk?.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Sequential")]
    public long SequentialRawFile()
    {
        long total = 0;
        for (long pos = 0; pos < DataSize; pos += _buffer.Length)
        {
            total += RandomAccess.Read(_rawFile!.SafeFileHandle, _buffer, pos);
        }
        return total;
    }

    [Benchmark]
    [BenchmarkCategory("Sequential")]
    public long SequentialDynamicVhdx()
    {
        long total = 0;
        for (long pos = 0; pos < DataSize; pos += _buffer.Length)
        {
            total += _vhdxDisk!.Content.ReadAt(pos, _buffer);
        }
        return total;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Random4K")]
    public long Random4KRawFile()
    {
        long total = 0;
        foreach (long pos in _offsets)
        {
            total += RandomAccess.Read(_rawFile!.SafeFileHandle, _buffer.AsSpan(0, 4096), pos);
        }
        return total;
    }

    [Benchmark]
    [BenchmarkCategory("Random4K")]
    public long Random4KDynamicVhdx()
    {
        long total = 0;
        foreach (long pos in _offsets)
        {
            total += _vhdxDisk!.Content.ReadAt(pos, _buffer.AsSpan(0, 4096));
        }
        return total;
    }
}
