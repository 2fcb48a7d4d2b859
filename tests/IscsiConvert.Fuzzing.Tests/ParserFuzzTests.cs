using System;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Fuzzing;
using IscsiConvert.Fuzzing.Targets;
using Xunit;

namespace IscsiConvert.Fuzzing.Tests;

/// <summary>
/// The mutation fuzzer in CI: each parser for a time box (all together a few minutes), every execution guarded against
/// hangs, runaway reads and allocations. The executions, outcomes and the seed are printed; a failure prints the seed, the
/// iteration and the mutation, and becomes a fix plus a regression test (RegressionTests), never a changed seed.
/// Long mode: docs/reliability.md (fuzz/run-long.sh).
/// </summary>
public sealed class ParserFuzzTests
{
    /// <summary>CI time box per parser (seconds); eight parsers, so about three minutes in all.</summary>
    private const double CiSeconds = 20;

    /// <summary>Fewer executions than this in the time box means the harness is broken, not that the parser is slow.</summary>
    private const long MinimumExecutions = 100;

    private readonly ITestOutputHelper _output;

    public ParserFuzzTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string> Targets() => new(All.Keys);

    private static readonly Dictionary<string, Func<FuzzTarget>> All = new(StringComparer.Ordinal)
    {
        ["VHD"] = () => new VhdTarget(),
        ["VHDX"] = () => new VhdxTarget(),
        ["VMDK"] = () => new VmdkTarget(),
        ["QCOW2"] = () => new Qcow2Target(),
        ["MBR/EBR/GPT"] = () => new PartitionTarget(),
        ["NTFS"] = () => new NtfsTarget(),
        ["regf"] = () => new RegistryTarget(),
        ["INF"] = () => new InfTarget(),
        // The whole tool on mutated inputs (read-only commands on images; hostile driver packages through prepare).
        ["CLI disk"] = () => new CliDiskTarget(),
        ["CLI prepare --driver"] = () => new CliPackageTarget(),
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void MutatedInputs_GiveSuccessOrOurTypedException(string parser)
    {
        string? only = Environment.GetEnvironmentVariable("ISCSICONVERT_FUZZ_ONLY");
        if (!string.IsNullOrEmpty(only) && !string.Equals(only, parser, StringComparison.OrdinalIgnoreCase))
        {
            Assert.Skip($"long mode limited to {only} (ISCSICONVERT_FUZZ_ONLY)");
        }
        FuzzTarget target = All[parser]();
        FuzzSettings settings = FuzzSettings.FromEnvironment(CiSeconds);
        _output.WriteLine($"{parser}: seed {settings.Seed} ({FuzzSettings.SeedVariable}), {settings.Seconds} s");
        FuzzReport report = FuzzRunner.Run(target, settings, LogAndRecordProgress);
        _output.WriteLine(report.ToString());
        Record(report);
        Assert.True(report.Failures.Count == 0, $"{report}\n\n{string.Join("\n\n", report.Failures)}");
        Assert.True(report.Executions >= Math.Min(MinimumExecutions, settings.MaxExecutions), $"only {report.Executions} executions: {report}");
        Assert.True(report.Accepted > 0 && report.Refusals.Count > 0, $"mutations never reached both outcomes: {report}");
    }

    /// <summary>
    /// The fixed part: the same 200 mutations of every parser on every run (seed 20261203), so a change that breaks a
    /// parser on one of them fails every time, not only when the random search happens upon it. The CLI targets run
    /// several whole commands per input, so they get 40.
    /// </summary>
    [Theory]
    [MemberData(nameof(Targets))]
    public void FixedSeedMutations_GiveSuccessOrOurTypedException(string parser)
    {
        int executions = parser.StartsWith("CLI", StringComparison.Ordinal) ? 40 : 200;
        var settings = new FuzzSettings(Seconds: 1e9, MaxExecutions: executions, Seed: 20261203, ExecutionTimeout: TimeSpan.FromSeconds(60));
        FuzzReport report = FuzzRunner.Run(All[parser](), settings, _output.WriteLine);
        _output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, $"{report}\n\n{string.Join("\n\n", report.Failures)}");
        Assert.Equal(executions, report.Executions);
    }

    /// <summary>
    /// Regression: CI's random search (seed 5559312675641700707, iteration 1414) gave a VHDX child a parent locator
    /// holding a NUL, and opening it threw ArgumentException from Path.GetFullPath; such a locator now names no parent.
    /// </summary>
    [Fact]
    public void Vhdx_parent_locator_with_a_nul_is_refused_with_our_exception()
    {
        AssertReplayHasNoFailures("VHDX", 5559312675641700707, executions: 1415);
    }

    /// <summary>
    /// CI's random search (seed 2018854234014075176, iteration 616) cut a dirty Windows 7 hive with an invalid base block
    /// before its first bin's timestamp; matching the old-format log read past the end (ArgumentOutOfRangeException).
    /// </summary>
    [Fact]
    public void Regf_cut_before_the_first_bins_timestamp_with_an_old_log_is_refused_with_our_exception()
    {
        AssertReplayHasNoFailures("regf", 2018854234014075176, executions: 617);
    }

    /// <summary>
    /// The NTFS long run (seed 5815669650193656486, iteration 2131) mutated an index key's name to length 0; the listing
    /// gave a file the path of its directory and OpenFile threw a bare IOException. Such keys are now refused as damage.
    /// </summary>
    [Fact]
    public void Ntfs_index_key_with_an_empty_name_is_refused_with_our_exception()
    {
        AssertReplayHasNoFailures("NTFS", 5815669650193656486, executions: 2132);
    }

    /// <summary>
    /// The NTFS long run (seed 7173390777075250992, iteration 3954) cleared the root record's directory flag; listing
    /// "\" threw a bare IOException. The volume is now refused at open.
    /// </summary>
    [Fact]
    public void Ntfs_root_record_not_marked_as_a_directory_is_refused_with_our_exception()
    {
        AssertReplayHasNoFailures("NTFS", 7173390777075250992, executions: 3955);
    }

    /// <summary>
    /// The regf long run (seed 3900309805430024821, iteration 306893) flipped a bit of an old-format log's hive length:
    /// recovery allocated 136 MB for a 558 KB input (over the cap). Growth past the log's pages is now not applicable.
    /// The replay runs only the failing iteration's input (the mutator is deterministic per iteration).
    /// </summary>
    [Fact]
    public void Regf_old_log_claiming_growth_past_its_pages_stays_under_the_allocation_cap()
    {
        AssertReplayHasNoFailures("regf", 3900309805430024821, executions: 306894, firstExecution: 306893);
    }

    /// <summary>
    /// Regression: the NTFS random search (seed 4627297119801493265, iteration 15428), on the CompactOS-style seed,
    /// damaged a junction's target; with links followed, looking up the junction the listing showed threw
    /// FileNotFoundException. A link that cannot be followed now stands for itself.
    /// </summary>
    [Fact]
    public void Ntfs_junction_whose_target_is_missing_is_looked_up_as_itself()
    {
        AssertReplayHasNoFailures("NTFS", 4627297119801493265, executions: 15429, firstExecution: 15428);
    }

    /// <summary>
    /// Regression: the NTFS random search (seed 1789368009496467862, iteration 17162) gave a WOF-compressed file a
    /// size near long.MaxValue; rounding it up to whole chunks threw OverflowException. The chunk count no longer
    /// overflows, a negative size or a chunk table entry past long's range is damage named at the stream, and no
    /// chunk table larger than the volume (or 64 MiB) is allocated.
    /// </summary>
    [Fact]
    public void Ntfs_wof_file_with_a_size_near_the_limit_is_refused_with_our_exception()
    {
        AssertReplayHasNoFailures("NTFS", 1789368009496467862, executions: 17163, firstExecution: 17162);
    }

    /// <summary>Replays a run up to a failing iteration (from <paramref name="firstExecution"/>): every input is accepted or refused with our exception.</summary>
    private void AssertReplayHasNoFailures(string parser, ulong seed, long executions, long firstExecution = 0)
    {
        var settings = new FuzzSettings(Seconds: 1e9, MaxExecutions: executions, Seed: seed, ExecutionTimeout: TimeSpan.FromSeconds(60), FirstExecution: firstExecution);
        FuzzReport report = FuzzRunner.Run(All[parser](), settings, _output.WriteLine);
        Assert.True(report.Failures.Count == 0, $"{report}\n\n{string.Join("\n\n", report.Failures)}");
        Assert.Equal(executions - firstExecution, report.Executions);
    }

    /// <summary>Appends the figures to ISCSICONVERT_FUZZ_REPORT when set (the long mode's record).</summary>
    private static void Record(FuzzReport report) => AppendToReport(report.ToString());

    /// <summary>
    /// Progress and failures go to the report file as they happen, not only to the test output: the runner shows a
    /// test's output when the test ends, so a long run stopped by hand would otherwise leave no trace of how far it got.
    /// </summary>
    private void LogAndRecordProgress(string line)
    {
        _output.WriteLine(line);
        AppendToReport(line);
    }

    private static void AppendToReport(string line)
    {
        string? path = Environment.GetEnvironmentVariable("ISCSICONVERT_FUZZ_REPORT");
        if (path is not null)
        {
            File.AppendAllText(path, $"{DateTime.UtcNow:u} {line}{Environment.NewLine}");
        }
    }
}
