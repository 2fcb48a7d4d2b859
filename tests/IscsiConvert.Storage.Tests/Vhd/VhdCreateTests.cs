using System;
using System.Buffers.Binary;
using System.IO;
using CsCheck;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>Images we create, checked with qemu-img (info, compare), qemu's own size rounding, and sleuthkit.</summary>
public sealed class VhdCreateTests
{
    private sealed class FixedClock : TimeProvider
    {
        private readonly DateTimeOffset _now;

        public FixedClock(DateTimeOffset now) => _now = now;

        public override DateTimeOffset GetUtcNow() => _now;
    }

    [Theory]
    [InlineData(4L * 1024 * 1024, false)]
    [InlineData(10_000_000L, false)]
    [InlineData(1L << 30, false)]
    [InlineData(127L << 30, false)]
    [InlineData(200L << 30, false)]
    [InlineData(4L * 1024 * 1024, true)]
    [InlineData(10_000_000L, true)]
    public void CreatedSizeEqualsQemuImgCreateAndQemuReadsIt(long requested, bool isFixed)
    {
        using var tmp = new TempDir();
        string ours = tmp.File("ours.vhd");
        string theirs = tmp.File("qemu.vhd");
        long capacity;
        using (VirtualDisk disk = DiskImage.Create(ours, new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = requested, Fixed = isFixed }))
        {
            capacity = disk.Capacity;
            Assert.Equal(isFixed ? "fixed" : "dynamic", disk.Subformat);
        }
        Assert.True(capacity >= requested);
        // qemu's default (CHS-based) rounding of the same request is the oracle for the geometry algorithm.
        if (isFixed)
        {
            VhdTestSupport.QemuCreate(theirs, requested, "subformat=fixed");
        }
        else
        {
            VhdTestSupport.QemuCreate(theirs, requested);
        }
        Assert.Equal(VhdTestSupport.QemuVirtualSize(theirs), capacity);
        Assert.Equal(capacity, VhdTestSupport.QemuVirtualSize(ours));
        using (VirtualDisk reopened = DiskImage.Open(ours))
        {
            Assert.Equal(capacity, reopened.Capacity);
        }
        if (requested <= 1L << 30)
        {
            QemuImg.AssertIdentical(ours, "vpc", theirs, "vpc"); // both empty
        }
    }

    [Fact]
    public void GeometryRoundingMatchesQemuForRandomSizes()
    {
        // qemu-img create -f vpc (default creator "qemu") rounds a size up to a whole CHS geometry by the spec's
        // algorithm; our rounding must agree for any whole number of sectors, small or beyond the CHS limit.
        using var tmp = new TempDir();
        int n = 0;
        Gen.OneOf(Gen.Long[1, 1L << 22], Gen.Long[1L << 22, 1L << 29]).Sample(sectors =>
        {
            string path = tmp.File($"g{n++}.vhd");
            VhdTestSupport.QemuCreate(path, sectors * 512);
            long qemu = VhdTestSupport.QemuVirtualSize(path);
            File.Delete(path);
            Assert.Equal(qemu, IscsiConvert.Storage.Vhd.VhdGeometry.ForNewDisk(sectors * 512).SizeBytes);
        }, iter: 40, threads: 1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ConvertingExt2GivesAnImageQemuFindsIdentical(bool isFixed)
    {
        string source = TestData.Require(VhdTestSupport.Ext2);
        using var tmp = new TempDir();
        string target = tmp.File("copy.vhd");
        using (VirtualDisk disk = DiskImage.Open(source))
        {
            DiskConverter.Convert(disk, target, new DiskCreateOptions { Format = DiskFormat.Vhd, Fixed = isFixed }, null, TestContext.Current.CancellationToken);
        }
        var info = VhdTestSupport.Info(target);
        Assert.Equal("vpc", info.GetProperty("format").GetString());
        Assert.Equal(VhdTestSupport.QemuVirtualSize(source), info.GetProperty("virtual-size").GetInt64());
        QemuImg.AssertIdentical(source, "vpc", target, "vpc");
        // libvhdi (through sleuthkit's img_cat) must read the same bytes.
        Assert.Equal(VhdTestSupport.QemuRaw(source, "vpc", tmp), ImgCat(target, tmp));
        using VirtualDisk reopened = DiskImage.Open(target);
        Assert.Equal(isFixed ? "fixed" : "dynamic", reopened.Subformat);
    }

    [Fact]
    public void FooterFieldsComeFromTheOptions()
    {
        using var tmp = new TempDir();
        string path = tmp.File("stamped.vhd");
        var when = new DateTimeOffset(2024, 2, 29, 12, 34, 56, TimeSpan.Zero);
        var id = new Guid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        using (DiskImage.Create(path, new DiskCreateOptions
        {
            Format = DiskFormat.Vhd,
            Capacity = 8L << 20,
            TimeProvider = new FixedClock(when),
            NewIdentifier = () => id,
            BlockSize = 512 * 1024,
        }))
        {
        }
        byte[] file = File.ReadAllBytes(path);
        foreach (int at in new[] { 0, file.Length - 512 })
        {
            ReadOnlySpan<byte> footer = file.AsSpan(at, 512);
            Assert.True(footer.Slice(0, 8).SequenceEqual("conectix"u8));
            Assert.Equal((uint)(when - new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero)).TotalSeconds, BinaryPrimitives.ReadUInt32BigEndian(footer.Slice(24)));
            Assert.True(footer.Slice(68, 16).SequenceEqual(id.ToByteArray(bigEndian: true)));
            Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(footer.Slice(60)));
            Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(footer.Slice(8)) & 2u);
            uint sum = 0;
            for (int i = 0; i < 512; i++)
            {
                sum += i is >= 64 and < 68 ? 0u : footer[i];
            }
            Assert.Equal(~sum, BinaryPrimitives.ReadUInt32BigEndian(footer.Slice(64)));
        }
        ReadOnlySpan<byte> header = file.AsSpan(512, 1024);
        Assert.True(header.Slice(0, 8).SequenceEqual("cxsparse"u8));
        Assert.Equal(512u * 1024, BinaryPrimitives.ReadUInt32BigEndian(header.Slice(32)));
        Assert.True(VhdTestSupport.QemuVirtualSize(path) >= 8L << 20);
    }

    [Fact]
    public void CreatingOverAnExistingFileFails()
    {
        using var tmp = new TempDir();
        string path = tmp.File("exists.vhd");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        Assert.ThrowsAny<IOException>(() => DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = 1 << 20 }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData(1000L)]
    [InlineData(3L << 20)]
    public void BadBlockSizesAreRefusedWithoutLeavingAFile(long blockSize)
    {
        using var tmp = new TempDir();
        string path = tmp.File("bad.vhd");
        Assert.Throws<ArgumentException>(() => DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = 1 << 20, BlockSize = blockSize }));
        Assert.False(File.Exists(path));
    }

    internal static byte[] ImgCat(string path, TempDir tmp)
    {
        string cat = Oracle.Require("img_cat");
        string output = tmp.File(Path.GetFileName(path) + ".imgcat");
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("\"$0\" -i vhd \"$1\" > \"$2\"");
        psi.ArgumentList.Add(cat);
        psi.ArgumentList.Add(path);
        psi.ArgumentList.Add(output);
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"img_cat failed: {err}");
        }
        byte[] bytes = File.ReadAllBytes(output);
        File.Delete(output);
        return bytes;
    }
}
