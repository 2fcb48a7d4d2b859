using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(IscsiConvert.Benchmarks.BenchmarkFiles).Assembly).Run(args);
