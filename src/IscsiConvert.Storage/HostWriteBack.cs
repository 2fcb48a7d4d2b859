using System;
using System.IO;
using System.Runtime.InteropServices;

namespace IscsiConvert.Storage;

/// <summary>
/// Asks the host to start writing a file's dirty pages to the disk now, without waiting for them, so that a long copy
/// that ends with a flush overlaps its disk writes with the copying instead of leaving all of them to the final
/// <c>fsync</c> (which then only waits for the tail). On Linux this is <c>sync_file_range</c> with
/// <c>SYNC_FILE_RANGE_WRITE</c>, which promises nothing about durability (the final flush still does); elsewhere, or if
/// the call is refused, nothing happens and the final flush writes everything, as before.
/// </summary>
internal static class HostWriteBack
{
    private const uint SyncFileRangeWrite = 2;

    private static readonly bool Supported = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && IntPtr.Size == 8;

    /// <summary>Starts the write-back of every dirty page of <paramref name="file"/>; a hint, never an error.</summary>
    public static void Start(FileStream file)
    {
        if (!Supported)
        {
            return;
        }
        try
        {
            bool added = false;
            file.SafeFileHandle.DangerousAddRef(ref added);
            try
            {
                // Offset 0 and length 0: the whole file. Pages already on their way to the disk are skipped, and
                // the result is ignored: a file system that cannot do it gets its pages written by the final flush.
                _ = SyncFileRange(checked((int)file.SafeFileHandle.DangerousGetHandle()), 0, 0, SyncFileRangeWrite);
            }
            finally
            {
                if (added)
                {
                    file.SafeFileHandle.DangerousRelease();
                }
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or OverflowException or ObjectDisposedException or NotSupportedException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static extern int SyncFileRange(int fd, long offset, long nbytes, uint flags);
}
