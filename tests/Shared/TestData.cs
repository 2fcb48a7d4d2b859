using System;
using System.IO;
using System.IO.Compression;

namespace IscsiConvert.Tests;

/// <summary>
/// The shared corpus of real files made by Windows and other trusted tools, read in place from ../shared/testdata
/// (never copied into the repository). Absent on a developer machine: the test skips; absent in CI: it fails.
/// </summary>
public static class TestData
{
    private static readonly Lazy<string> RepoRootLazy = new(FindRepoRoot);

    /// <summary>The repository root (the folder holding IscsiConvert.sln).</summary>
    public static string RepoRoot => RepoRootLazy.Value;

    /// <summary>The shared test data folder.</summary>
    public static string Root => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "testdata"));

    /// <summary>Returns the full path of a file under the shared test data, or skips (fails in CI) when it is absent.</summary>
    public static string Require(string relativePath)
    {
        string path = Path.Combine(Root, relativePath);
        if (!File.Exists(path))
        {
            Oracle.MissingPrerequisite($"the shared test file '{relativePath}' (expected at {path})");
        }
        return path;
    }

    /// <summary>
    /// Decompresses a .gz file of the shared corpus into <paramref name="directory"/>, writing zero runs as holes so
    /// that a 1 GiB image of mostly zeros costs little disk space. Returns the new file's path.
    /// </summary>
    public static string Gunzip(string relativePath, string directory)
    {
        string source = Require(relativePath);
        string target = Path.Combine(directory, Path.GetFileNameWithoutExtension(source));
        using var input = new GZipStream(File.OpenRead(source), CompressionMode.Decompress);
        using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
        byte[] buffer = new byte[1 << 16];
        long length = 0;
        while (true)
        {
            int n = input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (n == 0)
            {
                break;
            }
            if (buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0) < 0)
            {
                output.Seek(n, SeekOrigin.Current);
            }
            else
            {
                output.Write(buffer, 0, n);
            }
            length += n;
        }
        output.SetLength(length);
        return target;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IscsiConvert.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("IscsiConvert.sln not found above " + AppContext.BaseDirectory);
    }
}
