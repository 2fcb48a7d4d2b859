using System;
using System.IO;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

public sealed class ScratchTests
{
    [Fact]
    public void Scratch()
    {
        string? mode = Environment.GetEnvironmentVariable("SCRATCH");
        if (mode is null) { return; }
        using var tmp = new TempDir();
        string image = NtfsWriteTests.MakeVolume(tmp, "s.img", 1L << 30);
        int n = int.Parse(mode);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            for (int i = 0; i < n; i++)
            {
                if (i % 100 == 0) v.CreateDirectory($"/d{i / 100}");
                v.WriteFile($"/d{i / 100}/f{i}.txt", new byte[10]);
            }
            v.Flush();
        }
        File.AppendAllText("/tmp/w/scratch.log", $"{n} files in {sw.Elapsed}\n");
        NtfsWriteTests.AssertOraclesHappy(image);
        File.AppendAllText("/tmp/w/scratch.log", "oracles ok\n");
    }
}
