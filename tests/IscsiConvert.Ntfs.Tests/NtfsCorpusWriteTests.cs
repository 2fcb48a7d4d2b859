using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Writing into volumes that Windows formatted (and into the ones inside QCOW2 and VMDK containers, written through
/// our container code): the driver-injection pattern — folders under \Windows, a driver, an INF — then every oracle:
/// ntfsfix -n, ntfsresize's cluster accounting, ntfssecaudit (no new errors), sleuthkit's listing (everything that was
/// there is still there, plus exactly the new entries) and contents (icat, ntfscat).
/// </summary>
[Collection(NtfsCorpusCollection.Name)]
public sealed partial class NtfsCorpusWriteTests : IDisposable
{
    private readonly NtfsCorpusFixture _images;
    private readonly TempDir _tmp = new();

    public NtfsCorpusWriteTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    public void Dispose() => _tmp.Dispose();

    public static TheoryData<string, string> Volumes => new()
    {
        { "ntfs/ntfs-lastaccess.raw.gz", "raw" },
        { "ntfs/ntfs-ptrn.raw.gz", "raw" },
        { "ntfs/ntfs-2m.raw.gz", "raw" },
        { "ntfs/testfs1", "raw" },
        { "disks/qcow2/windows_volume.qcow2", "qcow2" },
        { "disks/vmdk/monolithicSparse.vmdk", "vmdk" },
    };

    [Theory]
    [MemberData(nameof(Volumes))]
    public void Injected_files_are_seen_by_every_oracle_and_nothing_else_changes(string relative, string format)
    {
        string image = _tmp.File(Path.GetFileName(relative).Replace(".gz", string.Empty, StringComparison.Ordinal));
        NtfsPatch.SparseCopy(_images.ImagePath(relative), image);
        string before = PartitionAsRaw(image, format, "before");
        // sleuthkit cannot read volumes with 2 MiB clusters at all; ntfs-3g's listing covers those.
        bool sleuthKitReads = !relative.Contains("2m", StringComparison.Ordinal);
        List<FlsEntry> flsBefore = sleuthKitReads ? SleuthKit.Fls(before, 0) : new List<FlsEntry>();
        HashSet<string> lsBefore = NtfsLs(before);
        int secErrorsBefore = SecAuditErrors(before);

        var files = new Dictionary<string, byte[]>
        {
            ["/Windows/System32/drivers/netkvm.sys"] = NtfsWriteTests.RandomBytes(11, 180_000),
            ["/Windows/INF/oem42.inf"] = NtfsWriteTests.RandomBytes(12, 6_000),
            ["/Windows/System32/DriverStore/FileRepository/netkvm.inf_amd64_0123456789abcdef/netkvm.cat"] = NtfsWriteTests.RandomBytes(13, 900),
        };
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            PartitionTable? table = PartitionTable.Read(disk);
            using SparseStream stream = table is null ? disk.Content : table.Open(table.Partitions.Single(p => p.MbrType == 0x07 || p.TypeName.Contains("data", StringComparison.OrdinalIgnoreCase)));
            using (NtfsVolume v = NtfsVolume.Open(stream, new NtfsOpenOptions { Writable = true, LeaveOpen = true, FilePath = image }))
            {
                foreach ((string path, byte[] data) in files)
                {
                    v.CreateDirectory(path.Substring(0, path.LastIndexOf('/')));
                    v.WriteFile(path, data);
                }
                v.Flush();
            }
            disk.Flush();
        }
        if (format != "raw")
        {
            QemuImg.Check(image, format);
        }
        string after = PartitionAsRaw(image, format, "after");
        NtfsWriteTests.AssertOraclesHappy(after, sleuthKitReads);
        Assert.True(SecAuditErrors(after) <= secErrorsBefore, "ntfssecaudit finds new errors");

        HashSet<string> lsAfter = NtfsLs(after);
        var expectedNew = files.Keys.SelectMany(Ancestry).Distinct().Where(p => !lsBefore.Contains(p)).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(expectedNew.Order(StringComparer.Ordinal), lsAfter.Except(lsBefore).Order(StringComparer.Ordinal));
        Assert.Empty(lsBefore.Except(lsAfter));
        foreach ((string path, byte[] data) in files)
        {
            Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), BinaryOracle.Sha256Of("ntfscat", after, path).Sha256);
        }

        // A directory we create describes its index records the way the volume's formatter described the root's
        // ($INDEX_ROOT's "clusters per index record": 512-byte blocks when clusters are larger than records).
        byte[] rootHeader = BinaryOracle.Bytes("ntfscat", "-a", "0x90", "-n", "$I30", after, "/");
        byte[] ourHeader = BinaryOracle.Bytes("ntfscat", "-a", "0x90", "-n", "$I30", after, "/Windows/System32/drivers");
        Assert.Equal(rootHeader.AsSpan(0, 16).ToArray(), ourHeader.AsSpan(0, 16).ToArray());
        if (!sleuthKitReads)
        {
            return;
        }
        List<FlsEntry> flsAfter = SleuthKit.Fls(after, 0);
        var added = flsAfter.Select(e => e.Path).Except(flsBefore.Select(e => e.Path)).Order(StringComparer.Ordinal).ToList();
        var expectedAdded = files.Keys.SelectMany(Ancestry).Distinct().Except(flsBefore.Select(e => "/" + e.Path)).Select(p => p.TrimStart('/')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expectedAdded, added);
        var lost = flsBefore.Select(e => (e.Path, e.Stream, e.Size)).Except(flsAfter.Select(e => (e.Path, e.Stream, e.Size)))
            .Where(e => !e.Path.StartsWith('$') && !IsTouchedDirectory(e.Path, files.Keys)).ToList();
        Assert.True(lost.Count == 0, "entries changed or lost: " + string.Join(", ", lost));
        foreach ((string path, byte[] data) in files)
        {
            string expected = Convert.ToHexString(SHA256.HashData(data));
            FlsEntry entry = Assert.Single(flsAfter, e => "/" + e.Path == path && e.Stream is null);
            Assert.Equal(expected, BinaryOracle.Sha256Of("icat", after, entry.Inode).Sha256);
            Assert.Equal(expected, BinaryOracle.Sha256Of("ntfscat", after, path).Sha256);
        }
    }

    // Every path `ntfsls -R -a` prints (directory headers "/path:" followed by their entries).
    private static HashSet<string> NtfsLs(string part)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        string dir = "/";
        foreach (string line in Oracle.RunChecked("ntfsls", "-R", "-a", part).Split('\n'))
        {
            if (line.Length == 0 || line == "." || line == "..")
            {
                continue;
            }
            if (line.StartsWith('/') && line.EndsWith(':'))
            {
                dir = line.TrimEnd(':');
                continue;
            }
            paths.Add((dir == "/" ? string.Empty : dir) + "/" + line);
        }
        return paths;
    }

    private static bool IsTouchedDirectory(string path, IEnumerable<string> files) =>
        files.Any(f => ("/" + f.TrimStart('/')).StartsWith("/" + path + "/", StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<string> Ancestry(string path)
    {
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 1; i <= parts.Length; i++)
        {
            yield return "/" + string.Join("/", parts.Take(i));
        }
    }

    // The NTFS partition as a raw file of exactly its length (ntfsfix looks for the backup boot sector at the end).
    private string PartitionAsRaw(string image, string format, string tag)
    {
        string raw = image;
        if (format != "raw")
        {
            raw = _tmp.File(tag + ".disk.raw");
            QemuImg.ConvertToRaw(image, format, raw);
        }
        string part = _tmp.File(tag + ".part");
        using VirtualDisk disk = DiskImage.Open(raw);
        PartitionTable? table = PartitionTable.Read(disk);
        using Stream source = table is null ? disk.Content : table.Open(table.Partitions.Single(p => p.MbrType == 0x07 || p.TypeName.Contains("data", StringComparison.OrdinalIgnoreCase)));
        NtfsPatch.SparseCopy(source, part);
        return part;
    }

    private static int SecAuditErrors(string part)
    {
        ToolResult audit = Oracle.Run("ntfssecaudit", "-a", part);
        return ErrorCount().Matches(audit.StdOut + audit.StdErr).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"(\d+) errors in")]
    private static partial Regex ErrorCount();
}
