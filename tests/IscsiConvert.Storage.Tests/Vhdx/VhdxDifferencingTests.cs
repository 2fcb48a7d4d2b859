using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>
/// Differencing VHDX. qemu (7.2) does not open differencing VHDX at all, so the independent reader here is libvhdi
/// (python3-libvhdi / libvhdi-utils), which follows the parent locator and sector bitmaps itself.
/// </summary>
public sealed class VhdxDifferencingTests
{
    private const long MiB = 1 << 20;
    private const long Capacity = 6 * MiB;

    /// <summary>Makes base.vhdx with data and child.vhdx over it; returns the model of the child's content.</summary>
    internal static byte[] MakeChain(string basePath, string childPath, string? parentPathAsGiven = null)
    {
        byte[] model = new byte[Capacity];
        using (VirtualDisk b = DiskImage.Create(basePath, VhdxCreateTests.Options(Capacity)))
        {
            VhdxCreateTests.WritePattern(b.Content, model, 11);
        }
        DiskCreateOptions o = VhdxCreateTests.Options(0);
        o.ParentPath = parentPathAsGiven ?? basePath;
        using (VirtualDisk c = DiskImage.Create(childPath, o))
        {
            Assert.Equal("differencing", c.Subformat);
            Assert.Equal(Capacity, c.Capacity);
            // Unaligned writes inside partly present blocks, one whole block, and a run across a block boundary.
            (long At, int Length)[] writes = { (1000, 3000), (2 * MiB - 10, 20), (5 * MiB, (int)MiB), (MiB - 700, 1500), (3 * MiB + 12345 + 77, 9) };
            var rng = new System.Random(12);
            foreach ((long at, int length) in writes)
            {
                byte[] data = new byte[length];
                rng.NextBytes(data);
                c.Content.WriteAt(at, data);
                data.CopyTo(model, at);
            }
            Assert.Equal(model, VhdxTestSupport.ReadAll(c.Content));
        }
        return model;
    }

    [Fact]
    public void Child_ReadsAsItsModel_ThroughUsAndThroughLibvhdi()
    {
        using var tmp = new TempDir();
        string basePath = tmp.File("base.vhdx");
        string childPath = tmp.File("child.vhdx");
        byte[] model = MakeChain(basePath, childPath);
        using (VirtualDisk child = DiskImage.Open(childPath))
        {
            Assert.Equal(2, child.Chain.Count());
            Assert.Equal(basePath, child.Parent!.FilePath);
            Assert.Equal(model, VhdxTestSupport.ReadAll(child.Content));
            // Every non-zero byte lies in a reported extent (extents = own sectors ∪ parent's extents).
            var extents = child.Content.GetExtents().ToList();
            for (int i = 0; i < model.Length; i += 512)
            {
                if (model.AsSpan(i, 512).IndexOfAnyExcept((byte)0) >= 0)
                {
                    Assert.Contains(extents, e => e.Start <= i && i + 512 <= e.End);
                }
            }
        }
        string raw = tmp.File("libvhdi.raw");
        string reported = VhdxTestSupport.LibvhdiToRaw(childPath, basePath, raw);
        Assert.Contains("base.vhdx", reported, StringComparison.Ordinal);
        Assert.Equal(model, File.ReadAllBytes(raw));
        // libvhdi's view of the locator: the parent file, and parent_linkage = the base's DataWriteGuid as read from
        // the base's current header here (bytes 32..47 of the header with the higher sequence number).
        string info = Oracle.RunChecked("vhdiinfo", childPath);
        Assert.Contains("Parent filename\t\t: " + basePath, info, StringComparison.Ordinal);
        Assert.Contains("Parent identifier\t: " + CurrentDataWriteGuid(basePath).ToString("D"), info, StringComparison.Ordinal);
        // qemu-img checks the base we wrote; it cannot open the child (qemu 7.2 has no differencing VHDX support).
        QemuImg.Check(basePath, "vhdx");
        Assert.NotEqual(0, Oracle.Run("qemu-img", "info", "-f", "vhdx", childPath).ExitCode);
    }

    private static Guid CurrentDataWriteGuid(string path)
    {
        byte[] h1 = VhdxTestSupport.ReadBytes(path, 0x10000, 64);
        byte[] h2 = VhdxTestSupport.ReadBytes(path, 0x20000, 64);
        byte[] current = BitConverter.ToUInt64(h1, 8) > BitConverter.ToUInt64(h2, 8) ? h1 : h2;
        return new Guid(current.AsSpan(32, 16));
    }

    [Fact]
    public void RelativePath_IsUsedWhenThePairMoves_AbsolutePathWhenOnlyTheChildMoves()
    {
        using var tmp = new TempDir();
        string dirA = Directory.CreateDirectory(tmp.File("a")).FullName;
        string basePath = Path.Combine(dirA, "base", "base.vhdx");
        Directory.CreateDirectory(Path.GetDirectoryName(basePath)!);
        string childPath = Path.Combine(dirA, "child.vhdx");
        byte[] model = MakeChain(basePath, childPath);

        // Move the whole folder: the absolute path is stale, the relative one still leads to the parent.
        string dirB = tmp.File("b");
        Directory.Move(dirA, dirB);
        string movedChild = Path.Combine(dirB, "child.vhdx");
        using (VirtualDisk child = DiskImage.Open(movedChild))
        {
            Assert.Equal(Path.Combine(dirB, "base", "base.vhdx"), child.Parent!.FilePath);
            Assert.Equal(model, VhdxTestSupport.ReadAll(child.Content));
        }

        // Move it back, then move only the child: now the relative path misses and the absolute one is used.
        Directory.Move(dirB, dirA);
        string elsewhere = Directory.CreateDirectory(tmp.File("elsewhere")).FullName;
        string lonelyChild = Path.Combine(elsewhere, "child.vhdx");
        File.Move(childPath, lonelyChild);
        using (VirtualDisk child = DiskImage.Open(lonelyChild))
        {
            Assert.Equal(basePath, child.Parent!.FilePath);
            Assert.Equal(model, VhdxTestSupport.ReadAll(child.Content));
        }
    }

    [Fact]
    public void Child_Of4KnBase_ReadsAsItsModel_ThroughLibvhdi()
    {
        using var tmp = new TempDir();
        string basePath = tmp.File("base4k.vhdx");
        string childPath = tmp.File("child4k.vhdx");
        byte[] model = new byte[Capacity];
        using (VirtualDisk b = DiskImage.Create(basePath, VhdxCreateTests.Options(Capacity, sector: 4096)))
        {
            VhdxCreateTests.WritePattern(b.Content, model, 31);
        }
        DiskCreateOptions o = VhdxCreateTests.Options(0);
        o.ParentPath = basePath;
        using (VirtualDisk c = DiskImage.Create(childPath, o))
        {
            Assert.Equal(4096, c.LogicalSectorSize);
            var rng = new System.Random(32);
            foreach ((long at, int length) in new (long, int)[] { (5, 10), (MiB - 4000, 9000), (4 * MiB + 4096, 4096), (Capacity - 3, 3) })
            {
                byte[] data = new byte[length];
                rng.NextBytes(data);
                c.Content.WriteAt(at, data);
                data.CopyTo(model, at);
            }
        }
        using (VirtualDisk c = DiskImage.Open(childPath))
        {
            Assert.Equal(model, VhdxTestSupport.ReadAll(c.Content));
        }
        string raw = tmp.File("libvhdi.raw");
        VhdxTestSupport.LibvhdiToRaw(childPath, basePath, raw);
        Assert.Equal(model, File.ReadAllBytes(raw));
    }

    [Fact]
    public void MissingParent_Throws_ParentChainException()
    {
        using var tmp = new TempDir();
        string basePath = tmp.File("base.vhdx");
        string childPath = tmp.File("child.vhdx");
        MakeChain(basePath, childPath);
        File.Delete(basePath);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(childPath));
        Assert.Contains("base.vhdx", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModifiedParent_FailsTheLinkageCheck()
    {
        using var tmp = new TempDir();
        string basePath = tmp.File("base.vhdx");
        string childPath = tmp.File("child.vhdx");
        MakeChain(basePath, childPath);
        using (VirtualDisk b = DiskImage.Open(basePath, DiskAccess.ReadWrite))
        {
            b.Content.WriteAt(0, new byte[] { 1, 2, 3 });
        }
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(childPath));
        Assert.Contains("parent_linkage", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoopingParentChain_Throws_ParentChainException()
    {
        using var tmp = new TempDir();
        string basePath = tmp.File("b1.vhdx");
        string childPath = tmp.File("c1.vhdx");
        MakeChain(basePath, childPath);
        // Point the child's locator paths at the child itself (same length, so only the bytes change).
        byte[] file = File.ReadAllBytes(childPath);
        byte[] from = Encoding.Unicode.GetBytes("b1.vhdx");
        byte[] to = Encoding.Unicode.GetBytes("c1.vhdx");
        int replaced = 0;
        for (int i = 0; i + from.Length <= file.Length; i++)
        {
            if (file.AsSpan(i, from.Length).SequenceEqual(from))
            {
                to.CopyTo(file, i);
                replaced++;
            }
        }
        Assert.Equal(2, replaced);
        File.WriteAllBytes(childPath, file);
        var ex = Assert.Throws<ParentChainException>(() => DiskImage.Open(childPath));
        Assert.Contains("loops", ex.Message, StringComparison.Ordinal);
    }
}
