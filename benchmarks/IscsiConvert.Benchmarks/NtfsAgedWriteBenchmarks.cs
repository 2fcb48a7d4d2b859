using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// Writes on aged volumes, beside ntfs-3g doing the same. Two templates are built once (untimed) with our writer: a
/// volume with a 100,000-name directory, and a 256 MiB volume whose free space is 64 KiB holes (every other file of a
/// full volume deleted). Each iteration starts from a fresh copy of its template (untimed). Timed: 1,000 files of
/// 2 KiB into the big directory (ours: open, WriteFile × 1,000, Flush; ntfs-3g: a FUSE mount, the same files written,
/// unmount), and a 30 MiB file into the holes (ours: open, WriteFile, Flush; ntfs-3g: the file copied into a FUSE
/// mount, and ntfscp, which refuses). The ntfs-3g mount runs in the foreground and is timed until its process has
/// exited (everything written back to the image); our Flush leaves the data in the page cache as well.
/// <see cref="NtfsAgedWriteAlternation"/> runs the same pairs alternately, for a loaded machine.
/// </summary>
[Config(typeof(InProcessConfig))]
[MedianColumn]
public class NtfsAgedWriteBenchmarks
{
    // In process: on the shared 2-core machine the project BenchmarkDotNet generates for a separate process did not
    // build within its two-minute timeout. Each iteration is one call of seconds, so in-process costs no accuracy here.
    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() => AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
            .WithInvocationCount(1).WithUnrollFactor(1).WithToolchain(new InProcessEmitToolchain(TimeSpan.FromHours(1), logOutput: true)));
    }

    private const string BigDirectory = @"\Windows\WinSxS\Manifests";

    private string _namesTemplate = string.Empty;
    private string _holesTemplate = string.Empty;
    private string _image = string.Empty;
    private string _source = string.Empty;
    private byte[] _small = Array.Empty<byte>();

    [GlobalSetup]
    public void Setup()
    {
        _small = new byte[2048];
        new Random(1).NextBytes(_small);
        byte[] big = new byte[30 << 20];
        new Random(2).NextBytes(big);
        _source = BenchmarkFiles.PathOf("ntfs-30mib.bin");
        File.WriteAllBytes(_source, big);
        _image = BenchmarkFiles.PathOf("ntfs-aged.img");

        _namesTemplate = Template("ntfs-100k-names.img", 1L << 30, v =>
        {
            v.CreateDirectory(BigDirectory);
            for (int i = 0; i < 100_000; i++)
            {
                v.WriteFile($@"{BigDirectory}\amd64_microsoft-windows-c{i:D6}_31bf3856ad364e35_10.0.19041.1_none_{i * 2654435761L:x16}.manifest", Array.Empty<byte>());
            }
        });
        _holesTemplate = Template("ntfs-holes.img", 256L << 20, v =>
        {
            v.CreateDirectory(@"\fill");
            byte[] piece = new byte[64 << 10];
            int count = 0;
            try
            {
                for (; ; count++)
                {
                    v.WriteFile($@"\fill\{count:D5}", piece);
                }
            }
            catch (IOException)
            {
                // the volume is full
            }
            for (int i = 0; i < count; i += 2)
            {
                v.Delete($@"\fill\{i:D5}");
            }
        });
    }

    [IterationSetup(Targets = new[] { nameof(Ntfs3gThousandFilesIntoBigDirectory), nameof(OursThousandFilesIntoBigDirectory) })]
    public void FreshNamesVolume() => BenchmarkFiles.Run("cp", "--sparse=always", _namesTemplate, _image);

    [IterationSetup(Targets = new[] { nameof(Ntfs3gBigFileIntoHoles), nameof(Ntfs3gFuseBigFileIntoHoles), nameof(OursBigFileIntoHoles) })]
    public void FreshHolesVolume() => BenchmarkFiles.Run("cp", "--sparse=always", _holesTemplate, _image);

    [Benchmark]
    public void Ntfs3gThousandFilesIntoBigDirectory() => Ntfs3gCpu = NtfsBenchmarkVolumes.WithNtfs3gMount(_image, mount =>
    {
        for (int i = 0; i < 1000; i++)
        {
            File.WriteAllBytes(mount + $"/Windows/WinSxS/Manifests/amd64_netkvm.inf_31bf3856ad364e35_10.0.0.{i}_none_{i * 40503L:x16}.manifest", _small);
        }
    });

    [Benchmark]
    public void OursThousandFilesIntoBigDirectory()
    {
        using NtfsVolume v = OpenWritable(_image);
        for (int i = 0; i < 1000; i++)
        {
            v.WriteFile($@"{BigDirectory}\amd64_netkvm.inf_31bf3856ad364e35_10.0.0.{i}_none_{i * 40503L:x16}.manifest", _small);
        }
        v.Flush();
    }

    // ntfscp (2022.10.3) refuses this volume ("Cluster allocation failed"); kept so that every run shows whether it still does.
    [Benchmark]
    public void Ntfs3gBigFileIntoHoles() => BenchmarkFiles.Run("ntfscp", _image, _source, "/big.bin");

    [Benchmark]
    public void Ntfs3gFuseBigFileIntoHoles() => Ntfs3gCpu = NtfsBenchmarkVolumes.WithNtfs3gMount(_image, mount => File.Copy(_source, mount + "/big.bin"));

    /// <summary>The CPU time of the ntfs-3g process in the last FUSE benchmark call (for <see cref="NtfsAgedWriteAlternation"/>).</summary>
    public TimeSpan Ntfs3gCpu { get; private set; }

    [Benchmark]
    public void OursBigFileIntoHoles()
    {
        using NtfsVolume v = OpenWritable(_image);
        using (FileStream source = File.OpenRead(_source))
        {
            v.WriteFile(@"\big.bin", source);
        }
        v.Flush();
    }

    // A template volume, built once (each benchmark's global setup asks again) and kept for later runs.
    private static string Template(string name, long size, Action<NtfsVolume> build)
    {
        string path = BenchmarkFiles.PathOf(name);
        if (File.Exists(path))
        {
            return path;
        }
        string building = NtfsBenchmarkVolumes.Format(path + ".building", size);
        using (NtfsVolume v = OpenWritable(building))
        {
            build(v);
            v.Flush();
        }
        BenchmarkFiles.Run("ntfsfix", "-n", building);
        File.Move(building, path);
        return path;
    }

    private static NtfsVolume OpenWritable(string image) =>
        NtfsVolume.Open(new FileStream(image, FileMode.Open, FileAccess.ReadWrite), new NtfsOpenOptions { Writable = true, FilePath = image });
}
