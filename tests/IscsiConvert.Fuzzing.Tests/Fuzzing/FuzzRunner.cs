using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using CsCheck;
using IscsiConvert.Drivers;

namespace IscsiConvert.Fuzzing;

/// <summary>
/// How long to fuzz. CI mode is the default (a time box per parser, so all parsers together take a few minutes);
/// the long mode sets ISCSICONVERT_FUZZ_SECONDS (and optionally ISCSICONVERT_FUZZ_EXECUTIONS and ISCSICONVERT_FUZZ_SEED
/// to replay a run exactly).
/// </summary>
/// <param name="FirstExecution">Iterations before this one generate their recipes (the stream of recipes stays the
/// same) but do not run: a failure found late in a long run replays in a second, not in an hour.</param>
public sealed record FuzzSettings(double Seconds, long MaxExecutions, ulong Seed, TimeSpan ExecutionTimeout, long FirstExecution = 0)
{
    public const string SecondsVariable = "ISCSICONVERT_FUZZ_SECONDS";
    public const string ExecutionsVariable = "ISCSICONVERT_FUZZ_EXECUTIONS";
    public const string SeedVariable = "ISCSICONVERT_FUZZ_SEED";
    public const string FirstExecutionVariable = "ISCSICONVERT_FUZZ_FROM";

    public static FuzzSettings FromEnvironment(double ciSeconds)
    {
        string? seconds = Environment.GetEnvironmentVariable(SecondsVariable);
        string? executions = Environment.GetEnvironmentVariable(ExecutionsVariable);
        string? seed = Environment.GetEnvironmentVariable(SeedVariable);
        string? from = Environment.GetEnvironmentVariable(FirstExecutionVariable);
        return new FuzzSettings(
            seconds is null ? ciSeconds : double.Parse(seconds, CultureInfo.InvariantCulture),
            executions is null ? long.MaxValue : long.Parse(executions, CultureInfo.InvariantCulture),
            seed is null ? (ulong)Random.Shared.NextInt64() : ulong.Parse(seed, CultureInfo.InvariantCulture),
            // A guard against hangs, not a speed assertion: an execution takes milliseconds; one that runs for a
            // minute is stuck in a loop.
            TimeSpan.FromSeconds(60),
            from is null ? 0 : long.Parse(from, CultureInfo.InvariantCulture));
    }
}

/// <summary>What a run did.</summary>
public sealed class FuzzReport
{
    public FuzzReport(string target, ulong seed)
    {
        Target = target;
        Seed = seed;
    }

    public string Target { get; }

    public ulong Seed { get; }

    public long Executions { get; set; }

    public long Accepted { get; set; }

    public SortedDictionary<string, long> Refusals { get; } = new(StringComparer.Ordinal);

    public List<string> Failures { get; } = new();

    public long MaxAllocated { get; set; }

    public long MaxRead { get; set; }

    public TimeSpan Elapsed { get; set; }

    public override string ToString()
    {
        string refusals = string.Join(", ", Refusals.Select(r => $"{r.Key} {r.Value}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Target}: {Executions} executions in {Elapsed.TotalSeconds:F0} s (seed {Seed}): {Accepted} accepted, refused: {refusals}; "
            + $"{Failures.Count} failures; most allocated by one execution {MaxAllocated / 1024} KiB, most read {MaxRead / 1024} KiB");
    }
}

/// <summary>
/// Runs a target: every seed unmutated first (it must be accepted: the harness reaches the parser), then CsCheck-generated
/// mutations, deterministically from one printed seed, until the time box or the execution budget is spent. Each execution
/// runs on its own thread under a hang guard, with its allocations and reads measured against caps derived from the input's
/// size. Allowed outcomes: success, or one of our own typed exceptions; anything else is a failure that names the seed,
/// the iteration and the mutation.
/// </summary>
public static class FuzzRunner
{
    private const int MaxFailuresReported = 5;

    public static FuzzReport Run(FuzzTarget target, FuzzSettings settings, Action<string> log)
    {
        var report = new FuzzReport(target.Name, settings.Seed);
        string scratch = Path.Combine(Path.GetTempPath(), "iscsiconvert-fuzz-seeds-" + Path.GetRandomFileName());
        Directory.CreateDirectory(scratch);
        try
        {
            IReadOnlyList<Seed> seeds = target.LoadSeeds(scratch);
            using ScratchFiles? files = target.NeedsFiles ? new ScratchFiles(seeds) : null;
            using var worker = new ExecutionThread("fuzz " + target.Name);
            foreach (Seed seed in seeds)
            {
                string? problem = Execute(target, new Mutation(seed), files, worker, settings, report, out Exception? thrown);
                bool expected = seed.Facts.TryGetValue(Seed.RefusedUnmutated, out string? refusal)
                    ? thrown?.GetType().Name == refusal
                    : thrown is null;
                if (problem is not null || !expected)
                {
                    report.Failures.Add($"the unmutated seed {seed.Name} is not accepted: {problem ?? thrown?.ToString() ?? "accepted, expected " + refusal}");
                }
            }
            if (report.Failures.Count > 0)
            {
                return report;
            }
            report.Executions = 0;
            report.Refusals.Clear();
            report.Accepted = 0;

            var watch = Stopwatch.StartNew();
            var pcg = new PCG(1, settings.Seed);
            long lastProgress = 0;
            for (long i = 0; i < settings.MaxExecutions && watch.Elapsed.TotalSeconds < settings.Seconds; i++)
            {
                Recipe recipe = Mutator.RecipeGen.Generate(pcg, null, out _);
                if (i < settings.FirstExecution)
                {
                    continue;
                }
                Mutation m = Mutator.Build(seeds, recipe);
                string? problem = Execute(target, m, files, worker, settings, report, out _);
                if (problem is not null)
                {
                    report.Failures.Add($"iteration {i} (replay with {FuzzSettings.SeedVariable}={settings.Seed} {FuzzSettings.ExecutionsVariable}={i + 1} {FuzzSettings.FirstExecutionVariable}={i}): {problem}\n{m.Describe()}");
                    // Printed at once as well: a long run stopped by hand never reaches its report.
                    log($"{target.Name}: FAILURE {report.Failures[^1]}");
                    if (report.Failures.Count >= MaxFailuresReported || problem.StartsWith("hang", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
                int interval = target.ChangeCheckInterval;
                if (files is not null && (i % interval == interval - 1 || watch.Elapsed.TotalSeconds >= settings.Seconds || i + 1 == settings.MaxExecutions))
                {
                    string? changed = files.FindChangedFile(seeds);
                    if (changed is not null)
                    {
                        report.Failures.Add($"a read-only open changed {changed} (between iterations {Math.Max(0, i - interval + 1)} and {i})");
                        break;
                    }
                }
                if (watch.Elapsed.TotalSeconds - lastProgress >= 60)
                {
                    lastProgress = (long)watch.Elapsed.TotalSeconds;
                    log($"{target.Name}: {report.Executions} executions after {lastProgress} s, {report.Failures.Count} failures");
                }
            }
            report.Elapsed = watch.Elapsed;
            return report;
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Runs one input; returns null when the outcome is allowed, else what went wrong.</summary>
    public static string? Execute(FuzzTarget target, Mutation m, ScratchFiles? files, ExecutionThread worker, FuzzSettings settings, FuzzReport report, out Exception? thrown)
    {
        long inputBytes = Math.Max(m.Seed.TotalBytes, Enumerable.Range(0, m.Seed.Files.Count).Sum(f => m.LengthOf(f)));
        long allocationCap = target.AllocationAllowance + (target.AllocationPerInputByte * inputBytes);
        var meter = new ReadMeter((target.ReadsPerInputByte * inputBytes) + (16L << 20));
        Exception? caught;
        long allocated;
        files?.Apply(m);
        try
        {
            if (!worker.TryRun(() => target.Execute(new FuzzInput(m, meter, files)), settings.ExecutionTimeout, out caught, out allocated))
            {
                thrown = null;
                return $"hang: still running after {settings.ExecutionTimeout.TotalSeconds} s";
            }
        }
        finally
        {
            files?.Restore(m);
        }
        thrown = caught;
        report.Executions++;
        report.MaxAllocated = Math.Max(report.MaxAllocated, allocated);
        report.MaxRead = Math.Max(report.MaxRead, meter.Bytes);
        if (allocated > allocationCap)
        {
            return $"allocated {allocated} bytes, over the cap of {allocationCap} for {inputBytes} input bytes"
                + (caught is null ? string.Empty : $" (then threw {caught.GetType().Name})");
        }
        switch (caught)
        {
            case null:
                report.Accepted++;
                return null;
            case IscsiConvertException ours when Names(ours):
                string key = ours is CorruptDataException c ? $"{ours.GetType().Name}({c.Format})" : ours.GetType().Name;
                report.Refusals[key] = report.Refusals.TryGetValue(key, out long n) ? n + 1 : 1;
                return null;
            case IscsiConvertException ours:
                return "our exception does not name the structure and offset: " + ours.Message;
            default:
                return "untyped exception: " + caught;
        }
    }

    /// <summary>A refusal must say where: a corrupt-data report names the structure and (when there is one) the offset.</summary>
    private static bool Names(IscsiConvertException ex) => ex switch
    {
        CorruptDataException c => c.Structure.Length > 0 && c.Problem.Length > 0,
        InfParseException p => p.FileName.Length > 0,
        _ => ex.Message.Length > 0,
    };
}
