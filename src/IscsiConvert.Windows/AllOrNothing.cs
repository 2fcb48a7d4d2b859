using System;
using IscsiConvert.Storage;

namespace IscsiConvert.Windows;

/// <summary>
/// Runs an in-place write to an image inside one write transaction of its disk (<see cref="DiskWriteTransaction"/>,
/// docs/reliability.md "Crash consistency"): the NTFS commit, the hive pages and the container's own metadata go to
/// the journal beside the image and reach the image only after the journal's commit point — so a crash, a failure or
/// a cancellation leaves the whole old image or, once committed, the whole new one.
/// </summary>
internal static class AllOrNothing
{
    /// <summary>
    /// Runs <paramref name="write"/> in a transaction committed when it returns (rolled back when it throws). A disk
    /// that already has a transaction (the caller's, which the caller commits), or that is not an image file open for
    /// writing, is written as it is.
    /// </summary>
    public static void Write(VirtualDisk disk, Action write)
    {
        if (disk.Access != DiskAccess.ReadWrite || disk.FilePath is null || disk.WriteTransaction is not null)
        {
            write();
            return;
        }
        using DiskWriteTransaction transaction = disk.BeginWriteTransaction();
        write();
        transaction.Commit();
    }
}
