using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace IscsiConvert.Storage;

/// <summary>
/// Asks the host file system which parts of a plain file hold data, so that raw images (often many gigabytes of
/// holes) are copied without reading the holes. On Linux this is lseek with SEEK_DATA/SEEK_HOLE, the same call
/// qemu-img uses; elsewhere, or when the file system cannot answer, the whole range counts as data.
/// </summary>
internal static class HostFileHoles
{
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int ENXIO = 6;

    private static readonly bool Supported = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && IntPtr.Size == 8;

    /// <summary>The data extents of [<paramref name="start"/>, <paramref name="end"/>) of the file, ascending; holes read as zeros.</summary>
    public static IEnumerable<StreamExtent> DataExtents(FileStream file, long start, long end)
    {
        if (end <= start)
        {
            return Array.Empty<StreamExtent>();
        }
        // Inside a write transaction, or read with a committed journal applied in memory, the file's holes are not the
        // image's: written ranges wait in the journal.
        bool overlaid = file is Journal.JournaledFileStream { Overlaid: true };
        List<StreamExtent>? found = Supported && !overlaid ? TryQuery(file, start, end) : null;
        return found ?? new List<StreamExtent> { new(start, end - start) };
    }

    private static List<StreamExtent>? TryQuery(FileStream file, long start, long end)
    {
        try
        {
            var extents = new List<StreamExtent>();
            bool added = false;
            file.SafeFileHandle.DangerousAddRef(ref added);
            try
            {
                int fd = checked((int)file.SafeFileHandle.DangerousGetHandle());
                long pos = start;
                while (pos < end)
                {
                    long data = LSeek(fd, pos, SeekData);
                    if (data < 0)
                    {
                        // ENXIO: no data at or after pos (the rest is a hole). Anything else: the file system cannot tell.
                        return Marshal.GetLastWin32Error() == ENXIO ? extents : null;
                    }
                    if (data >= end)
                    {
                        break;
                    }
                    long hole = LSeek(fd, data, SeekHole);
                    if (hole < 0)
                    {
                        return null;
                    }
                    long stop = Math.Min(hole, end);
                    extents.Add(new StreamExtent(data, stop - data));
                    pos = stop;
                }
                return extents;
            }
            finally
            {
                if (added)
                {
                    file.SafeFileHandle.DangerousRelease();
                }
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or OverflowException)
        {
            return null;
        }
    }

    // lseek moves the descriptor's offset; FileStream reads and writes with pread/pwrite on Unix, so that is harmless.
    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static extern long LSeek(int fd, long offset, int whence);
}
