using System;
using System.Buffers.Binary;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Vhdx;
using IscsiConvert.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>
/// Corrupt copies of a small image, one structure at a time. Each must be refused with our exception naming the
/// structure and its offset, by read-only and read-write opens alike, without a byte of the file changing.
/// The image: dynamic, 8 MiB, 1 MiB blocks, laid out as Hyper-V does (log at 1 MiB, metadata at 2 MiB, BAT at 3 MiB),
/// with data in block 2 (BAT entry 2, stored at 4 MiB).
/// </summary>
public sealed class VhdxBadInputTests
{
    private const long MiB = 1 << 20;
    private const long Metadata = 2 * MiB;
    private const long Bat = 3 * MiB;
    private const long RegionTable1 = 0x30000;
    private const long RegionTable2 = 0x40000;

    private static string MakeImage(TempDir tmp)
    {
        string path = tmp.File("bad.vhdx");
        using VirtualDisk d = DiskImage.Create(path, VhdxCreateTests.Options(8 * MiB));
        d.Content.WriteAt(2 * MiB + 10, new byte[] { 1, 2, 3, 4 });
        return path;
    }

    private static void Truncate(string path, long length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.SetLength(length);
    }

    private static void PutU64(string path, long offset, ulong value)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        VhdxTestSupport.Patch(path, offset, b);
    }

    private static void PutU32(string path, long offset, uint value)
    {
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        VhdxTestSupport.Patch(path, offset, b);
    }

    /// <summary>Recomputes the CRC-32C (field at +4) of a checksummed structure after a deliberate change.</summary>
    private static void FixChecksum(string path, long offset, int size)
    {
        byte[] block = VhdxTestSupport.ReadBytes(path, offset, size);
        block.AsSpan(4, 4).Clear();
        PutU32(path, offset + 4, IscsiConvert.Shared.Crc32C.Compute(block));
    }

    private static CorruptDataException AssertCorrupt(string path, string structure, long offset, string? problem = null)
    {
        string before = VhdxTestSupport.FileSha256(path);
        var ex = Assert.Throws<CorruptDataException>(() => DiskImage.Open(path));
        Assert.Contains(structure, ex.Structure, StringComparison.Ordinal);
        Assert.Equal(offset, ex.Offset);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        if (problem is not null)
        {
            Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        }
        Assert.ThrowsAny<IscsiConvertException>(() => DiskImage.Open(path, DiskAccess.ReadWrite));
        Assert.Equal(before, VhdxTestSupport.FileSha256(path));
        return ex;
    }

    private static void AssertOpensUnchanged(string path)
    {
        string before = VhdxTestSupport.FileSha256(path);
        using (VirtualDisk d = DiskImage.Open(path))
        {
            byte[] four = new byte[4];
            d.Content.ReadAt(2 * MiB + 10, four);
            Assert.Equal(new byte[] { 1, 2, 3, 4 }, four);
        }
        Assert.Equal(before, VhdxTestSupport.FileSha256(path));
    }

    [Fact]
    public void TruncatedHeaderSection()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        Truncate(p, 512 * 1024);
        AssertCorrupt(p, "header section", 0, "truncated");
    }

    [Fact]
    public void TruncatedBeforeTheBatRegionEnds()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        Truncate(p, Bat + MiB / 2);
        AssertCorrupt(p, "region table entry 0", RegionTable1 + 16);
    }

    [Fact]
    public void TruncatedBeforeAPayloadBlock()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        Truncate(p, 4 * MiB + MiB / 2);
        AssertCorrupt(p, "BAT entry 2", Bat + 2 * 8, "outside");
    }

    [Fact]
    public void BadFileTypeIdentifier()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, 0, "vhdxfilX"u8);
        // Detection no longer calls it VHDX, so open it as VHDX explicitly.
        var ex = Assert.Throws<CorruptDataException>(() => VhdxDisk.Open(p, DiskAccess.ReadOnly, new OpenContext(NullLogger.Instance)));
        Assert.Equal("file type identifier", ex.Structure);
        Assert.Equal(0, ex.Offset);
    }

    [Fact]
    public void BothHeadersBad()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, 0x10000 + 200, new byte[] { 0xFF });
        VhdxTestSupport.Patch(p, 0x20000, "HEAD"u8);
        AssertCorrupt(p, "headers", 0x10000, "CRC-32C");
    }

    [Fact]
    public void OneHeaderBad_TheOtherIsUsed()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, 0x20000 + 200, new byte[] { 0xFF });
        VhdxTestSupport.Patch(p, 0x10000 + 200, new byte[] { 0x00 }); // still valid: reserved bytes are zero already
        AssertOpensUnchanged(p);
    }

    [Fact]
    public void BothRegionTablesBad()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, RegionTable1 + 1000, new byte[] { 0xFF });
        VhdxTestSupport.Patch(p, RegionTable2 + 1000, new byte[] { 0xFF });
        AssertCorrupt(p, "region tables", RegionTable1, "CRC-32C");
    }

    [Fact]
    public void FirstRegionTableBad_TheSecondIsUsed()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, RegionTable1 + 1000, new byte[] { 0xFF });
        AssertOpensUnchanged(p);
    }

    [Fact]
    public void OverlappingRegions()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        foreach (long table in new[] { RegionTable1, RegionTable2 })
        {
            PutU64(p, table + 16 + 16, (ulong)Metadata); // entry 0 (BAT) moved onto the metadata region
            FixChecksum(p, table, 64 * 1024);
        }
        AssertCorrupt(p, "region table entry 1", RegionTable1 + 16 + 32, "overlaps");
    }

    [Fact]
    public void UnknownRequiredRegion_IsUnsupported()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        foreach (long table in new[] { RegionTable1, RegionTable2 })
        {
            PutU32(p, table + 8, 3);
            VhdxTestSupport.Patch(p, table + 16 + 64, new Guid("01234567-89AB-CDEF-0123-456789ABCDEF").ToByteArray());
            PutU64(p, table + 16 + 64 + 16, (ulong)(20 * MiB));
            PutU32(p, table + 16 + 64 + 24, (uint)MiB);
            PutU32(p, table + 16 + 64 + 28, 1);
            FixChecksum(p, table, 64 * 1024);
        }
        string before = VhdxTestSupport.FileSha256(p);
        Assert.Throws<UnsupportedFormatException>(() => DiskImage.Open(p));
        Assert.Equal(before, VhdxTestSupport.FileSha256(p));
    }

    [Fact]
    public void BatEntryPastTheEndOfTheFile()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        PutU64(p, Bat + 2 * 8, (ulong)(100 * MiB) | 6);
        AssertCorrupt(p, "BAT entry 2", Bat + 2 * 8, "outside");
    }

    [Fact]
    public void BatEntryOverlappingTheMetadataRegion()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        PutU64(p, Bat + 2 * 8, (ulong)Metadata | 6);
        AssertCorrupt(p, "BAT entry 2", Bat + 2 * 8, "metadata region");
    }

    [Fact]
    public void TwoBatEntriesSharingABlock()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        PutU64(p, Bat + 5 * 8, (ulong)(4 * MiB) | 6);
        AssertCorrupt(p, "BAT entry", Bat + 5 * 8, "overlaps the block of BAT entry 2");
    }

    [Fact]
    public void InvalidPayloadBlockState()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        PutU64(p, Bat + 2 * 8, (ulong)(4 * MiB) | 7); // partially present, but the disk has no parent
        AssertCorrupt(p, "BAT entry 2", Bat + 2 * 8, "state 7");
    }

    [Fact]
    public void AbsurdBlockSize()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        PutU32(p, Metadata + 0x10000, 3 * (uint)MiB);
        AssertCorrupt(p, "file parameters", Metadata + 0x10000, "block size");
    }

    [Fact]
    public void AbsurdVirtualSize()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        PutU64(p, Metadata + 0x10008, 1UL << 62);
        AssertCorrupt(p, "virtual disk size", Metadata + 0x10008, "64 TiB");
    }

    [Fact]
    public void AbsurdSectorSize()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        PutU32(p, Metadata + 0x10010, 1000);
        AssertCorrupt(p, "logical sector size", Metadata + 0x10010, "1000");
    }

    [Fact]
    public void BadMetadataTableSignature()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, Metadata, "METADATA"u8);
        AssertCorrupt(p, "metadata table", Metadata, "signature");
    }

    [Fact]
    public void MissingRequiredMetadataItem()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, Metadata + 10, new byte[] { 4, 0 }); // drop the fifth item (virtual disk id)
        AssertCorrupt(p, "metadata table", Metadata, "missing");
    }

    [Fact]
    public void UnknownRequiredMetadataItem_IsUnsupported()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        VhdxTestSupport.Patch(p, Metadata + 32 + 4 * 32, new Guid("01234567-89AB-CDEF-0123-456789ABCDEF").ToByteArray());
        string before = VhdxTestSupport.FileSha256(p);
        var ex = Assert.Throws<UnsupportedFormatException>(() => DiskImage.Open(p));
        Assert.Contains("01234567-89ab-cdef-0123-456789abcdef", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, VhdxTestSupport.FileSha256(p));
    }

    [Fact]
    public void LogOutsideTheFile()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        foreach (long h in new[] { 0x10000L, 0x20000L })
        {
            PutU64(p, h + 72, (ulong)(64 * MiB));
            FixChecksum(p, h, 4096);
        }
        AssertCorrupt(p, "current header (log location)", 0x20000, "log at");
    }

    [Fact]
    public void LogGuidSetButNoValidEntry_NothingToReplay()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        foreach (long h in new[] { 0x10000L, 0x20000L })
        {
            VhdxTestSupport.Patch(p, h + 48, new Guid("11111111-2222-3333-4444-555555555555").ToByteArray());
            FixChecksum(p, h, 4096);
        }
        AssertOpensUnchanged(p);
        using (VirtualDisk d = DiskImage.Open(p, DiskAccess.ReadWrite))
        {
            Assert.Equal(Guid.Empty, ((VhdxDisk)d).CurrentHeader.LogGuid);
        }
        QemuImg.Check(p, "vhdx");
    }

    [Fact]
    public void DirtyLog_TruncatedBelowFlushedFileOffset_RefusesReadAndWrite()
    {
        using var tmp = new TempDir();
        string p = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        Truncate(p, 0x2000000); // the log's head entry says 0x2400000 bytes were flushed
        string before = VhdxTestSupport.FileSha256(p);
        var ex = Assert.Throws<CorruptDataException>(() => DiskImage.Open(p));
        Assert.Contains("log entry", ex.Structure, StringComparison.Ordinal);
        Assert.Equal(0x100000 + 0x7000, ex.Offset);
        Assert.Contains("truncated", ex.Problem, StringComparison.Ordinal);
        Assert.Throws<UnsafeToWriteException>(() => DiskImage.Open(p, DiskAccess.ReadWrite));
        Assert.Equal(before, VhdxTestSupport.FileSha256(p));
    }

    [Fact]
    public void DirtyLog_CorruptHeadEntry_ReplayStopsAtTheLastValidEntry()
    {
        using var tmp = new TempDir();
        string p = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", tmp.Path);
        VhdxTestSupport.Patch(p, 0x100000 + 0x7000 + 0x1000 + 100, new byte[] { 0x5A }); // inside the last entry's data sector
        string before = VhdxTestSupport.FileSha256(p);
        using (VirtualDisk d = DiskImage.Open(p))
        {
            Assert.Equal(1L << 30, d.Capacity);
            VhdxTestSupport.ContentSha256(d.Content);
        }
        Assert.Equal(before, VhdxTestSupport.FileSha256(p));
    }

    [Fact]
    public void HostileLog_OfOverlappingEntries_IsRefusedInsteadOfScannedForever()
    {
        using var tmp = new TempDir();
        string p = MakeImage(tmp);
        var logGuid = new Guid("11111111-2222-3333-4444-555555555555");
        foreach (long h in new[] { 0x10000L, 0x20000L })
        {
            VhdxTestSupport.Patch(p, h + 48, logGuid.ToByteArray());
            FixChecksum(p, h, 4096);
        }
        // Every 4 KiB sector of the 1 MiB log claims to start a 1 MiB entry (whose checksum never matches).
        byte[] log = new byte[MiB];
        for (int at = 0; at < log.Length; at += 4096)
        {
            "loge"u8.CopyTo(log.AsSpan(at));
            BinaryPrimitives.WriteUInt32LittleEndian(log.AsSpan(at + 8), (uint)MiB);
            BinaryPrimitives.WriteUInt64LittleEndian(log.AsSpan(at + 16), 1);
            logGuid.ToByteArray().CopyTo(log, at + 32);
        }
        VhdxTestSupport.Patch(p, MiB, log);
        string before = VhdxTestSupport.FileSha256(p);
        var ex = Assert.Throws<CorruptDataException>(() => DiskImage.Open(p));
        Assert.Equal("log", ex.Structure);
        Assert.Equal(MiB, ex.Offset);
        Assert.Throws<UnsafeToWriteException>(() => DiskImage.Open(p, DiskAccess.ReadWrite));
        Assert.Equal(before, VhdxTestSupport.FileSha256(p));
    }

    [Fact]
    public void PartiallyPresentBlockWithoutItsSectorBitmap()
    {
        using var tmp = new TempDir();
        string basePath = tmp.File("base.vhdx");
        string childPath = tmp.File("child.vhdx");
        VhdxDifferencingTests.MakeChain(basePath, childPath);
        // 1 MiB blocks and 512-byte sectors: chunk ratio 4096, so the bitmap entry of chunk 0 is BAT entry 4096.
        PutU64(childPath, Bat + 4096 * 8, 0);
        AssertCorrupt(childPath, "BAT entry 0", Bat, "sector bitmap");
    }
}
