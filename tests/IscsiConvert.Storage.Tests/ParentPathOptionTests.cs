using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests;

/// <summary>
/// <see cref="DiskOpenOptions.ParentPath"/> names the moved parent of a differencing image. For an image that qemu-img
/// made without a parent it would do nothing, so the open fails (ArgumentException on the options) instead of ignoring
/// it, read-only or read-write, and the file is left as it was; a child still opens through the parent named.
/// </summary>
public sealed class ParentPathOptionTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Theory]
    [InlineData("raw")]
    [InlineData("vpc")]
    [InlineData("vhdx")]
    [InlineData("vmdk")]
    [InlineData("qcow2")]
    public void A_parent_named_for_an_image_without_one_is_refused_and_nothing_is_written(string qemuFormat)
    {
        string image = _tmp.File("alone." + qemuFormat);
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", qemuFormat, image, "8M");
        string other = _tmp.File("other.raw");
        File.WriteAllBytes(other, new byte[8 << 20]);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        foreach (DiskAccess access in new[] { DiskAccess.ReadOnly, DiskAccess.ReadWrite })
        {
            ArgumentException ex = Assert.Throws<ArgumentException>(() => DiskImage.Open(image, new DiskOpenOptions { Access = access, ParentPath = other }));
            Assert.Equal("options", ex.ParamName);
            Assert.Contains(Path.GetFullPath(image), ex.Message, StringComparison.Ordinal);
            Assert.Contains("not a differencing image", ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
        // The image is not held: it opens again at once.
        using VirtualDisk again = DiskImage.Open(image, DiskAccess.ReadWrite);
    }

    /// <summary>
    /// A writable open of Hyper-V's image with a pending log replays the log on disk; a parent named for it (it has
    /// none) is refused before that, so the file keeps every byte.
    /// </summary>
    [Fact]
    public void A_parent_named_for_an_image_with_a_pending_log_is_refused_before_the_log_is_replayed()
    {
        string image = TestData.Gunzip("disks/vhdx/vhdx-log-replay.vhdx.gz", _tmp.Path);
        string other = _tmp.File("other.raw");
        File.WriteAllBytes(other, new byte[8 << 20]);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        ArgumentException ex = Assert.Throws<ArgumentException>(() => DiskImage.Open(image, new DiskOpenOptions { Access = DiskAccess.ReadWrite, ParentPath = other }));
        Assert.Contains("not a differencing image", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
    }

    [Fact]
    public void A_child_opens_through_the_parent_named()
    {
        string parent = _tmp.File("base.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "qcow2", parent, "8M");
        string child = _tmp.File("child.qcow2");
        Oracle.RunChecked("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", child);
        string moved = _tmp.File("moved.qcow2");
        File.Move(parent, moved);
        using VirtualDisk disk = DiskImage.Open(child, new DiskOpenOptions { ParentPath = moved });
        Assert.Equal(Path.GetFullPath(moved), disk.Parent!.FilePath);
    }
}
