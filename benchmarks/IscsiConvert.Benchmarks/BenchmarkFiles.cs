using System;
using System.Diagnostics;
using System.IO;

namespace IscsiConvert.Benchmarks;

/// <summary>Scratch files for benchmarks, made once per run in a folder that is removed afterwards.</summary>
public static class BenchmarkFiles
{
    public static string Folder { get; } = Path.Combine(Path.GetTempPath(), "iscsiconvert-bench");

    public static string PathOf(string name)
    {
        Directory.CreateDirectory(Folder);
        return Path.Combine(Folder, name);
    }

    /// <summary>Runs an external program (qemu-img) and waits; throws when it fails.</summary>
    public static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException(program);
        // Drain both pipes at once: a tool that fills one pipe while we wait on the other would deadlock.
        var stdout = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        string err = p.StandardError.ReadToEnd();
        stdout.GetAwaiter().GetResult();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)}: {err}");
        }
    }

    /// <summary>
    /// A raw image of <paramref name="size"/> bytes with <paramref name="dataBytes"/> of non-zero data spread in
    /// 1 MiB runs over the disk (the rest holes), the same every run.
    /// </summary>
    public static string SparseRaw(string name, long size, long dataBytes)
    {
        string path = PathOf(name);
        if (File.Exists(path) && new FileInfo(path).Length == size)
        {
            return path;
        }
        File.Delete(path);
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(size);
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < chunk.Length; i++)
        {
            chunk[i] = (byte)(i * 31 + 7);
        }
        long runs = dataBytes / chunk.Length;
        long stride = size / runs / chunk.Length * chunk.Length;
        for (long r = 0; r < runs; r++)
        {
            f.Position = r * stride;
            f.Write(chunk);
        }
        return path;
    }
}
