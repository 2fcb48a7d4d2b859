using System;
using System.IO;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>Images that qemu-img creates and qemu-io writes must read back through our code exactly as qemu reads them,
/// and our writes into them must be what qemu then reads.</summary>
public sealed class VhdQemuImageTests
{
    private const long Size = 6L * 1024 * 1024 + 12345;

    [Theory]
    [InlineData("dynamic", false)]
    [InlineData("dynamic", true)]
    [InlineData("fixed", false)]
    [InlineData("fixed", true)]
    public void QemuWrittenImagesReadIdentically(string subformat, bool forceSize)
    {
        using var tmp = new TempDir();
        string path = tmp.File("qemu.vhd");
        CreateWithQemu(path, subformat, forceSize);
        VhdTestSupport.QemuIoWrite(path, 0xab, 0, 64 * 1024);
        VhdTestSupport.QemuIoWrite(path, 0xcd, 2 * 1024 * 1024 - 4096, 8192); // across a 2 MiB block boundary
        VhdTestSupport.QemuIoWrite(path, 0xef, 5 * 1024 * 1024 + 512, 1024);
        byte[] expected = VhdTestSupport.QemuRaw(path, "vpc", tmp);
        string before = VhdTestSupport.Sha256(path);
        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Equal(VhdTestSupport.QemuVirtualSize(path), disk.Capacity);
            Assert.Equal(subformat, disk.Subformat);
            Assert.Equal(expected, VhdTestSupport.ReadAll(disk));
        }
        Assert.Equal(before, VhdTestSupport.Sha256(path));
    }

    [Theory]
    [InlineData("dynamic", false)]
    [InlineData("dynamic", true)]
    [InlineData("fixed", false)]
    public void OurWritesIntoQemuImagesAreWhatQemuReads(string subformat, bool forceSize)
    {
        using var tmp = new TempDir();
        string path = tmp.File("qemu.vhd");
        CreateWithQemu(path, subformat, forceSize);
        VhdTestSupport.QemuIoWrite(path, 0x11, 1024 * 1024, 4096);
        byte[] model = VhdTestSupport.QemuRaw(path, "vpc", tmp);
        using (VirtualDisk disk = DiskImage.Open(path, DiskAccess.ReadWrite))
        {
            Write(disk, model, 0, 100, 1);                              // partial sector at the start
            Write(disk, model, 1024 * 1024 + 2048, 10000, 2);           // over qemu's data, into new space
            Write(disk, model, 2 * 1024 * 1024 - 700, 3000, 3);         // across a block boundary, new block
            Write(disk, model, model.Length - 513, 513, 4);             // the last bytes of the disk
            disk.Flush();
        }
        string raw = tmp.File("model.raw");
        File.WriteAllBytes(raw, model);
        QemuImg.AssertIdentical(path, "vpc", raw, "raw");
        using VirtualDisk reopened = DiskImage.Open(path);
        Assert.Equal(model, VhdTestSupport.ReadAll(reopened));
    }

    private static void Write(VirtualDisk disk, byte[] model, long offset, int length, int seed)
    {
        byte[] data = new byte[length];
        VhdTestSupport.Fill(data, seed);
        disk.Content.WriteAt(offset, data);
        data.CopyTo(model, offset);
    }

    private static void CreateWithQemu(string path, string subformat, bool forceSize)
    {
        if (forceSize)
        {
            VhdTestSupport.QemuCreate(path, Size, "subformat=" + subformat, "force_size=on");
        }
        else
        {
            VhdTestSupport.QemuCreate(path, Size, "subformat=" + subformat);
        }
    }
}
