using System;
using System.IO;
using CsCheck;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vmdk;

/// <summary>Random write workloads on a sparse VMDK and on a delta equal the same workload on a byte array; qemu agrees.</summary>
public sealed class VmdkPropertyTests
{
    private const long Size = (3L << 20) + (5 * 512); // not a whole number of grains
    private const int GrainBytes = 8192; // small grains: many allocations and many grain-boundary crossings

    private static readonly Gen<(int Offset, int Length, byte Fill)[]> Workload =
        Gen.Select(Gen.Int[0, (int)Size - 1], Gen.Int[1, 70_000], Gen.Byte).Array[1, 14];

    [Fact]
    public void MonolithicSparseEqualsAByteArray()
    {
        Oracle.Require("qemu-img");
        Workload.Sample(ops => Run(ops, withParent: false), iter: 20, threads: 1);
    }

    [Fact]
    public void DeltaEqualsAByteArray()
    {
        Oracle.Require("qemu-img");
        Workload.Sample(ops => Run(ops, withParent: true), iter: 15, threads: 1);
    }

    private static void Run((int Offset, int Length, byte Fill)[] ops, bool withParent)
    {
        using var tmp = new TempDir();
        byte[] model = new byte[Size];
        string image = tmp.File("disk.vmdk");
        if (withParent)
        {
            string baseImage = tmp.File("base.vmdk");
            using (VirtualDisk b = DiskImage.Create(baseImage, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = Size, BlockSize = GrainBytes }))
            {
                var rng = new Random(ops.Length);
                byte[] chunk = new byte[40_000];
                rng.NextBytes(chunk);
                b.Content.WriteAt(10_000, chunk);
                b.Content.WriteAt(Size - chunk.Length, chunk);
                chunk.CopyTo(model, 10_000);
                chunk.CopyTo(model, Size - chunk.Length);
            }
            DiskImage.Create(image, new DiskCreateOptions { Format = DiskFormat.Vmdk, ParentPath = baseImage, BlockSize = GrainBytes }).Dispose();
        }
        else
        {
            DiskImage.Create(image, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = Size, BlockSize = GrainBytes }).Dispose();
        }
        using (VirtualDisk disk = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            foreach ((int offset, int length, byte fill) in ops)
            {
                int n = (int)Math.Min(length, Size - offset);
                byte[] data = new byte[n];
                for (int i = 0; i < n; i++)
                {
                    data[i] = (byte)(fill + i);
                }
                disk.Content.WriteAt(offset, data);
                data.CopyTo(model, offset);
            }
            byte[] actual = new byte[Size];
            Assert.Equal((int)Size, disk.Content.ReadAt(0, actual));
            int same = actual.AsSpan().CommonPrefixLength(model);
            Assert.True(same == model.Length, $"differs from the model at 0x{same:X}");
        }
        string raw = tmp.File("model.raw");
        File.WriteAllBytes(raw, model);
        QemuImg.Check(image, "vmdk");
        QemuImg.AssertIdentical(image, "vmdk", raw, "raw");
    }
}
