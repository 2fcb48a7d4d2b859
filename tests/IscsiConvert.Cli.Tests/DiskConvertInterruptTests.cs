using System;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `disk convert` stopped by SIGTERM (or Ctrl-C) removes OUT.partial, so that the next run does not stop on the
/// leftover. Run as a real child process that gets a real signal mid-copy.
/// </summary>
public sealed class DiskConvertInterruptTests
{
    /// <param name="signal">The signal's name for kill.</param>
    /// <param name="said">How the message names it.</param>
    [Theory]
    [InlineData("TERM", "SIGTERM")]
    [InlineData("INT", "Ctrl-C")]
    public void A_signal_mid_convert_removes_the_partial_output_and_exits_130(string signal, string said)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGTERM and SIGINT from kill are POSIX signals.");
        using var tmp = new TempDir();
        // Random data compresses slowly: a streamOptimized VMDK of 256 MiB takes seconds, time enough to interrupt it.
        string source = tmp.File("random.img");
        using (var f = new FileStream(source, FileMode.CreateNew))
        {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < 256; i++)
            {
                RandomNumberGenerator.Fill(chunk);
                f.Write(chunk);
            }
        }
        string output = tmp.File("out.vmdk");
        string partial = output + ".partial";

        if (signal == "INT")
        {
            InheritableSigint.RestoreDefault();
        }
        using Process child = StartCli("disk", "convert", source, output, "--format", "vmdk", "--subformat", "streamOptimized");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(partial) && !child.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(20);
        }
        Assert.True(File.Exists(partial), "the conversion never started writing " + partial);
        Thread.Sleep(300); // well inside the copy
        Assert.False(child.HasExited, "the conversion finished before it could be interrupted");
        SendSignal(child.Id, signal);
        Assert.True(child.WaitForExit(60_000), $"the conversion did not stop after SIG{signal}");
        string stderr = child.StandardError.ReadToEnd();

        Assert.Equal(CliApp.Interrupted, child.ExitCode);
        Assert.Contains("Interrupted by " + said, stderr, StringComparison.Ordinal);
        Assert.Contains(partial + " was removed", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(partial), "OUT.partial was left behind");
        Assert.False(File.Exists(output));

        // The next run is not stopped by a leftover, and finishes.
        var (code, stdout, err) = CliRunner.Run("disk", "convert", source, output, "--format", "qcow2");
        Assert.True(code == 0, err);
        Assert.Contains("Converted raw (256 MiB) to qcow2", stdout, StringComparison.Ordinal);
    }

    private static Process StartCli(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "iscsi-convert.dll"));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }
        return Process.Start(start)!;
    }

    private static void SendSignal(int pid, string signal)
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { UseShellExecute = false })!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}

/// <summary>
/// A shell starts a background job (<c>CI=true bash .ci/run &amp;</c>, nohup) with SIGINT ignored; children inherit that,
/// and .NET then leaves Ctrl-C alone, as a background job should. The test host restores the default disposition
/// before starting the CLI, so that the child is interrupted as a user's foreground run is, however the suite was
/// launched.
/// </summary>
internal static class InheritableSigint
{
    private const int Sigint = 2;

    public static void RestoreDefault()
    {
        if (IsIgnored() && NativeMethods.signal(Sigint, IntPtr.Zero /* SIG_DFL */) == new IntPtr(-1))
        {
            throw new InvalidOperationException("signal(SIGINT, SIG_DFL) failed: " + System.Runtime.InteropServices.Marshal.GetLastWin32Error());
        }
        Assert.False(IsIgnored(), "SIGINT is still ignored by the test host, so the child would ignore it too");
    }

    // /proc/self/status: "SigIgn:" is a hex mask, bit n-1 for signal n.
    private static bool IsIgnored()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
            {
                ulong mask = Convert.ToUInt64(line.Substring("SigIgn:".Length).Trim(), 16);
                return (mask & (1UL << (Sigint - 1))) != 0;
            }
        }
        return false;
    }

    private static class NativeMethods
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern IntPtr signal(int signum, IntPtr handler);
    }
}
