using System;
using System.Collections.Generic;
using System.Globalization;
using CsCheck;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// How a randomized (CsCheck) test runs: first every fixed seed it lists — the regression seeds of bugs found and fixed,
/// replayed on every run — then a time-boxed random search whose failures name their seed (CsCheck's message carries it:
/// keep it as a new fixed seed once the bug is fixed, never change it). The search lasts the test's CI budget, or as long
/// as <see cref="SecondsVariable"/> says for a longer local hunt; <c>CsCheck_Seed</c> replays one seed alone.
/// </summary>
public static class PropertyRuns
{
    /// <summary>Seconds the random search runs instead of the test's CI budget (docs/testing.md).</summary>
    public const string SecondsVariable = "ISCSICONVERT_PROPERTY_SECONDS";

    /// <summary>Runs <paramref name="assert"/> on the values of <paramref name="seeds"/>, then searches at random for
    /// <paramref name="ciSeconds"/> seconds (or <see cref="SecondsVariable"/>'s value).</summary>
    public static void Check<T>(Gen<T> gen, Action<T> assert, IReadOnlyList<string> seeds, int ciSeconds)
    {
        ArgumentNullException.ThrowIfNull(gen);
        ArgumentNullException.ThrowIfNull(assert);
        ArgumentNullException.ThrowIfNull(seeds);
        string? replay = Environment.GetEnvironmentVariable("CsCheck_Seed");
        if (!string.IsNullOrEmpty(replay))
        {
            gen.Sample(assert, WriteLine, seed: replay, iter: 1, threads: 1);
            return;
        }
        foreach (string seed in seeds)
        {
            gen.Sample(assert, WriteLine, seed: seed, iter: 1, threads: 1);
        }
        int seconds = SearchSeconds(ciSeconds);
        if (seconds > 0)
        {
            WriteLine($"random search for {seconds} s (a failure prints its seed; {SecondsVariable} sets the time)");
            gen.Sample(assert, WriteLine, iter: long.MaxValue, time: seconds, threads: 1);
        }
    }

    /// <summary>The random search's length: <see cref="SecondsVariable"/> when set, else the CI budget.</summary>
    public static int SearchSeconds(int ciSeconds)
    {
        string? value = Environment.GetEnvironmentVariable(SecondsVariable);
        return value is not null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) ? seconds : ciSeconds;
    }

    private static void WriteLine(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
