using System;
using System.Buffers.Binary;
using System.IO;
using IscsiConvert.Storage.Vhd;
using IscsiConvert.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>
/// Damaged copies (made in a temp folder) of real VHDs: every structure's damage gives our exception naming the
/// file, the structure and the offset; neither a read-only nor a read-write open changes a byte.
/// Layout of ext2.vhd (qemu, per xxd): footer copy 0, dynamic header 0x200, BAT 0x600 (3 entries), block 0 at
/// sector 4, footer 0x200A00, length 0x200C00.
/// </summary>
public sealed class VhdBadInputTests
{
    private const int Header = 0x200;
    private const int Bat = 0x600;
    private const int EndFooter = 0x200A00;

    [Theory]
    [InlineData("footer-checksum", "footer", EndFooter, "computed 0x")]
    [InlineData("footer-disk-type", "footer", EndFooter + 60, "disk type 7")]
    [InlineData("footer-header-offset", "footer", EndFooter, "dynamic header offset")]
    [InlineData("footer-absurd-size", "footer", EndFooter, "limit of dynamic VHDs")]
    [InlineData("header-cookie", "dynamic header", Header, "cxsparse")]
    [InlineData("header-checksum", "dynamic header", Header, "computed 0x")]
    [InlineData("header-block-size-huge", "dynamic header", Header + 32, "block size 2147483648")]
    [InlineData("header-block-size-odd", "dynamic header", Header + 32, "block size 3145728")]
    [InlineData("header-table-huge", "dynamic header", Header, "extends past the end")]
    [InlineData("header-table-small", "dynamic header", Header, "needs 3")]
    [InlineData("header-table-offset", "dynamic header", Header, "extends past the end")]
    [InlineData("bat-past-end", "BAT entry 1", Bat + 4, "past the end")]
    [InlineData("bat-over-header", "BAT entry 1", Bat + 4, "overlaps the dynamic header")]
    [InlineData("bat-over-block", "BAT entry 1", Bat + 4, "overlaps the BAT entry 0")]
    [InlineData("truncated-in-block", "BAT entry 0", Bat, "past the end")]
    public void DamagedDynamicImagesAreRefused(string damage, string structure, long offset, string problem)
    {
        string source = TestData.Require(VhdTestSupport.Ext2);
        using var tmp = new TempDir();
        string path = tmp.File("damaged.vhd");
        byte[] file = File.ReadAllBytes(source);
        file = Damage(damage, file);
        File.WriteAllBytes(path, file);
        AssertRefused<CorruptDataException>(path, structure, offset, problem);
    }

    [Fact]
    public void AFixedDiskLargerThanItsFileIsRefused()
    {
        using var tmp = new TempDir();
        string path = tmp.File("fixed.vhd");
        VhdTestSupport.QemuCreate(path, 1 << 20, "subformat=fixed", "force_size=on");
        byte[] file = File.ReadAllBytes(path);
        int footer = file.Length - 512;
        BinaryPrimitives.WriteUInt64BigEndian(file.AsSpan(footer + 48), 2 << 20);
        VhdTestSupport.FixChecksum(file, footer, 512, 64);
        File.WriteAllBytes(path, file);
        AssertRefused<CorruptDataException>(path, "footer", footer, "truncated");
    }

    [Fact]
    public void AFixedDiskWithoutItsFooterIsRefused()
    {
        using var tmp = new TempDir();
        string path = tmp.File("fixed.vhd");
        VhdTestSupport.QemuCreate(path, 1 << 20, "subformat=fixed");
        byte[] file = File.ReadAllBytes(path);
        File.WriteAllBytes(path, file.AsSpan(0, file.Length - 300).ToArray());
        // Without a footer the content no longer says VHD, so detection calls it raw; the VHD reader itself must refuse.
        AssertRefusedByVhdReader(path, "footer", file.Length - 300 - 512, "conectix");
    }

    [Fact]
    public void AFileShorterThanAFooterIsRefused()
    {
        using var tmp = new TempDir();
        string path = tmp.File("tiny.vhd");
        File.WriteAllBytes(path, File.ReadAllBytes(TestData.Require(VhdTestSupport.Ext2)).AsSpan(0, 300).ToArray());
        AssertRefusedByVhdReader(path, "footer", 0, "too short");
    }

    [Fact]
    public void AnUnknownFormatVersionIsUnsupported()
    {
        using var tmp = new TempDir();
        string path = tmp.File("v2.vhd");
        byte[] file = File.ReadAllBytes(TestData.Require(VhdTestSupport.Ext2));
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(EndFooter + 12), 0x00020000);
        VhdTestSupport.FixChecksum(file, EndFooter, 512, 64);
        File.WriteAllBytes(path, file);
        string hash = VhdTestSupport.Sha256(path);
        var ex = Assert.Throws<UnsupportedFormatException>(() => DiskImage.Open(path));
        Assert.Contains("version 2.0", ex.Message, StringComparison.Ordinal);
        Assert.Equal(hash, VhdTestSupport.Sha256(path));
    }

    [Theory]
    [InlineData("locator-offset", "past the end")]
    [InlineData("locator-length", "more than the 65536")]
    public void DamagedParentLocatorsAreRefused(string damage, string problem)
    {
        using var tmp = new TempDir();
        string basePath = VhdDifferencingTests.MakeBase(tmp);
        string child = tmp.File("child.vhd");
        using (DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath }))
        {
        }
        byte[] file = File.ReadAllBytes(child);
        int entry = Header + 576; // locator 0 (W2ku)
        if (damage == "locator-offset")
        {
            BinaryPrimitives.WriteUInt64BigEndian(file.AsSpan(entry + 16), 0x7FFF_FFFF_0000);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(entry + 8), 0x0100_0000);
        }
        VhdTestSupport.FixChecksum(file, Header, 1024, 36);
        File.WriteAllBytes(child, file);
        AssertRefused<CorruptDataException>(child, "parent locator 0 (W2ku)", entry, problem);
    }

    /// <summary>
    /// A crash while a block was being appended leaves the block's start where the footer was and no footer at the
    /// end; the BAT does not point at the block yet. The old content must read back (the footer copy in sector 0
    /// is used), a read-only open must not repair, and a read-write open restores a footer qemu accepts.
    /// </summary>
    [Fact]
    public void AnInterruptedBlockAppendLeavesTheOldContent()
    {
        string source = TestData.Require(VhdTestSupport.Ext2);
        using var tmp = new TempDir();
        string path = tmp.File("torn.vhd");
        byte[] original = File.ReadAllBytes(source);
        byte[] torn = new byte[original.Length + 100000];
        original.AsSpan(0, EndFooter).CopyTo(torn);
        VhdTestSupport.Fill(torn.AsSpan(EndFooter), 42); // a partly written bitmap and data, no footer
        File.WriteAllBytes(path, torn);
        byte[] expected = VhdTestSupport.QemuRaw(source, "vpc", tmp);
        string hash = VhdTestSupport.Sha256(path);
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Equal(expected, VhdTestSupport.ReadAll(disk));
        }
        Assert.Equal(hash, VhdTestSupport.Sha256(path));
        using (VirtualDisk disk = DiskImage.Open(path, DiskAccess.ReadWrite))
        {
            Assert.Equal(expected, VhdTestSupport.ReadAll(disk));
            disk.Content.WriteAt(3 * 1024 * 1024, new byte[] { 9 }); // appends a block after the restored end
            expected[3 * 1024 * 1024] = 9;
        }
        string raw = tmp.File("expected.raw");
        File.WriteAllBytes(raw, expected);
        QemuImg.AssertIdentical(path, "vpc", raw, "raw");
        Assert.Equal(VhdTestSupport.QemuVirtualSize(source), VhdTestSupport.QemuVirtualSize(path));
    }

    private static byte[] Damage(string damage, byte[] f)
    {
        switch (damage)
        {
            case "footer-checksum":
                f[EndFooter + 100] ^= 0x40; // a reserved byte: only the checksum notices
                return f;
            case "footer-disk-type":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(EndFooter + 60), 7);
                return FixFooter(f);
            case "footer-header-offset":
                BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(EndFooter + 16), 0x7FFF_FFFF_FFFF);
                return FixFooter(f);
            case "footer-absurd-size":
                BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(EndFooter + 48), 1UL << 60);
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(EndFooter + 56), 0xFFFF10FF); // maximum geometry: size from "current size"
                return FixFooter(f);
            case "header-cookie":
                f[Header + 7] = (byte)'!';
                return f;
            case "header-checksum":
                f[Header + 900] ^= 1;
                return f;
            case "header-block-size-huge":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(Header + 32), 0x8000_0000);
                return FixHeader(f);
            case "header-block-size-odd":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(Header + 32), 3 * 1024 * 1024);
                return FixHeader(f);
            case "header-table-huge":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(Header + 28), 0xFFFF_FFFF);
                return FixHeader(f);
            case "header-table-small":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(Header + 28), 1);
                return FixHeader(f);
            case "header-table-offset":
                BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(Header + 16), 0xFFFF_FFFF_FFFF_FF00);
                return FixHeader(f);
            case "bat-past-end":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(Bat + 4), 0x0010_0000);
                return f;
            case "bat-over-header":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(Bat + 4), 1);
                return f;
            case "bat-over-block":
                BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(Bat + 4), 4); // block 0 is at sector 4
                return f;
            case "truncated-in-block":
                return f.AsSpan(0, 0x100000).ToArray();
            default:
                throw new ArgumentException(damage);
        }
    }

    private static byte[] FixFooter(byte[] f)
    {
        VhdTestSupport.FixChecksum(f, EndFooter, 512, 64);
        return f;
    }

    private static byte[] FixHeader(byte[] f)
    {
        VhdTestSupport.FixChecksum(f, Header, 1024, 36);
        return f;
    }

    private static void AssertRefused<T>(string path, string structure, long offset, string problem)
        where T : Exception
    {
        string hash = VhdTestSupport.Sha256(path);
        foreach (DiskAccess access in new[] { DiskAccess.ReadOnly, DiskAccess.ReadWrite })
        {
            var ex = Assert.Throws<T>(() => DiskImage.Open(path, access));
            AssertNames(ex, path, structure, offset, problem);
            Assert.Equal(hash, VhdTestSupport.Sha256(path));
        }
    }

    private static void AssertRefusedByVhdReader(string path, string structure, long offset, string problem)
    {
        string hash = VhdTestSupport.Sha256(path);
        foreach (DiskAccess access in new[] { DiskAccess.ReadOnly, DiskAccess.ReadWrite })
        {
            var ex = Assert.Throws<CorruptDataException>(() => VhdDisk.Open(path, access, new OpenContext(NullLogger.Instance)));
            AssertNames(ex, path, structure, offset, problem);
            Assert.Equal(hash, VhdTestSupport.Sha256(path));
        }
    }

    private static void AssertNames(Exception ex, string path, string structure, long offset, string problem)
    {
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("VHD " + structure, ex.Message, StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"at offset 0x{offset:X}:"), ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        if (ex is CorruptDataException c)
        {
            Assert.Equal(structure, c.Structure);
            Assert.Equal(offset, c.Offset);
        }
    }
}
