using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.Text;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vmdk;

/// <summary>
/// Damaged and hostile VMDKs (corrupt copies in a temp folder) give our own exception naming the structure and
/// offset, allocate little, and leave every file unchanged. Field offsets are those of VMware's hosted sparse
/// extent header (Virtual Disk Format 1.1): version 4, capacity 12, grainSize 20, descriptorSize 36, gdOffset 56.
/// </summary>
public sealed class VmdkBadInputTests
{
    // ext2.vmdk (qemu monolithicSparse): grain directory at sector 26, its only grain table at sector 27 (entry 0 = 128).
    private const long Ext2GrainDirectory = 26 * 512;
    private const long Ext2GrainTable = 27 * 512;

    // streamOptimized.vmdk: grain 0's marker is at sector 128.
    private const long FirstGrainMarker = 128 * 512;

    [Theory]
    [InlineData(4, 7UL, 4, "sparse extent header", 0L, "version 7")]
    [InlineData(12, 1UL << 62, 8, "sparse extent header", 12L, "capacity")]
    [InlineData(20, 1UL << 30, 8, "sparse extent header", 20L, "grain size")]
    [InlineData(20, 100UL, 8, "sparse extent header", 20L, "power of two")]
    [InlineData(44, 1UL << 20, 4, "sparse extent header", 44L, "entries per grain table")]
    [InlineData(36, 1UL << 30, 8, "embedded descriptor", 36L, "limit")]
    [InlineData(56, 0x100000UL, 8, "grain directory", 0x100000L * 512, "outside the file")]
    public void HeaderFieldsOutOfRange(int fieldOffset, ulong value, int width, string structure, long offset, string problem)
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        Patch(path, fieldOffset, value, width);
        ExpectCorrupt(tmp, path, structure, offset, problem);
    }

    [Fact]
    public void HostileCapacityIsRejectedBeforeAllocating()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        Patch(path, 12, 1UL << 37, 8); // 64 TiB in 1-sector grains: 2^28 directory entries
        Patch(path, 20, 1, 8);
        ExpectCorrupt(tmp, path, "sparse extent header", 0, "grain directory entries");
    }

    [Fact]
    public void NewlineDetectionBytesAltered()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        Patch(path, 75, 'X', 1);
        ExpectCorrupt(tmp, path, "sparse extent header", 73, "newline");
    }

    [Fact]
    public void GrainTablePastEndOfFile()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        Patch(path, Ext2GrainDirectory, 0x7FFFFFFF, 4);
        ExpectCorrupt(tmp, path, "grain table 0", 0x7FFFFFFFL * 512, "past the end");
    }

    [Fact]
    public void GrainTableEntryPastEndOfFile()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        Patch(path, Ext2GrainTable + (2 * 4), 0x10000000, 4);
        ExpectCorrupt(tmp, path, "grain table 0 entry 2", Ext2GrainTable + 8, "past the end");
    }

    [Fact]
    public void GrainTableEntryInsideTheHeader()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        Patch(path, Ext2GrainTable, 1, 4); // 1 means "zeroed grain" only when flag bit 2 is set, and ext2.vmdk's flags are 3
        ExpectCorrupt(tmp, path, "grain table 0 entry 0", Ext2GrainTable, "inside the header");
    }

    [Fact]
    public void WriteToAGrainInsideTheMetadataIsRefusedAndWritesNothing()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        Patch(path, Ext2GrainTable, 26, 4); // grain 0 "stored" over the grain directory
        byte[] before = File.ReadAllBytes(path);
        using (VirtualDisk disk = DiskImage.Open(path, DiskAccess.ReadWrite))
        {
            var ex = Assert.Throws<CorruptDataException>(() => disk.Content.WriteAt(0, new byte[] { 1 }));
            Assert.Equal("grain table 0 entry 0", ex.Structure);
            Assert.Equal(Ext2GrainTable, ex.Offset);
        }
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void MalformedEmbeddedDescriptorLine()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/ext2.vmdk", tmp);
        byte[] file = File.ReadAllBytes(path);
        string text = Encoding.ASCII.GetString(file, 512, 20 * 512);
        int at = text.IndexOf("RW 8192 SPARSE", StringComparison.Ordinal);
        Assert.True(at > 0);
        int line = text.Substring(0, at).Split('\n').Length;
        Patch(path, 512 + at + 4, 'x', 1); // "RW 8x92 SPARSE"
        ExpectCorrupt(tmp, path, $"descriptor line {line}", 512 + at, "extent size '8x92'");
    }

    [Fact]
    public void DescriptorFileWithAGarbageLine()
    {
        using var tmp = new TempDir();
        string path = tmp.File("d.vmdk");
        File.WriteAllText(path, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nthis is not a descriptor line\nRW 2048 FLAT \"d-flat.vmdk\" 0\n");
        File.WriteAllBytes(tmp.File("d-flat.vmdk"), new byte[2048 * 512]);
        long lineOffset = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n".Length;
        ExpectCorrupt(tmp, path, "descriptor line 6", lineOffset, "neither a key=value pair nor an extent");
    }

    [Fact]
    public void DescriptorFileTooLarge()
    {
        using var tmp = new TempDir();
        string path = tmp.File("big.vmdk");
        var sb = new StringBuilder("# Disk DescriptorFile\n");
        sb.Append('#', 2 << 20);
        File.WriteAllText(path, sb.ToString());
        ExpectCorrupt(tmp, path, "descriptor file", 0, "at most");
    }

    [Fact]
    public void MissingExtentFileIsCorruptDataNamingTheDescriptorLineAndTheExtent()
    {
        using var tmp = new TempDir();
        string path = tmp.File("d.vmdk");
        File.WriteAllText(path, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentFlat\"\nRW 2048 FLAT \"d-f001.vmdk\" 0\nRW 2048 FLAT \"d-f002.vmdk\" 0\n");
        File.WriteAllBytes(tmp.File("d-f001.vmdk"), new byte[2048 * 512]);
        var ex = Assert.Throws<CorruptDataException>(() => DiskImage.Open(path).Dispose());
        Assert.Contains("d-f002.vmdk", ex.Message, StringComparison.Ordinal);
        Assert.Equal("descriptor line 7 (extent)", ex.Structure);
        Assert.Equal(path, ex.FilePath);
        Assert.Equal(tmp.File("d-f002.vmdk"), Assert.IsType<FileNotFoundException>(ex.InnerException).FileName);
    }

    [Fact]
    public void SparseExtentWithBadSignature()
    {
        using var tmp = new TempDir();
        string path = tmp.File("d.vmdk");
        DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 1 << 20, Variant = "twoGbMaxExtentSparse" }).Dispose();
        string extent = tmp.File("d-s001.vmdk");
        Patch(extent, 0, 0x4B444D58, 4);
        var ex = ExpectCorrupt(tmp, path, "sparse extent header", 0, "signature");
        Assert.Equal(extent, ex.FilePath);
    }

    [Fact]
    public void StreamOptimizedGrainMarkerNamesTheWrongSector()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/streamOptimized.vmdk", tmp);
        Patch(path, FirstGrainMarker, 5, 8);
        ExpectCorrupt(tmp, path, "grain marker for grain 0", FirstGrainMarker, "expected 0");
    }

    [Fact]
    public void StreamOptimizedGrainMarkerWithAbsurdSize()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/streamOptimized.vmdk", tmp);
        Patch(path, FirstGrainMarker + 8, 0x7FFFFFFF, 4);
        ExpectCorrupt(tmp, path, "grain marker for grain 0", FirstGrainMarker, "compressed size");
    }

    [Fact]
    public void StreamOptimizedGrainWithGarbageData()
    {
        using var tmp = new TempDir();
        string path = CopyOf("disks/vmdk/streamOptimized.vmdk", tmp);
        Patch(path, FirstGrainMarker + 12, 0xFFFFFFFF, 4);
        ExpectCorrupt(tmp, path, "compressed grain 0", FirstGrainMarker + 12, "zlib");
    }

    [Theory]
    [InlineData(3, "footer marker")]
    [InlineData(1, "end-of-stream marker")]
    public void StreamOptimizedFooterDamaged(int sectorsFromEnd, string structure)
    {
        using var tmp = new TempDir();
        string path = tmp.File("so.vmdk");
        using (VirtualDisk d = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 1 << 20, Variant = "streamOptimized" }))
        {
            d.Content.WriteAt(0, new byte[] { 1, 2, 3 });
        }
        long at = new FileInfo(path).Length - (sectorsFromEnd * 512L);
        Patch(path, at + 12, 0x55, 4); // the marker's type field
        ExpectCorrupt(tmp, path, structure, new FileInfo(path).Length - (3 * 512L) + (sectorsFromEnd == 1 ? 1024 : 0), "expected");
    }

    [Fact]
    public void ParentLoopIsDetected()
    {
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.vmdk");
        string a = tmp.File("dlta.vmdk");
        string b = tmp.File("dltb.vmdk");
        DiskImage.Create(baseImage, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 1 << 20 }).Dispose();
        DiskImage.Create(a, new DiskCreateOptions { Format = DiskFormat.Vmdk, ParentPath = baseImage }).Dispose();
        DiskImage.Create(b, new DiskCreateOptions { Format = DiskFormat.Vmdk, ParentPath = a }).Dispose();
        ReplaceInFile(a, "parentFileNameHint=\"base.vmdk\"", "parentFileNameHint=\"dltb.vmdk\"");
        string before = VmdkTestKit.Fingerprint(tmp.Path);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(b).Dispose());
        Assert.Contains("loops", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, VmdkTestKit.Fingerprint(tmp.Path));
    }

    [Fact]
    public void ParentContentIdMismatchIsAParentChainError()
    {
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.vmdk");
        string child = tmp.File("child.vmdk");
        DiskImage.Create(baseImage, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 1 << 20, NewIdentifier = IdentifierSource.Sequential(9) }).Dispose();
        DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Vmdk, ParentPath = baseImage }).Dispose();
        uint cid = (uint)QemuImg.Info(baseImage, "vmdk").GetProperty("format-specific").GetProperty("data").GetProperty("cid").GetInt64();
        ReplaceInFile(baseImage, "CID=" + cid.ToString("x8", CultureInfo.InvariantCulture), "CID=" + (cid ^ 1).ToString("x8", CultureInfo.InvariantCulture));
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(child).Dispose());
        Assert.Contains("parentCID", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingParentIsAParentChainError()
    {
        using var tmp = new TempDir();
        string baseImage = tmp.File("base.vmdk");
        string child = tmp.File("child.vmdk");
        DiskImage.Create(baseImage, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 1 << 20 }).Dispose();
        DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Vmdk, ParentPath = baseImage }).Dispose();
        File.Delete(baseImage);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(child).Dispose());
        Assert.Contains("base.vmdk", ex.Message, StringComparison.Ordinal);
    }

    private static string CopyOf(string relative, TempDir tmp)
    {
        string source = TestData.Require(relative);
        string path = tmp.File(Path.GetFileName(source));
        File.Copy(source, path);
        return path;
    }

    private static void Patch(string path, long offset, ulong value, int width)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes, 0, width);
    }

    private static void Patch(string path, long offset, char value, int width) => Patch(path, offset, (ulong)value, width);

    private static void ReplaceInFile(string path, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        byte[] file = File.ReadAllBytes(path);
        string latin = Encoding.Latin1.GetString(file);
        int at = latin.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' not found in {path}");
        Encoding.Latin1.GetBytes(to).CopyTo(file, at);
        File.WriteAllBytes(path, file);
    }

    /// <summary>Opens and reads the whole image; expects a <see cref="CorruptDataException"/> naming the structure and offset,
    /// with bounded allocation and no file changed.</summary>
    private static CorruptDataException ExpectCorrupt(TempDir tmp, string path, string structure, long offset, string problem)
    {
        string before = VmdkTestKit.Fingerprint(tmp.Path);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<CorruptDataException>(() =>
        {
            using VirtualDisk disk = DiskImage.Open(path);
            byte[] buffer = new byte[1 << 16];
            for (long pos = 0; pos < disk.Capacity; pos += buffer.Length)
            {
                disk.Content.ReadAt(pos, buffer);
            }
        });
        long used = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(used < 64L << 20, $"allocated {used} bytes on hostile input");
        Assert.Equal(structure, ex.Structure);
        Assert.Equal(offset, ex.Offset);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        Assert.Contains(string.Format(CultureInfo.InvariantCulture, "0x{0:X}", offset), ex.Message, StringComparison.Ordinal);
        Assert.Contains(structure, ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, VmdkTestKit.Fingerprint(tmp.Path));
        return ex;
    }
}
