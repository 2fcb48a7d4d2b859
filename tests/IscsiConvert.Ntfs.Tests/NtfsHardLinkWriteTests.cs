using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Files shared by hard links, as WinSxS shares them with System32: ntfs-3g (FUSE) makes the links (one of them a Win32
/// name with an 8.3 alias beside it, as Windows keeps them on system volumes), our writer deletes them one at a time.
/// Each delete takes only that name (and its alias) out of that directory; the file keeps its data for the other links,
/// its link count goes down as istat and ntfsinfo read it, and the last delete removes the file and frees its clusters.
/// </summary>
public sealed class NtfsHardLinkWriteTests : IDisposable
{
    private const string Component = "/Windows/WinSxS/amd64_netkvm.inf_31bf3856ad364e35_10.0.0.1_none_0123456789abcdef";
    private const string Store = Component + "/netkvm.sys";
    private const string Driver = "/Windows/System32/drivers/netkvm-driver.sys";
    private const string Copy = "/Windows/System32/netkvm.sys";

    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Deleting_one_link_leaves_the_file_to_its_other_links_and_the_last_delete_removes_it()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "links.img", 64L << 20);
        byte[] driver = NtfsWriteTests.RandomBytes(1, 300_000);
        byte[] small = NtfsWriteTests.RandomBytes(2, 300);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        Ntfs3gMount.With(image, mount =>
        {
            Directory.CreateDirectory(mount + Component);
            Directory.CreateDirectory(mount + "/Windows/System32/drivers");
            // ntfs-3g gives an alias only to a file with one name (EMLINK otherwise): the alias first, then the links.
            File.WriteAllBytes(mount + Driver, driver);
            SetDosName(mount + Driver, "NETKVM~1.SYS");
            Oracle.RunChecked("ln", mount + Driver, mount + Store);
            Oracle.RunChecked("ln", mount + Driver, mount + Copy);
            File.WriteAllBytes(mount + "/Windows/small.ini", small);
            Oracle.RunChecked("ln", mount + "/Windows/small.ini", mount + Component + "/small.ini");
            File.WriteAllBytes(mount + "/Windows/untouched.bin", NtfsWriteTests.RandomBytes(3, 50_000));
        });
        foreach (string path in new[] { Store, Driver, Copy })
        {
            files[path] = driver;
        }
        files["/Windows/small.ini"] = small;
        files[Component + "/small.ini"] = small;
        files["/Windows/untouched.bin"] = NtfsWriteTests.RandomBytes(3, 50_000);
        long record = RecordOf(image, Store);
        long smallRecord = RecordOf(image, "/Windows/small.ini");

        // As ntfs-3g made them: three links and the alias are four names; the alias is there.
        NtfsAttributeListWriteTests.AssertAgree(image, files, toolSampling: 1);
        Assert.Equal(4, IstatLinks(image, record));
        Assert.Contains("NETKVM~1.SYS", Oracle.RunChecked("ntfsls", "-a", "-x", "-p", "/Windows/System32/drivers", image), StringComparison.Ordinal);

        // The Win32 link goes with its alias; the other two read the same bytes.
        Delete(image, files, Driver);
        Assert.Equal(2, IstatLinks(image, record));
        Assert.DoesNotContain("NETKVM", Oracle.RunChecked("ntfsls", "-a", "-x", "-p", "/Windows/System32/drivers", image), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, Entry(image, Store).HardLinkCount);

        // A POSIX link (ntfs-3g's namespace), then the resident file's first link.
        Delete(image, files, Store);
        Assert.Equal(1, IstatLinks(image, record));
        Assert.Equal(1, Entry(image, Copy).HardLinkCount);
        Delete(image, files, Component + "/small.ini");
        Assert.Equal(1, IstatLinks(image, smallRecord));

        // The last links: the files are gone, their record free and clusters back in $Bitmap (ntfsresize counts them).
        long free = FreeBytes(image);
        Delete(image, files, Copy);
        Delete(image, files, "/Windows/small.ini");
        Assert.True(FreeBytes(image) >= free + driver.Length, "the last delete frees the file's clusters");
        Assert.Contains("Not Allocated", Oracle.RunChecked("istat", image, record.ToString(CultureInfo.InvariantCulture)), StringComparison.Ordinal);

        // ntfs-3g takes the directories back and removes them.
        Ntfs3gMount.With(image, mount => Directory.Delete(mount + Component, recursive: false));
        NtfsWriteTests.AssertOraclesHappy(image);
    }

    private static void Delete(string image, Dictionary<string, byte[]> files, string path)
    {
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.Delete(path);
            v.Flush();
        }
        files.Remove(path);
        NtfsAttributeListWriteTests.AssertAgree(image, files, toolSampling: 1);
        Assert.NotEqual(0, Oracle.Run("ntfscat", image, path).ExitCode);
    }

    private static NtfsEntry Entry(string image, string path)
    {
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        return v.GetEntry(path);
    }

    private static long RecordOf(string image, string path) => Entry(image, path).MftRecordNumber;

    private static long FreeBytes(string image)
    {
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        return v.FreeBytes;
    }

    // The link count istat prints from the MFT record's header.
    internal static int IstatLinks(string image, long record)
    {
        string istat = Oracle.RunChecked("istat", image, record.ToString(CultureInfo.InvariantCulture));
        string line = istat.Split('\n').First(l => l.StartsWith("Links:", StringComparison.Ordinal));
        return int.Parse(line.Substring("Links:".Length).Trim(), CultureInfo.InvariantCulture);
    }

    // ntfs-3g gives a name an 8.3 alias through this extended attribute (the long name becomes its Win32 half).
    private static void SetDosName(string path, string dosName) =>
        Ntfs3gMount.SetXattr(path, "system.ntfs_dos_name", Encoding.ASCII.GetBytes(dosName));
}
