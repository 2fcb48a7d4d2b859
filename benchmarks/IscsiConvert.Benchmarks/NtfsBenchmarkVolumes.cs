using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Benchmarks;

/// <summary>
/// NTFS volumes for the NTFS benchmarks: formatted by mkntfs on a sparse file, then filled by our own writer with a
/// Windows-like tree of exactly <see cref="FileCount"/> files (a large System32, WinSxS, the driver store, INF,
/// Program Files and user profiles), the same every run.
/// </summary>
public static class NtfsBenchmarkVolumes
{
    public const int FileCount = 100_000;

    public const long VolumeSize = 4L << 30;

    public const string SystemHivePath = @"\Windows\System32\config\SYSTEM";

    /// <summary>The parts of the tree: a folder pattern, how many such folders, and how many files in each.</summary>
    private static readonly (string Folder, int Folders, int FilesEach, string Extension)[] Tree =
    {
        (@"\Windows\System32", 1, 4_500, ".dll"),
        (@"\Windows\System32\drivers", 1, 600, ".sys"),
        (@"\Windows\System32\DriverStore\FileRepository\pkg{0}.inf_amd64_{0:x8}", 700, 5, ".sys"),
        (@"\Windows\System32\en-US", 1, 1_200, ".dll.mui"),
        (@"\Windows\INF", 1, 1_600, ".inf"),
        (@"\Windows\WinSxS\amd64_component{0}_31bf3856ad364e35_10.0.19041.{0}_none_{0:x8}", 3_000, 18, ".dll"),
        (@"\Program Files\Vendor{0}\App", 120, 80, ".exe"),
        (@"\Users\user{0}\AppData\Local\Cache", 25, 0, ".tmp"), // remainder spread here, see Build
    };

    /// <summary>An empty volume of <paramref name="size"/> bytes made by mkntfs (4 KiB clusters, quick format).</summary>
    public static string Format(string path, long size)
    {
        File.Delete(path);
        using (var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            f.SetLength(size);
        }
        BenchmarkFiles.Run("mkntfs", "-q", "-F", "-f", "-c", "4096", "-L", "bench", path);
        return path;
    }

    /// <summary>
    /// Writes the tree through <paramref name="createDirectory"/> (missing parents included) and
    /// <paramref name="writeFile"/>; returns the number of files (always <see cref="FileCount"/>).
    /// </summary>
    public static int Populate(Action<string> createDirectory, Action<string, byte[]> writeFile)
    {
        int written = 0;
        byte[] small = new byte[200];
        for (int i = 0; i < small.Length; i++)
        {
            small[i] = (byte)(i * 7 + 3);
        }

        createDirectory(@"\Windows\System32\config");
        foreach (string hive in new[] { "SYSTEM", "SOFTWARE", "SAM", "SECURITY", "DEFAULT" })
        {
            writeFile(@"\Windows\System32\config\" + hive, new byte[64 << 10]);
            written++;
        }

        var folders = new List<(string Folder, int Files, string Extension)>();
        int planned = written;
        foreach ((string pattern, int count, int filesEach, string extension) in Tree)
        {
            for (int i = 0; i < count; i++)
            {
                folders.Add((string.Format(CultureInfo.InvariantCulture, pattern, i), filesEach, extension));
                planned += filesEach;
            }
        }
        // The user profiles take whatever is left, so the total is exactly FileCount.
        int userFolders = Tree[^1].Folders;
        int remainder = FileCount - planned;
        int user = 0;
        for (int i = 0; i < folders.Count; i++)
        {
            if (folders[i].Folder.StartsWith(@"\Users\", StringComparison.Ordinal))
            {
                int share = remainder / userFolders + (user < remainder % userFolders ? 1 : 0);
                folders[i] = (folders[i].Folder, share, folders[i].Extension);
                user++;
            }
        }

        foreach ((string folder, int files, string extension) in folders)
        {
            createDirectory(folder);
            for (int f = 0; f < files; f++)
            {
                // 200 bytes stay resident in the MFT record; the lookup reads no file data, so sizes do not matter.
                writeFile(folder + "\\file" + f.ToString(CultureInfo.InvariantCulture) + extension, small);
                written++;
            }
        }
        return written;
    }

    /// <summary>Formats <paramref name="path"/> and writes the tree with our writer, flushed once at the end.</summary>
    public static int BuildWithOurWriter(string path, long size = VolumeSize)
    {
        Format(path, size);
        using var volume = NtfsVolume.Open(
            new FileStream(path, FileMode.Open, FileAccess.ReadWrite),
            new NtfsOpenOptions { Writable = true, FilePath = path });
        int written = Populate(d => volume.CreateDirectory(d), (f, data) => volume.WriteFile(f, data));
        volume.Flush();
        return written;
    }

    /// <summary>
    /// Formats <paramref name="path"/> and writes the tree through ntfs-3g mounted over FUSE (needs root and /dev/fuse):
    /// our writer cannot hold 100,000 files yet (see docs/benchmarks.md).
    /// </summary>
    public static int BuildWithNtfs3g(string path, long size = VolumeSize)
    {
        Format(path, size);
        int written = 0;
        WithNtfs3gMount(path, mountPoint =>
        {
            string Host(string ntfsPath) => mountPoint + ntfsPath.Replace('\\', '/');
            written = Populate(d => Directory.CreateDirectory(Host(d)), (f, data) => File.WriteAllBytes(Host(f), data));
        });
        return written;
    }

    /// <summary>
    /// Mounts <paramref name="image"/> with ntfs-3g over FUSE (needs root and /dev/fuse), runs <paramref name="use"/> on
    /// the mount point, and unmounts. The mount runs in the foreground (no_detach), so that when this returns the
    /// process has exited and the unmount is complete: everything written back to the image. Returns the CPU time
    /// (user and system) the ntfs-3g process used, as GNU time measured it.
    /// </summary>
    public static TimeSpan WithNtfs3gMount(string image, Action<string> use)
    {
        string mountPoint = image + ".mnt";
        string cpuFile = image + ".cpu";
        Directory.CreateDirectory(mountPoint);
        var psi = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "-o", cpuFile, "-f", "%U %S", "ntfs-3g", "-o", "no_detach", image, mountPoint })
        {
            psi.ArgumentList.Add(a);
        }
        using Process ntfs3g = Process.Start(psi) ?? throw new InvalidOperationException("ntfs-3g");
        var stdout = ntfs3g.StandardOutput.ReadToEndAsync();
        var stderr = ntfs3g.StandardError.ReadToEndAsync();
        try
        {
            if (!WaitForMount(mountPoint, ntfs3g))
            {
                throw new InvalidOperationException("ntfs-3g could not mount " + image + " (it needs root and /dev/fuse): " + stderr.GetAwaiter().GetResult());
            }
            use(mountPoint);
        }
        finally
        {
            BenchmarkFiles.Run("fusermount", "-u", mountPoint);
            ntfs3g.WaitForExit();
        }
        if (ntfs3g.ExitCode != 0)
        {
            throw new InvalidOperationException("ntfs-3g: " + stderr.GetAwaiter().GetResult() + stdout.GetAwaiter().GetResult());
        }
        Directory.Delete(mountPoint);
        double[] seconds = File.ReadAllText(cpuFile).Trim().Split('\n')[^1].Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return TimeSpan.FromSeconds(seconds.Sum());
    }

    private static bool WaitForMount(string mountPoint, Process ntfs3g)
    {
        string full = Path.GetFullPath(mountPoint);
        for (int i = 0; i < 400 && !ntfs3g.HasExited; i++)
        {
            if (File.ReadAllText("/proc/self/mounts").Contains(" " + full + " ", StringComparison.Ordinal))
            {
                return true;
            }
            Thread.Sleep(50);
        }
        return false;
    }
}
