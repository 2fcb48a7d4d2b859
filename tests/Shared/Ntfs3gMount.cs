using System;
using System.IO;
using System.Runtime.InteropServices;

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
    /// Sets an extended attribute of a file on a mounted volume: ntfs-3g's way to set what a plain file API cannot
    /// (system.ntfs_reparse_data, system.ntfs_dos_name, system.ntfs_attrib_be; user.X writes the named stream X).
    /// </summary>
    public static void SetXattr(string path, string name, byte[] value)
    {
        if (NativeMethods.setxattr(path, name, value, (nuint)value.Length, 0) != 0)
        {
            throw new IOException($"setxattr {name} on {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Gives a file on a mounted volume a reparse point: the tag, then <paramref name="data"/> as 32-bit words. ntfs-3g
    /// refuses to change a file further once it has a reparse point it cannot interpret, so this comes last.
    /// </summary>
    public static void SetReparsePoint(string path, uint tag, params uint[] data)
    {
        byte[] buffer = new byte[8 + (data.Length * 4)];
        BitConverter.GetBytes(tag).CopyTo(buffer, 0);
        BitConverter.GetBytes((ushort)(data.Length * 4)).CopyTo(buffer, 4);
        for (int i = 0; i < data.Length; i++)
        {
            BitConverter.GetBytes(data[i]).CopyTo(buffer, 8 + (i * 4));
        }
        SetXattr(path, "system.ntfs_reparse_data", buffer);
    }

    /// <summary>
    /// Makes <paramref name="path"/> on a mounted volume a file compressed by WOF's file provider, as CompactOS leaves
    /// it: an unnamed stream that holds only the size (<paramref name="length"/>), the chunk table and chunks in the
    /// WofCompressedData stream, then the reparse point — WOF_EXTERNAL_INFO (version 1, provider 2: a file) and
    /// FILE_PROVIDER_EXTERNAL_INFO_V1 (version 1, <paramref name="algorithm"/>: 0 XPRESS4K, 1 LZX, 2 XPRESS8K, 3 XPRESS16K).
    /// </summary>
    public static void SetWofCompressed(string path, long length, byte[] compressed, uint algorithm)
    {
        using (FileStream f = File.Create(path))
        {
            f.SetLength(length);
        }
        SetXattr(path, "user.WofCompressedData", compressed);
        SetReparsePoint(path, 0x80000017, 1, 2, 1, algorithm);
    }

    /// <summary>
    /// Makes an empty directory on a mounted volume a junction (a mount point) to <paramref name="target"/>, a path
    /// such as C:\Target: tag, data length, then the substitute name (\??\ and the target) and the print name, each
    /// NUL-terminated, in one buffer.
    /// </summary>
    public static void SetJunction(string directory, string target)
    {
        byte[] substitute = System.Text.Encoding.Unicode.GetBytes(@"\??\" + target);
        byte[] print = System.Text.Encoding.Unicode.GetBytes(target);
        using var data = new MemoryStream();
        using (var w = new BinaryWriter(data))
        {
            w.Write(0xA0000003u);
            w.Write((ushort)(8 + substitute.Length + 2 + print.Length + 2));
            w.Write((ushort)0);
            w.Write((ushort)0);
            w.Write((ushort)substitute.Length);
            w.Write((ushort)(substitute.Length + 2));
            w.Write((ushort)print.Length);
            w.Write(substitute);
            w.Write((ushort)0);
            w.Write(print);
            w.Write((ushort)0);
        }
        SetXattr(directory, "system.ntfs_reparse_data", data.ToArray());
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

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable CA2101, SA1300, CA5392, SYSLIB1054 // the libc function's own name; plain UTF-8 path strings on Linux
        internal static extern int setxattr([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, byte[] value, nuint size, int flags);
#pragma warning restore CA2101, SA1300, CA5392, SYSLIB1054
    }
}
