using System;
using System.IO;
using System.Linq;
using IscsiConvert.Storage.Vhd;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>The VHDs of the shared corpus, checked against qemu-img, sleuthkit (libvhdi) and the manifest's facts.</summary>
public sealed class VhdTestDataTests
{
    [Fact]
    public void Ext2_SizeAndFormatMatchQemuImgInfo()
    {
        string path = TestData.Require(VhdTestSupport.Ext2);
        var info = QemuImg.Info(path);
        Assert.Equal("vpc", info.GetProperty("format").GetString());
        Assert.Equal(DiskFormat.Vhd, DiskImage.Detect(path));
        using VirtualDisk disk = DiskImage.Open(path);
        Assert.Equal(DiskFormat.Vhd, disk.Format);
        Assert.Equal("dynamic", disk.Subformat);
        Assert.Equal(info.GetProperty("virtual-size").GetInt64(), disk.Capacity);
        Assert.Null(disk.Parent);
    }

    [Fact]
    public void Ext2_ContentEqualsQemuImgConvert()
    {
        string path = TestData.Require(VhdTestSupport.Ext2);
        using var tmp = new TempDir();
        byte[] expected = VhdTestSupport.QemuRaw(path, "vpc", tmp);
        using VirtualDisk disk = DiskImage.Open(path);
        Assert.Equal(expected, VhdTestSupport.ReadAll(disk));
    }

    [Fact]
    public void Ext2_ConvertToRawThroughDiskConverterEqualsQemu()
    {
        string path = TestData.Require(VhdTestSupport.Ext2);
        using var tmp = new TempDir();
        string ours = tmp.File("ours.raw");
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            DiskConverter.Convert(disk, ours, new DiskCreateOptions { Format = DiskFormat.Raw }, null, TestContext.Current.CancellationToken);
        }
        string theirs = tmp.File("qemu.raw");
        QemuImg.ConvertToRaw(path, "vpc", theirs);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public void Ext2_ContentEqualsSleuthkitImgCat()
    {
        // A second, independent reader: sleuthkit's img_cat reads VHDs through libvhdi.
        string path = TestData.Require(VhdTestSupport.Ext2);
        using var tmp = new TempDir();
        byte[] expected = VhdCreateTests.ImgCat(path, tmp);
        using VirtualDisk disk = DiskImage.Open(path);
        Assert.Equal(expected, VhdTestSupport.ReadAll(disk));
    }

    [Fact]
    public void Ext2_ExtentsCoverEveryNonZeroByte()
    {
        string path = TestData.Require(VhdTestSupport.Ext2);
        using var tmp = new TempDir();
        byte[] expected = VhdTestSupport.QemuRaw(path, "vpc", tmp);
        using VirtualDisk disk = DiskImage.Open(path);
        var extents = disk.Content.GetExtents().ToList();
        bool[] covered = new bool[expected.Length];
        foreach (StreamExtent e in extents)
        {
            for (long i = e.Start; i < e.End; i++)
            {
                covered[i] = true;
            }
        }
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i] == 0 || covered[i], $"byte {i} is not zero but lies outside every extent");
        }
        Assert.True(ExtentMath.Sum(extents) < disk.Capacity, "an image with unallocated blocks must report a hole");
    }

    [Fact]
    public void Ext2_ReadOnlyOpenChangesNothing()
    {
        string path = TestData.Require(VhdTestSupport.Ext2);
        string before = VhdTestSupport.Sha256(path);
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            VhdTestSupport.ReadAll(disk);
            disk.Flush();
        }
        Assert.Equal(before, VhdTestSupport.Sha256(path));
    }

    [Fact]
    public void FatDifferential_MetadataParsesToTheManifestFacts()
    {
        // MANIFEST: differencing (type 4) by Windows diskpart, creator "win " 10.0, block size 2 MiB, BAT at 8192,
        // parent locators and unicode parent name C:\Projects\dfvfs\test_data\fat-parent.vhd; qemu: 4194304 bytes.
        const string parent = @"C:\Projects\dfvfs\test_data\fat-parent.vhd";
        string path = TestData.Require(VhdTestSupport.FatDifferential);
        using FileStream file = File.OpenRead(path);
        VhdMetadata meta = VhdMetadata.Read(file, path);
        Assert.Equal(VhdDiskType.Differencing, meta.DiskType);
        Assert.Equal("win ", meta.Footer.CreatorApplicationText);
        Assert.Equal(0x000A0000u, meta.Footer.CreatorVersion);
        Assert.Equal(VhdTestSupport.QemuVirtualSize(path), meta.VirtualSize);
        Assert.False(meta.FooterFromCopy);
        Assert.NotNull(meta.Header);
        Assert.Equal(2u * 1024 * 1024, meta.Header!.BlockSize);
        Assert.Equal(8192ul, meta.Header.TableOffset);
        Assert.Equal(parent, meta.Header.ParentName);
        Assert.Contains(meta.LocatorPaths, p => p.Key == VhdParentLocator.W2ku && p.Value == parent);
        // The relative locator names the same file (".\fat-parent.vhd" in the file's bytes, per xxd).
        Assert.Contains(meta.LocatorPaths, p => p.Key == VhdParentLocator.W2ru && p.Value == @".\fat-parent.vhd");
    }

    [Fact]
    public void FatDifferential_MissingParentGivesParentChainExceptionNamingTriedPaths()
    {
        string path = TestData.Require(VhdTestSupport.FatDifferential);
        string before = VhdTestSupport.Sha256(path);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(path));
        string expectedTry = Path.Combine(Path.GetDirectoryName(path)!, "fat-parent.vhd");
        Assert.Contains(expectedTry, ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, VhdTestSupport.Sha256(path));
    }

    [Fact]
    public void FatDifferential_ReadsThroughAParentWithTheExpectedUniqueId()
    {
        // The real parent is not in the corpus. Give the copy a stand-in parent made by qemu-img, written by qemu-io,
        // with its unique id set to the one the child's header names; sectors the child does not hold must then
        // read from the parent, and the child's own sectors must equal what qemu reads from the child alone.
        string source = TestData.Require(VhdTestSupport.FatDifferential);
        using var tmp = new TempDir();
        string child = tmp.File("fat-differential.vhd");
        File.Copy(source, child);
        string parentPath = tmp.File("fat-parent.vhd");
        VhdTestSupport.QemuCreate(parentPath, 4194304, "force_size=on");
        VhdTestSupport.QemuIoWrite(parentPath, 0x5a, 0, 4194304);
        byte[] parentBytes = File.ReadAllBytes(parentPath);
        byte[] childBytes = File.ReadAllBytes(child);
        // Parent unique id field: footer offset 68 (both copies); child header parent id: header (512) + 40.
        byte[] id = childBytes.AsSpan(512 + 40, 16).ToArray();
        foreach (long footer in new[] { 0L, parentBytes.Length - 512L })
        {
            id.CopyTo(parentBytes.AsSpan((int)footer + 68));
            VhdTestSupport.FixChecksum(parentBytes, footer, 512, 64);
        }
        File.WriteAllBytes(parentPath, parentBytes);

        byte[] ownLayer = VhdTestSupport.QemuRaw(child, "vpc", tmp); // qemu ignores the parent: holes read as zeros
        using VirtualDisk disk = DiskImage.Open(child);
        Assert.Equal("differencing", disk.Subformat);
        Assert.NotNull(disk.Parent);
        Assert.Equal(Path.GetFullPath(parentPath), disk.Parent!.FilePath);
        byte[] merged = VhdTestSupport.ReadAll(disk);
        var own = disk.Content.GetExtents().ToList();
        Assert.Equal(new StreamExtent(0, disk.Capacity), Assert.Single(own)); // the parent is fully allocated
        using FileStream f = File.OpenRead(child);
        VhdMetadata meta = VhdMetadata.Read(f, child);
        long ownSectors = 0;
        for (int s = 0; s < merged.Length / 512; s++)
        {
            bool mine = IsOwnSector(childBytes, meta, s);
            ownSectors += mine ? 1 : 0;
            byte[] expected = mine ? ownLayer.AsSpan(s * 512, 512).ToArray() : Enumerable.Repeat((byte)0x5a, 512).ToArray();
            Assert.True(expected.AsSpan().SequenceEqual(merged.AsSpan(s * 512, 512)), $"sector {s} differs");
        }
        Assert.True(ownSectors > 0, "the Windows-made child holds sectors of its own");
    }

    /// <summary>Reads the child's sector bitmap straight from the file bytes (offsets from the spec).</summary>
    private static bool IsOwnSector(byte[] file, VhdMetadata meta, int sector)
    {
        int perBlock = (int)(meta.Header!.BlockSize / 512);
        int block = sector / perBlock;
        uint entry = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan((int)meta.Header.TableOffset + block * 4));
        if (entry == 0xFFFFFFFF)
        {
            return false;
        }
        int inBlock = sector % perBlock;
        return (file[entry * 512L + inBlock / 8] & (0x80 >> (inBlock % 8))) != 0;
    }
}
