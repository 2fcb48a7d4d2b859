using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests;

public class RawDiskTests
{
    [Fact]
    public void Created_raw_image_is_what_qemu_img_sees()
    {
        using var tmp = new TempDir();
        string path = tmp.File("disk.img");
        byte[] pattern = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();
        using (VirtualDisk disk = DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 8L << 20 }))
        {
            disk.Content.WriteAt(3 << 20, pattern);
            disk.Flush();
        }

        var info = QemuImg.Info(path);
        Assert.Equal("raw", info.GetProperty("format").GetString());
        Assert.Equal(8L << 20, info.GetProperty("virtual-size").GetInt64());

        // qemu's own view of the bytes: convert a copy to raw and compare with what we wrote.
        string qemuRaw = tmp.File("qemu.raw");
        QemuImg.ConvertToRaw(path, "raw", qemuRaw);
        byte[] bytes = File.ReadAllBytes(qemuRaw);
        Assert.Equal(pattern, bytes.AsSpan(3 << 20, 4096).ToArray());
        Assert.True(bytes.AsSpan(0, 3 << 20).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Read_only_open_refuses_writes_and_changes_nothing()
    {
        using var tmp = new TempDir();
        string path = tmp.File("disk.img");
        File.WriteAllBytes(path, Enumerable.Repeat((byte)0x5A, 1 << 16).ToArray());
        DateTime before = File.GetLastWriteTimeUtc(path);

        using (VirtualDisk disk = DiskImage.Open(path))
        {
            Assert.Equal(DiskFormat.Raw, disk.Format);
            Assert.False(disk.Content.CanWrite);
            Assert.Throws<NotSupportedException>(() => disk.Content.WriteAt(0, new byte[1]));
            byte[] buffer = new byte[16];
            Assert.Equal(16, disk.Content.ReadAt(100, buffer));
            Assert.All(buffer, b => Assert.Equal(0x5A, b));
        }

        Assert.Equal(before, File.GetLastWriteTimeUtc(path));
        Assert.All(File.ReadAllBytes(path), b => Assert.Equal(0x5A, b));
    }

    [Fact]
    public void A_second_writer_is_refused_as_image_in_use()
    {
        using var tmp = new TempDir();
        string path = tmp.File("disk.img");
        File.WriteAllBytes(path, new byte[4096]);
        using VirtualDisk first = DiskImage.Open(path, DiskAccess.ReadWrite);
        var ex = Assert.Throws<UnsafeToWriteException>(() => DiskImage.Open(path, DiskAccess.ReadWrite));
        Assert.Contains("in use", ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.FilePath);
    }

    [Fact]
    public void Writes_past_the_end_are_refused()
    {
        using var tmp = new TempDir();
        using VirtualDisk disk = DiskImage.Create(tmp.File("d.img"), new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 4096 });
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Content.WriteAt(4000, new byte[200]));
        Assert.Equal(4096, new FileInfo(tmp.File("d.img")).Length);
    }

    [Fact]
    public void Create_refuses_to_overwrite_an_existing_file()
    {
        using var tmp = new TempDir();
        string path = tmp.File("d.img");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        Assert.Throws<IOException>(() => DiskImage.Create(path, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 4096 }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void Extents_of_a_sparse_raw_file_are_what_qemu_img_map_reports_as_data()
    {
        using var tmp = new TempDir();
        string path = tmp.File("sparse.img");
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.SetLength(64L << 20);
            f.Position = 5L << 20;
            f.Write(new byte[] { 1, 2, 3 });
            f.Position = 40L << 20;
            f.Write(new byte[300_000]);    // zeros written are still data to the file system
            f.Position = (64L << 20) - 1;
            f.WriteByte(9);
        }

        using JsonDocument map = JsonDocument.Parse(Oracle.RunChecked("qemu-img", "map", "--output=json", "-f", "raw", path));
        var expected = map.RootElement.EnumerateArray()
            .Where(e => e.GetProperty("data").GetBoolean())
            .Select(e => new StreamExtent(e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64()))
            .ToList();
        Assert.True(expected.Count >= 2, "the file system here should keep holes; qemu-img map shows " + map.RootElement);

        using VirtualDisk disk = DiskImage.Open(path);
        Assert.Equal(expected, disk.Content.GetExtents().ToList());
        Assert.Equal(expected.Sum(e => e.Length), disk.StoredBytes);
        Assert.Equal(new[] { new StreamExtent(5L << 20, 1) }.Length, disk.Content.GetExtents(5L << 20, 1).Count());
    }
}
