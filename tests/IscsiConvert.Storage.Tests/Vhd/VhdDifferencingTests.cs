using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>
/// Differencing disks we create over VHD parents. qemu cannot follow VHD parents (`qemu-img create -f vpc -b` says
/// "Backing file not supported for file format 'vpc'", and `qemu-img info` shows no backing file for the Windows-made
/// fat-differential.vhd), so the merged content is checked against a model built from qemu's reading of the base,
/// qemu's reading of the child's own layer, and a qemu comparison of the chain converted to a stand-alone image.
/// </summary>
public sealed class VhdDifferencingTests
{
    private const long BaseSize = 5L * 1024 * 1024;

    [Fact]
    public void ChildReadsThroughToTheBaseAndKeepsItsOwnWrites()
    {
        using var tmp = new TempDir();
        string basePath = MakeBase(tmp);
        string baseHash = VhdTestSupport.Sha256(basePath);
        byte[] model = VhdTestSupport.QemuRaw(basePath, "vpc", tmp);
        string childPath = tmp.File("child.vhd");
        var touched = new bool[model.Length / 512];
        using (VirtualDisk child = DiskImage.Create(childPath, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath, BlockSize = 512 * 1024 }))
        {
            Assert.Equal("differencing", child.Subformat);
            Assert.Equal(model.Length, child.Capacity);
            Assert.Equal(model, VhdTestSupport.ReadAll(child));
            Write(child, model, touched, 100, 50, 1);                       // partial sector over the base's data
            Write(child, model, touched, 512 * 1024 - 300, 1000, 2);                 // across a block boundary
            Write(child, model, touched, 3 * 1024 * 1024, 4096, 3);                  // where the base has no data
            Write(child, model, touched, 3 * 1024 * 1024 + 1000, 100, 4);   // into a sector the child holds
            Write(child, model, touched, 5000, 100, 6);                     // allocated block, sector still the parent's
            Write(child, model, touched, 200, 10, 5);                                // into a sector the child holds
            Assert.Equal(model, VhdTestSupport.ReadAll(child));
        }
        Assert.Equal(baseHash, VhdTestSupport.Sha256(basePath));

        var info = VhdTestSupport.Info(childPath);
        Assert.Equal("vpc", info.GetProperty("format").GetString());
        Assert.Equal(model.Length, info.GetProperty("virtual-size").GetInt64());

        // qemu reads the child's own layer (without the parent): touched sectors hold the merged data, the rest zeros.
        byte[] ownLayer = VhdTestSupport.QemuRaw(childPath, "vpc", tmp);
        for (int s = 0; s < touched.Length; s++)
        {
            ReadOnlySpan<byte> expected = touched[s] ? model.AsSpan(s * 512, 512) : new byte[512];
            Assert.True(expected.SequenceEqual(ownLayer.AsSpan(s * 512, 512)), $"qemu reads sector {s} of the child's own layer differently");
        }

        using (VirtualDisk reopened = DiskImage.Open(childPath))
        {
            Assert.Equal(Path.GetFullPath(basePath), reopened.Parent!.FilePath);
            Assert.Equal(model, VhdTestSupport.ReadAll(reopened));
            string flat = tmp.File("flat.vhd");
            DiskConverter.Convert(reopened, flat, new DiskCreateOptions { Format = DiskFormat.Vhd }, null, TestContext.Current.CancellationToken);
            string raw = tmp.File("model.raw");
            File.WriteAllBytes(raw, model);
            QemuImg.AssertIdentical(flat, "vpc", raw, "raw");
        }
    }

    [Fact]
    public void AChildOfAParentSizedByCurrentSizeHasTheParentsSize()
    {
        // force_size=on makes qemu write creator "qem2" and an exact size that no CHS geometry describes; the child
        // must still be as large as the parent in qemu's eyes, not the (smaller) size of the nearest geometry.
        using var tmp = new TempDir();
        string basePath = tmp.File("exact.vhd");
        VhdTestSupport.QemuCreate(basePath, 4194304, "force_size=on");
        long parentSize = VhdTestSupport.QemuVirtualSize(basePath);
        string childPath = tmp.File("child.vhd");
        using (VirtualDisk child = DiskImage.Create(childPath, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath }))
        {
            Assert.Equal(parentSize, child.Capacity);
        }
        Assert.Equal(parentSize, VhdTestSupport.QemuVirtualSize(childPath));
    }

    [Fact]
    public void LocatorsHoldAbsoluteAndRelativeUtf16Paths()
    {
        using var tmp = new TempDir();
        string basePath = MakeBase(tmp);
        string childPath = tmp.File("child.vhd");
        using (DiskImage.Create(childPath, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath }))
        {
        }
        // Parsed straight from the bytes with the spec's offsets: header at 512, locators at header + 576.
        byte[] file = File.ReadAllBytes(childPath);
        string absolute = null!, relative = null!;
        for (int i = 0; i < 8; i++)
        {
            ReadOnlySpan<byte> entry = file.AsSpan(512 + 576 + i * 24, 24);
            string code = Encoding.ASCII.GetString(entry.Slice(0, 4));
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(entry.Slice(8));
            long offset = (long)BinaryPrimitives.ReadUInt64BigEndian(entry.Slice(16));
            string text = length == 0 ? string.Empty : Encoding.Unicode.GetString(file, (int)offset, length);
            if (code == "W2ku")
            {
                absolute = text;
            }
            else if (code == "W2ru")
            {
                relative = text;
            }
        }
        Assert.Equal(Path.GetFullPath(basePath), absolute);
        Assert.Equal(@".\base.vhd", relative);
        string name = Encoding.BigEndianUnicode.GetString(file, 512 + 64, 512).TrimEnd('\0');
        Assert.Equal(Path.GetFullPath(basePath), name);
        // The parent's unique id (footer offset 68) is recorded at header offset 40.
        byte[] baseFile = File.ReadAllBytes(basePath);
        Assert.True(baseFile.AsSpan(baseFile.Length - 512 + 68, 16).SequenceEqual(file.AsSpan(512 + 40, 16)));
    }

    [Fact]
    public void ThePairStillOpensAfterMovingBothFiles()
    {
        using var tmp = new TempDir();
        string basePath = MakeBase(tmp);
        string childPath = tmp.File("child.vhd");
        using (VirtualDisk child = DiskImage.Create(childPath, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath }))
        {
            child.Content.WriteAt(0, new byte[] { 1, 2, 3 });
        }
        string moved = Path.Combine(tmp.Path, "moved");
        Directory.CreateDirectory(moved);
        File.Move(basePath, Path.Combine(moved, "base.vhd"));
        File.Move(childPath, Path.Combine(moved, "child.vhd"));
        using VirtualDisk reopened = DiskImage.Open(Path.Combine(moved, "child.vhd"));
        Assert.Equal(Path.Combine(moved, "base.vhd"), reopened.Parent!.FilePath);
        byte[] head = new byte[4];
        reopened.Content.ReadAt(0, head);
        Assert.Equal(new byte[] { 1, 2, 3, 0xab }, head);
    }

    [Fact]
    public void AThreeLevelChainReadsEveryLayer()
    {
        using var tmp = new TempDir();
        string basePath = MakeBase(tmp);
        byte[] model = VhdTestSupport.QemuRaw(basePath, "vpc", tmp);
        var touched = new bool[model.Length / 512];
        string mid = tmp.File("mid.vhd");
        string top = tmp.File("top.vhd");
        using (VirtualDisk d = DiskImage.Create(mid, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath }))
        {
            Write(d, model, touched, 4096, 70000, 7);
        }
        using (VirtualDisk d = DiskImage.Create(top, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = mid }))
        {
            Write(d, model, touched, 10000, 700, 8);
        }
        using VirtualDisk chain = DiskImage.Open(top);
        Assert.Equal(3, System.Linq.Enumerable.Count(chain.Chain));
        Assert.Equal(model, VhdTestSupport.ReadAll(chain));
    }

    [Fact]
    public void AReplacedParentIsRefused()
    {
        using var tmp = new TempDir();
        string basePath = MakeBase(tmp);
        string childPath = tmp.File("child.vhd");
        using (DiskImage.Create(childPath, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath }))
        {
        }
        File.Delete(basePath);
        VhdTestSupport.QemuCreate(basePath, BaseSize); // same name and size, new unique id
        string hash = VhdTestSupport.Sha256(childPath);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(childPath, DiskAccess.ReadWrite));
        Assert.Contains("unique id", ex.Message, StringComparison.Ordinal);
        Assert.Contains(childPath, ex.Message, StringComparison.Ordinal);
        Assert.Equal(hash, VhdTestSupport.Sha256(childPath));
    }

    [Fact]
    public void AMissingParentIsReportedWithThePathsTried()
    {
        using var tmp = new TempDir();
        string basePath = MakeBase(tmp);
        string childPath = tmp.File("child.vhd");
        using (DiskImage.Create(childPath, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath }))
        {
        }
        File.Delete(basePath);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(childPath));
        Assert.Contains(basePath, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALoopingChainIsRefused()
    {
        // b.vhd is made a differencing disk of a.vhd, and a.vhd a differencing disk of b.vhd (by replacing files).
        using var tmp = new TempDir();
        string a = tmp.File("a.vhd");
        string b = tmp.File("b.vhd");
        string c = tmp.File("c.vhd");
        VhdTestSupport.QemuCreate(b, BaseSize);
        using (DiskImage.Create(a, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = b }))
        {
        }
        using (DiskImage.Create(c, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = a }))
        {
        }
        File.Delete(b);
        File.Move(c, b); // b now names a.vhd as its parent, and a names b
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(a));
        Assert.Contains("loop", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TheParentMustBeAVhd()
    {
        using var tmp = new TempDir();
        string raw = tmp.File("base.raw");
        File.WriteAllBytes(raw, new byte[1 << 20]);
        string child = tmp.File("child.vhd");
        Assert.Throws<ArgumentException>(() => DiskImage.Create(child, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = raw }));
        Assert.False(File.Exists(child));
    }

    /// <summary>A dynamic base made by qemu-img and written by qemu-io (0xab over the first 1 MiB, 0xcd at 2 MiB).</summary>
    internal static string MakeBase(TempDir tmp)
    {
        string path = tmp.File("base.vhd");
        VhdTestSupport.QemuCreate(path, BaseSize);
        VhdTestSupport.QemuIoWrite(path, 0xab, 0, 1024 * 1024);
        VhdTestSupport.QemuIoWrite(path, 0xcd, 2 * 1024 * 1024, 64 * 1024);
        return path;
    }

    private static void Write(VirtualDisk disk, byte[] model, bool[] touched, long offset, int length, int seed)
    {
        byte[] data = new byte[length];
        VhdTestSupport.Fill(data, seed);
        disk.Content.WriteAt(offset, data);
        data.CopyTo(model, offset);
        for (long s = offset / 512; s <= (offset + length - 1) / 512; s++)
        {
            touched[s] = true;
        }
    }
}
