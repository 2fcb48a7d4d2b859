using System;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>Images we create and write, checked by qemu-img (check, info, compare against a raw model).</summary>
public sealed class VhdxCreateTests
{
    private const long MiB = 1 << 20;

    internal static DiskCreateOptions Options(long capacity, bool isFixed = false, int sector = 512, long blockSize = MiB) => new()
    {
        Format = DiskFormat.Vhdx,
        Capacity = capacity,
        Fixed = isFixed,
        LogicalSectorSize = sector,
        BlockSize = blockSize,
        NewIdentifier = IdentifierSource.Sequential(7),
    };

    /// <summary>Writes a few byte runs that cross block boundaries into both the disk and the model.</summary>
    internal static void WritePattern(SparseStream disk, byte[] model, int seed)
    {
        var rng = new System.Random(seed);
        long[] starts = { 0, MiB - 100, 3 * MiB + 12345, model.Length - 5000 };
        foreach (long start in starts)
        {
            byte[] data = new byte[Math.Min(5000 + rng.Next(200_000), model.Length - start)];
            rng.NextBytes(data);
            disk.WriteAt(start, data);
            data.CopyTo(model, start);
        }
    }

    [Theory]
    [InlineData(false, 512)]
    [InlineData(true, 512)]
    [InlineData(false, 4096)]
    public void CreatedImage_PassesQemuCheck_AndEqualsItsModel(bool isFixed, int sector)
    {
        using var tmp = new TempDir();
        string path = tmp.File("new.vhdx");
        long capacity = 5 * MiB + 3 * 4096;
        byte[] model = new byte[capacity];
        using (VirtualDisk disk = DiskImage.Create(path, Options(capacity, isFixed, sector)))
        {
            Assert.Equal(isFixed ? "fixed" : "dynamic", disk.Subformat);
            Assert.Equal(sector, disk.LogicalSectorSize);
            WritePattern(disk.Content, model, 1);
            Assert.Equal(model, VhdxTestSupport.ReadAll(disk.Content));
        }
        if (sector == 512)
        {
            QemuImg.Check(path, "vhdx");
            Assert.Equal(capacity, QemuImg.Info(path, "vhdx").GetProperty("virtual-size").GetInt64());
            QemuImg.AssertIdentical(path, "vhdx", VhdxTestSupport.WriteRaw(tmp, "model.raw", model), "raw");
        }
        else
        {
            // qemu's VHDX driver supports 512-byte logical sectors only ("Operation not supported"); libvhdi reads 4Kn.
            Assert.Contains("4096 bytes", Oracle.RunChecked("vhdiinfo", path), StringComparison.Ordinal);
            string raw = tmp.File("libvhdi.raw");
            VhdxTestSupport.LibvhdiToRaw(path, null, raw);
            Assert.Equal(model, File.ReadAllBytes(raw));
        }
        using (VirtualDisk again = DiskImage.Open(path))
        {
            Assert.Equal(model, VhdxTestSupport.ReadAll(again.Content));
        }
    }

    [Fact]
    public void Defaults_Are32MiBBlocks()
    {
        using var tmp = new TempDir();
        string path = tmp.File("default.vhdx");
        using (DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Vhdx, Capacity = 100 * MiB, NewIdentifier = IdentifierSource.Sequential(3) }))
        {
        }
        QemuImg.Check(path, "vhdx");
        Assert.Equal(32 * MiB, QemuImg.Info(path, "vhdx").GetProperty("cluster-size").GetInt64());
    }

    [Fact]
    public void ConvertingRawToVhdx_GivesAnImageQemuFindsIdentical()
    {
        using var tmp = new TempDir();
        byte[] model = new byte[9 * MiB];
        new System.Random(5).NextBytes(model.AsSpan(2 * (int)MiB, 300_000));
        string raw = VhdxTestSupport.WriteRaw(tmp, "src.raw", model);
        string vhdx = tmp.File("out.vhdx");
        using (VirtualDisk source = DiskImage.Open(raw))
        {
            DiskConverter.Convert(source, vhdx, Options(0), null, TestContext.Current.CancellationToken);
        }
        QemuImg.Check(vhdx, "vhdx");
        QemuImg.AssertIdentical(vhdx, "vhdx", raw, "raw");
    }
}
