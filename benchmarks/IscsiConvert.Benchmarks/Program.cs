using System.Globalization;
using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "--ntfs-aged-alternating")
{
    IscsiConvert.Benchmarks.NtfsAgedWriteAlternation.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(IscsiConvert.Benchmarks.BenchmarkFiles).Assembly).Run(args);
