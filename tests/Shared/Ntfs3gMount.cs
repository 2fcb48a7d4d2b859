using System;
using System.IO;

namespace IscsiConvert.Tests;

/// <summary>
/// An NTFS image mounted read-write by ntfs-3g over FUSE for the length of an action: the oracle writes (or reads)
/// through the real driver. FUSE is a property of the machine (a device and mount rights): CI runs as root on a machine
/// that has it, so there its absence fails the test like any missing oracle; on a developer machine it skips.
/// </summary>
public static class Ntfs3gMount
{
    public static void With(string image, Action<string> action, params string[] mountOptions)
    {
        Oracle.Require("ntfs-3g");
        if (!File.Exists("/dev/fuse"))
        {
            Oracle.MissingPrerequisite("/dev/fuse (ntfs-3g mounts the volume through FUSE)");
        }
        string mount = image + ".mnt";
        Directory.CreateDirectory(mount);
        var args = new System.Collections.Generic.List<string> { image, mount };
        if (mountOptions.Length > 0)
        {
            args.Add("-o");
            args.Add(string.Join(",", mountOptions));
        }
        ToolResult mounted = Oracle.Run("ntfs-3g", args.ToArray());
        if (mounted.ExitCode != 0)
        {
            Oracle.MissingPrerequisite("an ntfs-3g FUSE mount (needs root or the fuse group): " + mounted.StdErr.Trim());
        }
        try
        {
            action(mount);
        }
        finally
        {
            Unmount(mount);
            WaitForDriverToExit(image);
        }
    }

    /// <summary>
    /// A mount just written can be busy for a moment (the kernel still holds a file being released); an unmount that
    /// fails is tried again for a few seconds rather than leaving the mount behind (and the test failed) at once.
    /// </summary>
    private static void Unmount(string mount)
    {
        ToolResult result = Oracle.Run("fusermount", "-u", mount);
        for (int attempt = 0; result.ExitCode != 0 && attempt < 100; attempt++)
        {
            System.Threading.Thread.Sleep(50);
            result = Oracle.Run("fusermount", "-u", mount);
        }
        if (result.ExitCode != 0)
        {
            throw new IOException($"fusermount -u {mount} failed (exit {result.ExitCode}): {result.StdErr.Trim()}");
        }
    }

    /// <summary>
    /// fusermount returns once the mount is gone, while the ntfs-3g process may still be writing its last changes to
    /// the image and closing the volume: a test that reads the image at once could see it half-written (a test built
    /// on such an image failed once under load). The process is found by its command line, which names the image.
    /// </summary>
    private static void WaitForDriverToExit(string image)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (DriverRunning(image))
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new TimeoutException($"ntfs-3g still runs for {image} two minutes after it was unmounted");
            }
            System.Threading.Thread.Sleep(20);
        }
    }

    private static bool DriverRunning(string image)
    {
        foreach (string process in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), out _))
            {
                continue;
            }
            string[] args;
            try
            {
                args = File.ReadAllText(Path.Combine(process, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue; // the process ended while it was looked at
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            if (args.Length > 1 && Path.GetFileName(args[0]) == "ntfs-3g" && Array.IndexOf(args, image) >= 0)
            {
                return true;
            }
        }
        return false;
    }
}
