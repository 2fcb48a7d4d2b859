using System;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Tests;

namespace IscsiConvert.Crash.Tests;

/// <summary>
/// Runs an operation once with every image file the storage layer opens recorded in a <see cref="WriteJournal"/>
/// (through the storage layer's test seam, <c>ImageFile.Opener</c>), so that its crash points can be replayed.
/// </summary>
internal static class CrashHarness
{
    public static WriteJournal Record(Action operation)
    {
        var journal = new WriteJournal();
        ImageFile.Opener.Value = journal.Open;
        ImageFile.Deleter.Value = journal.Delete;
        ImageFile.FolderFlusher.Value = journal.FlushFolder;
        try
        {
            operation();
        }
        finally
        {
            ImageFile.Opener.Value = null;
            ImageFile.Deleter.Value = null;
            ImageFile.FolderFlusher.Value = null;
        }
        return journal;
    }

    /// <summary>
    /// What the next IscsiConvert open makes of the image at a crash point, without changing the replayed files: the
    /// image (and its write journal, when there is one) copied to <paramref name="scratch"/> under the same names,
    /// opened writable through our storage layer — which finishes a committed journal or discards an unfinished one —
    /// and closed. Returns the copy's path; no journal is left beside it.
    /// </summary>
    public static string RecoveredCopy(string image, string scratch)
    {
        string copy = Path.Combine(scratch, Path.GetFileName(image));
        string journal = image + ".iscsiconvert-journal";
        File.Copy(image, copy, overwrite: true);
        File.Delete(copy + ".iscsiconvert-journal");
        if (File.Exists(journal))
        {
            File.Copy(journal, copy + ".iscsiconvert-journal");
        }
        using (DiskImage.Open(copy, DiskAccess.ReadWrite))
        {
        }
        if (File.Exists(copy + ".iscsiconvert-journal"))
        {
            throw new Xunit.Sdk.XunitException("a writable open left the write journal beside the image");
        }
        return copy;
    }

    /// <summary>Runs the checks of one crash point, naming the point in any failure.</summary>
    public static void Describe(CrashPoint point, Action check)
    {
        try
        {
            check();
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"At the crash point {point}: {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    /// <summary>The virtual content of an image as qemu reads it (an oracle independent of our reader).</summary>
    public static byte[] QemuContent(string image, string format, string scratch)
    {
        string raw = Path.Combine(scratch, "qemu-content.raw");
        File.Delete(raw);
        QemuImg.ConvertToRaw(image, format, raw);
        byte[] bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    /// <summary>The virtual content of an image as our reader reads it (read-only open).</summary>
    public static byte[] OurContent(string image)
    {
        using VirtualDisk disk = DiskImage.Open(image);
        var bytes = new byte[disk.Capacity];
        disk.Content.Position = 0;
        int done = 0;
        while (done < bytes.Length)
        {
            int n = disk.Content.Read(bytes, done, bytes.Length - done);
            if (n <= 0)
            {
                break;
            }
            done += n;
        }
        return bytes;
    }

    /// <summary>
    /// Null when every byte of <paramref name="actual"/> is the old or the new byte at its place and every 512-byte
    /// sector is wholly old or wholly new, except at most <paramref name="mixedSectorsAllowed"/> sectors (the one a
    /// torn write cut in half); otherwise what is wrong.
    /// </summary>
    public static string? OldOrNewPerSector(byte[] actual, byte[] oldContent, byte[] newContent, int mixedSectorsAllowed)
    {
        if (actual.Length != oldContent.Length || actual.Length != newContent.Length)
        {
            return $"the virtual size is {actual.Length} bytes, not {oldContent.Length} (old) or {newContent.Length} (new)";
        }
        int mixed = 0;
        for (int s = 0; s < actual.Length; s += 512)
        {
            int len = Math.Min(512, actual.Length - s);
            ReadOnlySpan<byte> a = actual.AsSpan(s, len);
            if (a.SequenceEqual(oldContent.AsSpan(s, len)) || a.SequenceEqual(newContent.AsSpan(s, len)))
            {
                continue;
            }
            for (int i = 0; i < len; i++)
            {
                if (a[i] != oldContent[s + i] && a[i] != newContent[s + i])
                {
                    return $"byte {s + i} holds 0x{a[i]:X2}: neither the old (0x{oldContent[s + i]:X2}) nor the new (0x{newContent[s + i]:X2}) byte";
                }
            }
            if (++mixed > mixedSectorsAllowed)
            {
                return $"sector {s / 512} mixes old and new bytes ({mixed} such sectors, {mixedSectorsAllowed} allowed)";
            }
        }
        return null;
    }
}
