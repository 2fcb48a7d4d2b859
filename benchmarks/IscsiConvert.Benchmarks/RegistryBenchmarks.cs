using System;
using System.IO;
using System.Text;
using BenchmarkDotNet.Attributes;
using IscsiConvert.Registry;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// The real Windows 7 SYSTEM hive (11 MiB, ../shared/testdata): open and walk every key and value, and set 100 values
/// then save — against hivex doing the same (hivexml walking the whole hive; a hivexsh script of 100 setval and commit).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RegistryBenchmarks
{
    private string _original = string.Empty;
    private string _work = string.Empty;
    private string _script = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _original = Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared", "testdata", "registry", "win7-system", "SYSTEM"));
        if (!File.Exists(_original))
        {
            throw new FileNotFoundException("The shared test data is needed for this benchmark", _original);
        }
        _work = BenchmarkFiles.PathOf("SYSTEM");
        var script = new StringBuilder("cd ControlSet001\\Services\\Tcpip\\Parameters\nsetval 100\n");
        for (int i = 0; i < 100; i++)
        {
            script.Append("Bench").Append(i).Append('\n').Append("dword:").Append(i).Append('\n');
        }
        script.Append("commit\n");
        _script = BenchmarkFiles.PathOf("set100.hivexsh");
        File.WriteAllText(_script, script.ToString());
    }

    [IterationSetup]
    public void FreshCopy() => File.Copy(_original, _work, overwrite: true);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Enumerate")]
    public void HivexmlWalk() => BenchmarkFiles.Run("hivexml", _work);

    [Benchmark]
    [BenchmarkCategory("Enumerate")]
    public long OpenAndWalk()
    {
        using RegistryHive hive = RegistryHive.Open(_work, null);
        return Walk(hive.Root);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Set100")]
    public void HivexshSet100() => BenchmarkFiles.Run("hivexsh", "-w", "-f", _script, _work);

    [Benchmark]
    [BenchmarkCategory("Set100")]
    public void Set100AndSave()
    {
        using RegistryHive hive = RegistryHive.Open(_work, new RegistryOpenOptions { Writable = true });
        RegistryKey key = hive.Root.OpenSubkey(@"ControlSet001\Services\Tcpip\Parameters")!;
        for (uint i = 0; i < 100; i++)
        {
            key.SetValue("Bench" + i, RegistryValueType.DWord, RegistryValue.EncodeDWord(i));
        }
        hive.Save();
    }

    private static long Walk(RegistryKey key)
    {
        long n = 1;
        foreach (RegistryValue v in key.GetValues())
        {
            n += v.Data.Length;
        }
        foreach (RegistryKey sub in key.GetSubkeys())
        {
            n += Walk(sub);
        }
        return n;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IscsiConvert.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("IscsiConvert.sln not found");
    }
}
