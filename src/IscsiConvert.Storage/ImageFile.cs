using System;
using System.IO;

namespace IscsiConvert.Storage;

/// <summary>Opens image files with the sharing rules that keep two writers apart.</summary>
internal static class ImageFile
{
    private const int SharingViolation = unchecked((int)0x80070020);
    private const int LockViolation = unchecked((int)0x80070021);

    // On Unix, .NET emulates FileShare with advisory locks and reports a conflict with the raw errno EWOULDBLOCK
    // (11 on Linux, 35 on macOS) as the HResult.
    private const int LinuxWouldBlock = 11;
    private const int MacWouldBlock = 35;

    /// <summary>
    /// Opens <paramref name="path"/>: read-only opens let other readers in but no writer; read-write opens are exclusive.
    /// A file that another process holds is reported as <see cref="UnsafeToWriteException"/> ("in use").
    /// </summary>
    public static FileStream Open(string path, DiskAccess access)
    {
        try
        {
            return access == DiskAccess.ReadWrite
                ? new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.RandomAccess)
                : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        }
        catch (IOException ex) when (IsLockConflict(ex.HResult))
        {
            throw new UnsafeToWriteException("The image is in use by another process; close it there first", path, ex);
        }
    }

    private static bool IsLockConflict(int hresult) =>
        hresult is SharingViolation or LockViolation
        || (Path.DirectorySeparatorChar == '/' && hresult is LinuxWouldBlock or MacWouldBlock);

    /// <summary>Removes a file this library created, when cleaning up after a failure; a file that cannot be removed
    /// is left, so that the original error is the one the caller sees.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Creates a new file, failing if it exists.</summary>
    public static FileStream CreateNew(string path) =>
        new(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.RandomAccess);

    /// <summary>Reads the whole <paramref name="buffer"/> at <paramref name="position"/> or throws <see cref="CorruptDataException"/> naming the structure.</summary>
    public static void ReadExactly(Stream file, long position, Span<byte> buffer, string format, string structure, string? path)
    {
        if (position < 0 || position > file.Length - buffer.Length)
        {
            throw new CorruptDataException(format, structure, position, $"{buffer.Length} bytes would extend past the end of the file ({file.Length} bytes)", path);
        }
        int n = Shared.StreamExtensions.ReadAtMost(file, position, buffer);
        if (n != buffer.Length)
        {
            throw new CorruptDataException(format, structure, position, $"the file ended after {n} of {buffer.Length} bytes", path);
        }
    }
}
