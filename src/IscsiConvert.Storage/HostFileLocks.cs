using System;
using System.IO;
using System.Runtime.InteropServices;

namespace IscsiConvert.Storage;

/// <summary>
/// Sees the locks qemu takes on an image it has open (a running VM, qemu-img, qemu-nbd, qemu-storage-daemon). qemu locks
/// bytes of the image file with open-file-description locks (fcntl F_OFD_SETLK): one byte per permission from offset 100
/// (the permissions it holds, e.g. write) and from offset 200 (those it does not share). Linux keeps those apart from the
/// flock() lock .NET takes for <see cref="FileShare.None"/>, so without this a running VM's image would be opened for
/// writing as if nobody held it. Linux only (64-bit); elsewhere, or if the call is not available, nothing is seen.
/// </summary>
internal static class HostFileLocks
{
    private const int FOfdGetLock = 36; // F_OFD_GETLK
    private const short WriteLock = 1;  // F_WRLCK
    private const short Unlocked = 2;   // F_UNLCK
    private const long QemuLockBase = 100;
    private const long QemuLockLength = 200; // bytes 100–299: qemu's permission and shared-permission bytes

    private static readonly bool Supported = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && IntPtr.Size == 8;

    /// <summary>
    /// True when another open of the file holds a byte-range lock where qemu takes its locks (asked as if to take a write
    /// lock there: any lock held elsewhere conflicts with it). Takes no lock itself.
    /// </summary>
    public static bool HeldByAnotherOpen(FileStream file, out int pid)
    {
        pid = 0;
        if (!Supported)
        {
            return false;
        }
        bool added = false;
        try
        {
            file.SafeFileHandle.DangerousAddRef(ref added);
            int fd = checked((int)file.SafeFileHandle.DangerousGetHandle());
            var query = new FLock { Type = WriteLock, Whence = 0, Start = QemuLockBase, Length = QemuLockLength };
            if (Fcntl(fd, FOfdGetLock, ref query) != 0)
            {
                return false; // the file system does not support the query (e.g. some network file systems)
            }
            pid = query.Pid;
            return query.Type != Unlocked;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or OverflowException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                file.SafeFileHandle.DangerousRelease();
            }
        }
    }

    /// <summary>struct flock of Linux on 64-bit machines (x86-64 and arm64 lay it out alike).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct FLock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, ref FLock lockInfo);
}
