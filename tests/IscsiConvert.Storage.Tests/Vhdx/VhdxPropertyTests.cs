using System;
using System.IO;
using CsCheck;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>Random write workloads equal the same workload on a byte array, and the result satisfies the oracles.</summary>
public sealed class VhdxPropertyTests
{
    private const long MiB = 1 << 20;
    private const long Capacity = 6 * MiB + 1536;

    private static readonly Gen<(int Offset, int Length, byte Fill)[]> Workloads =
        Gen.Select(Gen.Int[0, (int)Capacity - 1], Gen.Int[1, 400_000], Gen.Byte).Array[1, 10];

    private static void Apply(SparseStream disk, byte[] model, (int Offset, int Length, byte Fill)[] ops)
    {
        foreach ((int offset, int length, byte fill) in ops)
        {
            int n = (int)Math.Min(length, model.Length - offset);
            byte[] data = new byte[n];
            if (fill != 0)
            {
                for (int i = 0; i < n; i++)
                {
                    data[i] = (byte)(fill + i * 7);
                }
            }
            disk.WriteAt(offset, data);
            data.CopyTo(model, offset);
        }
    }

    [Fact]
    public void DynamicDisk_RandomWrites_MatchAByteArray_AndQemuAgrees()
    {
        Oracle.Require("qemu-img");
        Workloads.Sample(ops =>
        {
            using var tmp = new TempDir();
            string path = tmp.File("p.vhdx");
            byte[] model = new byte[Capacity];
            using (VirtualDisk disk = DiskImage.Create(path, VhdxCreateTests.Options(Capacity)))
            {
                Apply(disk.Content, model, ops);
                Assert.Equal(model, VhdxTestSupport.ReadAll(disk.Content));
            }
            using (VirtualDisk disk = DiskImage.Open(path, DiskAccess.ReadWrite))
            {
                Apply(disk.Content, model, ops.AsSpan(0, ops.Length / 2).ToArray()); // a second session over allocated blocks
            }
            QemuImg.Check(path, "vhdx");
            QemuImg.AssertIdentical(path, "vhdx", VhdxTestSupport.WriteRaw(tmp, "model.raw", model), "raw");
        }, iter: 8, threads: 1);
    }

    [Fact]
    public void DifferencingDisk_RandomWrites_MatchAByteArray_AndLibvhdiAgrees()
    {
        Oracle.Require("vhdiinfo");
        Workloads.Sample(ops =>
        {
            using var tmp = new TempDir();
            string basePath = tmp.File("base.vhdx");
            string childPath = tmp.File("child.vhdx");
            byte[] model = new byte[Capacity];
            using (VirtualDisk b = DiskImage.Create(basePath, VhdxCreateTests.Options(Capacity)))
            {
                VhdxCreateTests.WritePattern(b.Content, model, 21);
            }
            DiskCreateOptions o = VhdxCreateTests.Options(0);
            o.ParentPath = basePath;
            using (VirtualDisk child = DiskImage.Create(childPath, o))
            {
                // A first small write makes the sector bitmap block exist: libvhdi 20210425 misreads chunks without one.
                Apply(child.Content, model, new[] { (4097, 3, (byte)0x44) });
                Apply(child.Content, model, ops);
                Assert.Equal(model, VhdxTestSupport.ReadAll(child.Content));
            }
            string raw = tmp.File("libvhdi.raw");
            VhdxTestSupport.LibvhdiToRaw(childPath, basePath, raw);
            Assert.Equal(model, File.ReadAllBytes(raw));
        }, iter: 8, threads: 1);
    }
}
