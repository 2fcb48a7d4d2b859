using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// The <see cref="NtfsAgedWriteBenchmarks"/> pairs timed alternately — ours, ntfs-3g, ours, ntfs-3g, ... (the order
/// flipped every round) — instead of BenchmarkDotNet's one benchmark after the other: on a machine loaded by other
/// builds the load changes by the minute, and alternating lets both sides see the same load. Each run starts from a
/// fresh copy of its template (untimed). Besides the wall time, each run reports CPU time, which the load disturbs
/// far less: ours, this process's (the writer; the runtime's GC threads included); ntfs-3g's, the ntfs-3g process's
/// plus this process's (the client writing through FUSE). Run with <c>--ntfs-aged-alternating [rounds]</c>.
/// </summary>
public static class NtfsAgedWriteAlternation
{
    public static void Run(int rounds)
    {
        var b = new NtfsAgedWriteBenchmarks();
        b.Setup();
        var pairs = new (string Name, Action Fresh, (string Side, Action Run)[] Sides)[]
        {
            ("1,000 files of 2 KiB into the 100,000-name directory", b.FreshNamesVolume, new (string, Action)[]
            {
                ("ours", b.OursThousandFilesIntoBigDirectory), ("ntfs-3g FUSE", b.Ntfs3gThousandFilesIntoBigDirectory),
            }),
            ("a 30 MiB file into the 64 KiB holes", b.FreshHolesVolume, new (string, Action)[]
            {
                ("ours", b.OursBigFileIntoHoles), ("ntfs-3g FUSE", b.Ntfs3gFuseBigFileIntoHoles),
            }),
        };
        foreach ((string name, Action fresh, (string Side, Action Run)[] sides) in pairs)
        {
            var times = sides.ToDictionary(s => s.Side, _ => new List<double>());
            var cpus = sides.ToDictionary(s => s.Side, _ => new List<double>());
            for (int round = 0; round < rounds; round++)
            {
                IEnumerable<(string Side, Action Run)> order = round % 2 == 0 ? sides : sides.Reverse();
                foreach ((string side, Action run) in order)
                {
                    fresh();
                    TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    var sw = Stopwatch.StartNew();
                    run();
                    sw.Stop();
                    TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore + (side == "ours" ? TimeSpan.Zero : b.Ntfs3gCpu);
                    times[side].Add(sw.Elapsed.TotalMilliseconds);
                    cpus[side].Add(cpu.TotalMilliseconds);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{name} | {side} | round {round} | {sw.Elapsed.TotalMilliseconds:F0} ms | cpu {cpu.TotalMilliseconds:F0} ms | load {Load()}"));
                }
            }
            foreach ((string side, List<double> ms) in times)
            {
                ms.Sort();
                List<double> c = cpus[side];
                c.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"SUMMARY {name} | {side} | median {ms[ms.Count / 2]:F0} ms | min {ms[0]:F0} | max {ms[^1]:F0} | cpu median {c[c.Count / 2]:F0} ms | n {ms.Count}"));
            }
        }
    }

    private static string Load() => System.IO.File.ReadAllText("/proc/loadavg").Split(' ')[0];
}
