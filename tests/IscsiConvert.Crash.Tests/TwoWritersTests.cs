using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>Opening for writing an image that another writer holds is refused, clearly, for every container.</summary>
public sealed class TwoWritersTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    public static TheoryData<string> Formats => new() { "raw", "vpc", "vhdx", "vmdk", "qcow2" };

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_second_writer_is_refused_as_image_in_use(string format)
    {
        string image = _tmp.File("disk." + format);
        Oracle.RunChecked("qemu-img", "create", "-f", format, image, "4M");
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        using (VirtualDisk first = DiskImage.Open(image, DiskAccess.ReadWrite))
        {
            var ex = Assert.Throws<UnsafeToWriteException>(() => DiskImage.Open(image, DiskAccess.ReadWrite));
            Assert.Contains("in use", ex.Message, StringComparison.Ordinal);
            Assert.Equal(image, ex.FilePath);
        }
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
    }
}
