using System;
using System.Buffers.Binary;
using System.IO;
using IscsiConvert.Storage.Qcow2;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Qcow2;

/// <summary>
/// Corrupt copies of a qemu-made image: each damaged structure gives our own exception naming it and its offset,
/// without changing the file and without allocating memory in proportion to hostile sizes.
/// </summary>
public sealed class Qcow2BadInputTests : IDisposable
{
    private const long MemoryBound = 64L << 20;
    private readonly TempDir _tmp = new();
    private readonly byte[] _good;
    private readonly long _l1Offset;
    private readonly long _l2Offset;
    private readonly long _refcountTableOffset;

    public Qcow2BadInputTests()
    {
        // 4 KiB clusters (two L1 entries), 4 MiB disk, data at guest 0 and one snapshot.
        string image = _tmp.File("good.qcow2");
        Qcow2Oracle.Create(image, "4M", "cluster_size=4096");
        Qcow2Oracle.Io(image, "write -P 0xab 0 64k");
        Oracle.RunChecked("qemu-img", "snapshot", "-c", "s1", image);
        Qcow2Oracle.Io(image, "write -P 0xcd 0 4k");
        _good = File.ReadAllBytes(image);
        _l1Offset = Be64(40);
        _refcountTableOffset = Be64(48);
        _l2Offset = (long)(BinaryPrimitives.ReadUInt64BigEndian(_good.AsSpan((int)_l1Offset)) & 0x00FF_FFFF_FFFF_FE00UL);
    }

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void BadMagicIsCorrupt() =>
        ExpectCorrupt(b => b[0] = (byte)'X', "header", 0, direct: true);

    [Fact]
    public void UnknownVersionIsUnsupported() =>
        Expect<UnsupportedFormatException>(b => Put32(b, 4, 4), "version 4");

    [Fact]
    public void TinyClusterBitsIsCorrupt() =>
        ExpectCorrupt(b => Put32(b, 20, 8), "header", 20);

    [Fact]
    public void HugeClusterBitsIsUnsupported() =>
        Expect<UnsupportedFormatException>(b => Put32(b, 20, 22), "2 MiB");

    [Fact]
    public void EncryptedIsUnsupported() =>
        Expect<UnsupportedFormatException>(b => Put32(b, 32, 2), "encrypted");

    [Fact]
    public void HugeL1SizeIsRefusedBeforeAllocating() =>
        ExpectCorrupt(b => Put32(b, 36, 0x7FFFFFFF), "L1 table", 36);

    [Fact]
    public void TooSmallL1SizeIsCorrupt() =>
        ExpectCorrupt(b => Put32(b, 36, 0), "L1 table", 36);

    [Fact]
    public void UnalignedL1OffsetIsCorrupt() =>
        ExpectCorrupt(b => Put64(b, 40, (ulong)_l1Offset + 8), "L1 table", 40);

    [Fact]
    public void L1PastTheEndIsCorrupt() =>
        ExpectCorrupt(b => Put64(b, 40, 1UL << 40), "L1 table", 40);

    [Fact]
    public void L1OverlappingTheHeaderIsCorrupt() =>
        ExpectCorrupt(b => Put64(b, 40, 0), "L1 table", 40);

    /// <summary>Past the end (a truncated file): refused for writing at open; read-only, it opens (as qemu-img info does) and the read fails.</summary>
    [Fact]
    public void L2TablePastTheEndIsCorrupt()
    {
        ExpectCorrupt(b => Put64(b, (int)_l1Offset, (1UL << 40) | (1UL << 63)), "L2 table of L1 table entry 0", _l1Offset, access: DiskAccess.ReadWrite);
        ExpectCorrupt(b => Put64(b, (int)_l1Offset, (1UL << 40) | (1UL << 63)), "L2 table", 1L << 40, read: true);
        using VirtualDisk disk = DiskImage.Open(Damage(b => Put64(b, (int)_l1Offset, (1UL << 40) | (1UL << 63))));
        Assert.Contains($"L2 table of L1 table entry 0 at offset 0x{_l1Offset:X}", disk.Damage, StringComparison.Ordinal);
    }

    [Fact]
    public void L1ReservedBitsAreCorrupt() =>
        ExpectCorrupt(b => Put64(b, (int)_l1Offset, (ulong)_l2Offset | 0x100), "L1 table entry 0", _l1Offset);

    [Fact]
    public void SharedL2TableIsAnL2Loop() =>
        ExpectCorrupt(b => Put64(b, (int)_l1Offset + 8, (ulong)_l2Offset | (1UL << 63)), "L1 table entry 1", _l1Offset + 8);

    [Fact]
    public void L2TableInsideTheL1TableIsAnL2Loop() =>
        ExpectCorrupt(b => Put64(b, (int)_l1Offset, (ulong)_l1Offset | (1UL << 63)), "L1 table entry 0", _l1Offset);

    [Fact]
    public void RefcountTablePastTheEndIsCorrupt() =>
        ExpectCorrupt(b => Put64(b, 48, 1UL << 40), "refcount table", 48);

    [Fact]
    public void UnalignedRefcountTableIsCorrupt() =>
        ExpectCorrupt(b => Put64(b, 48, (ulong)_refcountTableOffset + 512), "refcount table", 48);

    [Fact]
    public void HugeRefcountTableIsRefusedBeforeAllocating() =>
        ExpectCorrupt(b => Put32(b, 56, 0xFFFFFFFF), "refcount table", 56);

    [Fact]
    public void RefcountBlockPastTheEndIsCorruptWhenWriting() =>
        ExpectCorrupt(b => Put64(b, (int)_refcountTableOffset, 1UL << 40), "refcount block 0", _refcountTableOffset, access: DiskAccess.ReadWrite);

    [Fact]
    public void HugeSnapshotCountIsCorrupt() =>
        ExpectCorrupt(b => Put32(b, 60, 0xFFFFFFFF), "snapshot table", 60);

    [Fact]
    public void SnapshotTablePastTheEndIsCorrupt() =>
        ExpectCorrupt(b => Put64(b, 64, 1UL << 40), "snapshot table", 64);

    [Fact]
    public void SnapshotEntryWithHugeExtraDataIsCorrupt()
    {
        long table = Be64(64);
        ExpectCorrupt(b => Put32(b, (int)table + 36, 0x7FFFFFFF), "snapshot table entry 0", table + 36);
    }

    [Fact]
    public void SnapshotL1PastTheEndIsCorruptWhenOpened()
    {
        long table = Be64(64);
        string path = Damage(b => Put64(b, (int)table, 1UL << 40));
        byte[] before = File.ReadAllBytes(path);
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Single(((Qcow2Disk)disk).Snapshots);
        }
        var ex = Assert.Throws<CorruptDataException>(() => Qcow2Disk.OpenSnapshot(path, "s1"));
        Assert.Contains("L1 table of snapshot 's1'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"0x{table:X}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void L2EntryPastTheEndIsCorruptWhenRead() =>
        ExpectCorrupt(b => Put64(b, (int)_l2Offset, (1UL << 40) | (1UL << 63)), "L2 entry", _l2Offset, read: true);

    [Fact]
    public void CompressedDescriptorPastTheEndIsCorruptWhenRead() =>
        ExpectCorrupt(b => Put64(b, (int)_l2Offset, (1UL << 62) | (1UL << 40)), "compressed cluster descriptor", _l2Offset, read: true);

    [Fact]
    public void GarbageCompressedDataIsCorrupt()
    {
        // Point the cluster at 4 sectors of 0xFF inside the file: invalid deflate data.
        long data = _good.Length - 4096;
        ExpectCorrupt(
            b =>
            {
                b.AsSpan((int)data, 2048).Fill(0xFF);
                int sizeShift = 62 - ((int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(20)) - 8);
                Put64(b, (int)_l2Offset, (1UL << 62) | (3UL << sizeShift) | (ulong)data);
            },
            "compressed cluster", data, read: true);
    }

    [Fact]
    public void ExtendedL2IsUnsupported()
    {
        string path = _tmp.File("ext.qcow2");
        Qcow2Oracle.Create(path, "1M", "extended_l2=on");
        var ex = Assert.Throws<UnsupportedFormatException>(() => DiskImage.Open(path));
        Assert.Contains("extended L2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZstdIsUnsupported()
    {
        string path = _tmp.File("zstd.qcow2");
        Qcow2Oracle.Create(path, "1M", "compression_type=zstd");
        var ex = Assert.Throws<UnsupportedFormatException>(() => DiskImage.Open(path));
        Assert.Contains("zstd", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownIncompatibleBitIsUnsupported() =>
        Expect<UnsupportedFormatException>(b => b[72 + 7] |= 1 << 5, "bit 5");

    [Fact]
    public void ExternalDataFileIsUnsupported() =>
        Expect<UnsupportedFormatException>(b => b[72 + 7] |= 1 << 2, "external data file");

    [Fact]
    public void CorruptBitRefusesWritesButReads()
    {
        string path = Damage(b => b[72 + 7] |= 1 << 1);
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Equal(0xcd, Qcow2Oracle.ReadAll(disk)[0]);
        }
        Assert.Throws<UnsafeToWriteException>(() => DiskImage.Open(path, DiskAccess.ReadWrite));
        Assert.Equal(File.ReadAllBytes(path), Damaged(b => b[72 + 7] |= 1 << 1));
    }

    [Fact]
    public void DirtyImageWithBitmapsIsNotWritten()
    {
        string path = _tmp.File("dirty-bitmap.qcow2");
        Qcow2Oracle.Create(path, "1M");
        Oracle.RunChecked("qemu-img", "bitmap", "--add", path, "b0");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[72 + 7] |= 1;
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<UnsafeToWriteException>(() => DiskImage.Open(path, DiskAccess.ReadWrite));
        Assert.Contains("bitmaps", ex.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void BackingFileNamePastTheFirstClusterIsCorrupt()
    {
        // A name that starts in the second cluster (4 KiB clusters here): qemu refuses it too. The header was once read
        // up to 2 MiB, and such a name was then taken as the backing file (a missing parent).
        Action<byte[]> damage = b =>
        {
            Put64(b, 8, 4096);
            Put32(b, 16, 8);
        };
        ExpectCorrupt(damage, "backing file name", 8);
        ToolResult qemu = Oracle.Run("qemu-img", "info", "-f", "qcow2", Damage(damage));
        Assert.True(qemu.ExitCode != 0, $"qemu-img info accepted it:\n{qemu.StdOut}");
    }

    [Fact]
    public void BackingFileLoopsAreParentChainErrors()
    {
        string a = _tmp.File("a.qcow2");
        string b = _tmp.File("b.qcow2");
        Qcow2Oracle.Create(b, "1M");
        Qcow2Oracle.Create(a, "1M", null, "b.qcow2", "qcow2");
        // Rewrite b (unsafely, as a hostile file would be) to name a as its backing file.
        Oracle.RunChecked("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", b);
        Assert.Throws<ParentChainException>(() => DiskImage.Open(a));
        string self = _tmp.File("self.qcow2");
        Qcow2Oracle.Create(self, "1M");
        Oracle.RunChecked("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "self.qcow2", "-F", "qcow2", self);
        Assert.Throws<ParentChainException>(() => DiskImage.Open(self));
    }

    [Fact]
    public void MissingBackingFileIsParentChainError()
    {
        string child = _tmp.File("orphan.qcow2");
        Qcow2Oracle.Create(child, "1M");
        Oracle.RunChecked("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "gone.qcow2", "-F", "qcow2", child);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(child));
        Assert.Contains("gone.qcow2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingBackingFileIsReportedWhenAllowed_ReadOnlyOnly()
    {
        string child = _tmp.File("orphan2.qcow2");
        Qcow2Oracle.Create(child, "3M");
        Oracle.RunChecked("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "gone.qcow2", "-F", "qcow2", child);
        byte[] before = File.ReadAllBytes(child);
        using (VirtualDisk disk = DiskImage.Open(child, new DiskOpenOptions { AllowMissingParent = true }))
        {
            Assert.Equal("gone.qcow2", disk.MissingParentPath);
            Assert.Null(disk.Parent);
            Assert.Equal(3L << 20, disk.Capacity);
        }
        Assert.Throws<ArgumentException>(() => DiskImage.Open(child, new DiskOpenOptions { AllowMissingParent = true, Access = DiskAccess.ReadWrite }));
        Assert.Equal(before, File.ReadAllBytes(child));
    }

    [Fact]
    public void BackingFormatMismatchIsParentChainError()
    {
        string baseImage = _tmp.File("b2.qcow2");
        Qcow2Oracle.Create(baseImage, "1M");
        string child = _tmp.File("c2.qcow2");
        Qcow2Oracle.Create(child, "1M", null, "b2.qcow2", "qcow2");
        Oracle.RunChecked("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "b2.qcow2", "-F", "raw", child);
        Assert.Throws<ParentChainException>(() => DiskImage.Open(child));
    }

    private void ExpectCorrupt(Action<byte[]> damage, string structure, long offset, bool read = false, bool direct = false, DiskAccess access = DiskAccess.ReadOnly)
    {
        CorruptDataException ex = Expect<CorruptDataException>(damage, structure, read, direct, access);
        Assert.Equal(structure, ex.Structure);
        Assert.Equal(offset, ex.Offset);
        Assert.Contains($"at offset 0x{offset:X}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("QCOW2", ex.Message, StringComparison.Ordinal);
    }

    private TException Expect<TException>(Action<byte[]> damage, string messagePart, bool read = false, bool direct = false, DiskAccess access = DiskAccess.ReadOnly)
        where TException : Exception
    {
        string path = Damage(damage);
        byte[] before = File.ReadAllBytes(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        TException ex = Assert.Throws<TException>(() =>
        {
            using VirtualDisk disk = direct
                ? Qcow2Disk.Open(path, access, new OpenContext(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
                : DiskImage.Open(path, access);
            if (read)
            {
                Qcow2Oracle.ReadAll(disk);
            }
        });
        long used = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(used < MemoryBound, $"{used} bytes were allocated for a hostile input");
        Assert.Contains(messagePart, ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        return ex;
    }

    private string Damage(Action<byte[]> damage)
    {
        string path = _tmp.File(Guid.NewGuid().ToString("N") + ".qcow2");
        File.WriteAllBytes(path, Damaged(damage));
        return path;
    }

    private byte[] Damaged(Action<byte[]> damage)
    {
        byte[] copy = (byte[])_good.Clone();
        damage(copy);
        return copy;
    }

    private long Be64(int at) => (long)BinaryPrimitives.ReadUInt64BigEndian(_good.AsSpan(at));

    private static void Put32(byte[] b, int at, uint v) => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), v);

    private static void Put64(byte[] b, int at, ulong v) => BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(at), v);
}
