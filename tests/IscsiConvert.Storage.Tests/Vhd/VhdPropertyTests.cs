using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CsCheck;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>
/// Random write workloads (random offsets and sizes, overlapping, across block boundaries) against dynamic and
/// differencing VHDs must give the same bytes as the same workload on a byte array; qemu-img then compares the image
/// (or, for differencing disks which qemu cannot chain, the child's own layer) with that array.
/// </summary>
public sealed class VhdPropertyTests
{
    private const long BlockSize = 64 * 1024;
    private const long Requested = 1536 * 1024 + 7 * 512;

    private static readonly Gen<(long Offset, int Length, int Seed)[]> Workload =
        Gen.Select(Gen.Long[0, Requested - 1], Gen.Int[1, 200 * 1024], Gen.Int)
            .Array[1, 12];

    [Fact]
    public void DynamicDiskMatchesAByteArray()
    {
        Oracle.Require("qemu-img");
        Workload.Sample(ops =>
        {
            using var tmp = new TempDir();
            string path = tmp.File("p.vhd");
            byte[] model;
            using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = Requested, BlockSize = BlockSize }))
            {
                model = new byte[disk.Capacity];
                Apply(disk, model, ops, null);
                Assert.True(model.AsSpan().SequenceEqual(VhdTestSupport.ReadAll(disk)), "read-back after writing differs from the model");
            }
            using (VirtualDisk reopened = DiskImage.Open(path))
            {
                Assert.True(model.AsSpan().SequenceEqual(VhdTestSupport.ReadAll(reopened)), "read-back after reopening differs from the model");
                AssertExtentsCover(reopened, model);
            }
            string raw = tmp.File("model.raw");
            File.WriteAllBytes(raw, model);
            QemuImg.AssertIdentical(path, "vpc", raw, "raw");
        }, iter: 25, threads: 1, print: Print);
    }

    [Fact]
    public void DifferencingDiskMatchesAByteArray()
    {
        Oracle.Require("qemu-img");
        Oracle.Require("qemu-io");
        Workload.Sample(ops =>
        {
            using var tmp = new TempDir();
            string basePath = tmp.File("base.vhd");
            VhdTestSupport.QemuCreate(basePath, Requested);
            VhdTestSupport.QemuIoWrite(basePath, 0x3c, 32 * 1024, 700 * 1024);
            byte[] model = VhdTestSupport.QemuRaw(basePath, "vpc", tmp);
            var touched = new bool[model.Length / 512];
            string path = tmp.File("child.vhd");
            using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vhd, ParentPath = basePath, BlockSize = BlockSize }))
            {
                Assert.Equal(model.Length, disk.Capacity);
                Apply(disk, model, ops, touched);
                Assert.True(model.AsSpan().SequenceEqual(VhdTestSupport.ReadAll(disk)), "read-back after writing differs from the model");
            }
            using (VirtualDisk reopened = DiskImage.Open(path))
            {
                Assert.True(model.AsSpan().SequenceEqual(VhdTestSupport.ReadAll(reopened)), "read-back after reopening differs from the model");
                AssertExtentsCover(reopened, model);
            }
            // qemu reads the child alone: every sector a write touched holds the merged bytes, all others zeros.
            byte[] own = (byte[])model.Clone();
            for (int s = 0; s < touched.Length; s++)
            {
                if (!touched[s])
                {
                    Array.Clear(own, s * 512, 512);
                }
            }
            string raw = tmp.File("own.raw");
            File.WriteAllBytes(raw, own);
            QemuImg.AssertIdentical(path, "vpc", raw, "raw");
        }, iter: 20, threads: 1, print: Print);
    }

    private static void Apply(VirtualDisk disk, byte[] model, (long Offset, int Length, int Seed)[] ops, bool[]? touched)
    {
        foreach ((long offset, int requestedLength, int seed) in ops)
        {
            int length = (int)Math.Min(requestedLength, model.Length - offset);
            byte[] data = new byte[length];
            VhdTestSupport.Fill(data, seed);
            disk.Content.WriteAt(offset, data);
            data.CopyTo(model, offset);
            if (touched is not null)
            {
                for (long s = offset / 512; s <= (offset + length - 1) / 512; s++)
                {
                    touched[s] = true;
                }
            }
        }
    }

    /// <summary>Every non-zero byte must lie inside an extent, or copying would lose it.</summary>
    private static void AssertExtentsCover(VirtualDisk disk, byte[] model)
    {
        List<StreamExtent> extents = disk.Content.GetExtents().ToList();
        long previousEnd = -1;
        int next = 0;
        for (int i = 0; i < model.Length; i++)
        {
            if (model[i] == 0)
            {
                continue;
            }
            while (next < extents.Count && extents[next].End <= i)
            {
                next++;
            }
            Assert.True(next < extents.Count && extents[next].Start <= i, $"non-zero byte {i} lies outside every extent");
        }
        foreach (StreamExtent e in extents)
        {
            Assert.True(e.Start > previousEnd, "extents must be ascending and disjoint");
            previousEnd = e.End;
        }
    }

    private static string Print((long Offset, int Length, int Seed)[] ops) =>
        string.Join("; ", ops.Select(o => FormattableString.Invariant($"write {o.Length} at {o.Offset} (seed {o.Seed})")));
}
