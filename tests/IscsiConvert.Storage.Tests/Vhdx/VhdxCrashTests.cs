using System;
using System.IO;
using System.Linq;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Vhdx;
using IscsiConvert.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>
/// Cuts the write sequence of a block allocation at every point (after 0, 1, 2, … writes), under three models of what an
/// unflushed disk cache keeps, and shows the image then opens, passes the independent checker and holds the old or the
/// new data.
/// </summary>
public sealed class VhdxCrashTests
{
    private const long MiB = 1 << 20;
    private const long Capacity = 8 * MiB;

    public enum Kind
    {
        /// <summary>A dynamic disk: data block allocation and BAT update.</summary>
        Dynamic,

        /// <summary>A differencing disk whose sector bitmap block exists: data, bitmap bits, BAT.</summary>
        Differencing,

        /// <summary>A fresh differencing disk: the sector bitmap block is allocated too.</summary>
        FreshDifferencing,
    }

    [Theory]
    [InlineData(Kind.Dynamic, CrashKeeps.All)]
    [InlineData(Kind.Dynamic, CrashKeeps.None)]
    [InlineData(Kind.Dynamic, CrashKeeps.LastOnly)]
    [InlineData(Kind.Differencing, CrashKeeps.All)]
    [InlineData(Kind.Differencing, CrashKeeps.None)]
    [InlineData(Kind.Differencing, CrashKeeps.LastOnly)]
    [InlineData(Kind.FreshDifferencing, CrashKeeps.All)]
    [InlineData(Kind.FreshDifferencing, CrashKeeps.None)]
    [InlineData(Kind.FreshDifferencing, CrashKeeps.LastOnly)]
    public void CrashDuringBlockAllocation_LeavesAValidImageWithOldOrNewData(Kind kind, CrashKeeps keeps)
    {
        bool differencing = kind != Kind.Dynamic;
        byte[] oldContent = new byte[Capacity];
        using var tmp = new TempDir();
        string path = tmp.File("disk.vhdx");
        string basePath = tmp.File("base.vhdx");
        if (differencing)
        {
            using (VirtualDisk b = DiskImage.Create(basePath, VhdxCreateTests.Options(Capacity)))
            {
                b.Content.WriteAt(2 * MiB + MiB / 2, Enumerable.Repeat((byte)0x22, (int)(MiB + MiB / 2)).ToArray());
                oldContent.AsSpan((int)(2 * MiB + MiB / 2), (int)(MiB + MiB / 2)).Fill(0x22);
            }
            DiskCreateOptions o = VhdxCreateTests.Options(0);
            o.ParentPath = basePath;
            using (VirtualDisk c = DiskImage.Create(path, o))
            {
                if (kind == Kind.Differencing)
                {
                    c.Content.WriteAt(100, new byte[] { 0x33, 0x33, 0x33 });
                    oldContent.AsSpan(100, 3).Fill(0x33);
                }
            }
        }
        else
        {
            using VirtualDisk d = DiskImage.Create(path, VhdxCreateTests.Options(Capacity));
            d.Content.WriteAt(0, Enumerable.Repeat((byte)0x11, 100_000).ToArray());
            oldContent.AsSpan(0, 100_000).Fill(0x11);
        }
        byte[] pristine = File.ReadAllBytes(path);
        // An unaligned write inside one unallocated block (block 3): sector merging, bitmap and BAT all take part.
        long at = 3 * MiB + 1000;
        byte[] data = Enumerable.Range(0, 5000).Select(i => (byte)(0x5A ^ i)).ToArray();
        byte[] newContent = (byte[])oldContent.Clone();
        data.CopyTo(newContent, at);

        for (int n = 0; ; n++)
        {
            Assert.True(n < 100, "the write never completed");
            File.WriteAllBytes(path, pristine);
            var crashing = new CrashingStream(new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None), n);
            bool completed = false;
            VhdxDisk? disk = null;
            try
            {
                disk = VhdxDisk.Open(crashing, path, DiskAccess.ReadWrite, new OpenContext(NullLogger.Instance), IdentifierSource.Sequential(n), createdNow: false);
                disk.Content.WriteAt(at, data);
                disk.Dispose();
                completed = true;
            }
            catch (IOException) when (crashing.Crashed)
            {
                try
                {
                    disk?.Dispose();
                }
                catch (IOException)
                {
                }
            }
            if (completed)
            {
                crashing.Finish();
            }
            else
            {
                crashing.Crash(keeps);
            }

            byte[] after;
            using (VirtualDisk reopened = DiskImage.Open(path))
            {
                after = VhdxTestSupport.ReadAll(reopened.Content);
            }
            Assert.True(after.AsSpan().SequenceEqual(oldContent) || after.AsSpan().SequenceEqual(newContent),
                $"after a crash at write {n} ({keeps}) the disk holds neither the old nor the new data");
            if (kind == Kind.Differencing)
            {
                // libvhdi 20210425 reads a chunk whose sector bitmap block is not present from file offset 0 instead
                // of the parent, so it can only judge images whose bitmap block exists; FreshDifferencing relies on
                // the byte model above.
                string raw = tmp.File("libvhdi.raw");
                VhdxTestSupport.LibvhdiToRaw(path, basePath, raw);
                Assert.Equal(after, File.ReadAllBytes(raw));
            }
            else if (kind == Kind.Dynamic)
            {
                QemuImg.Check(path, "vhdx");
            }
            if (completed)
            {
                Assert.Equal(newContent, after);
                Assert.True(n >= 4, $"a block allocation took only {n} writes; the crash points were not all exercised");
                return;
            }
        }
    }
}
