using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace IscsiConvert.Shared;

/// <summary>
/// Makes a folder's entries durable. On Linux a file's own fsync does not make its name durable: a file created, renamed
/// or deleted is in its folder for good only once the folder itself is fsynced, so after a power loss a new file may be
/// missing and a deleted one back. Windows (NTFS logs its metadata) and other systems need nothing here, so this is a
/// no-op there. .NET cannot open a folder as a file, so the folder is opened with opendir and fsynced through its
/// descriptor: every call is a fixed-argument one (no variadic open), fine for trimming and native AOT.
/// </summary>
internal static class HostDirectory
{
    private const int EInval = 22;   // the file system cannot fsync a folder (some network and FUSE file systems)
    private const int EROFS = 30;
    private const int ENotSup = 95;

    private static readonly bool Supported = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);

    /// <summary>
    /// Makes durable the entries of the folder that holds <paramref name="filePath"/> (its creation, rename or deletion).
    /// A file system that cannot do it (it refuses fsync on a folder) is left as it is; any other failure is an
    /// <see cref="IOException"/>, as a failed fsync of a file is.
    /// </summary>
    public static void FlushFolderOf(string filePath)
    {
        if (!Supported)
        {
            return;
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(filePath)) ?? "/";
        byte[] name = Encoding.UTF8.GetBytes(folder + "\0");
        IntPtr dir;
        try
        {
            dir = OpenDir(name);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return; // not a C library we know: nothing more can be done than the files' own fsyncs
        }
        if (dir == IntPtr.Zero)
        {
            throw new IOException($"Could not open the folder '{folder}' to make its entries durable (errno {Marshal.GetLastWin32Error()}).");
        }
        try
        {
            if (FSync(DirFd(dir)) != 0)
            {
                int errno = Marshal.GetLastWin32Error();
                if (errno is not (EInval or EROFS or ENotSup))
                {
                    throw new IOException($"Could not make the entries of the folder '{folder}' durable: fsync failed (errno {errno}).");
                }
            }
        }
        finally
        {
            _ = CloseDir(dir);
        }
    }

    [DllImport("libc", EntryPoint = "opendir", SetLastError = true)]
    private static extern IntPtr OpenDir(byte[] path);

    [DllImport("libc", EntryPoint = "dirfd", SetLastError = true)]
    private static extern int DirFd(IntPtr dir);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FSync(int fd);

    [DllImport("libc", EntryPoint = "closedir", SetLastError = true)]
    private static extern int CloseDir(IntPtr dir);
}
