using System;
using System.IO;
using System.Linq;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests;

public class StreamWindowTests
{
    [Fact]
    public void Window_reads_and_writes_its_part_only()
    {
        using var tmp = new TempDir();
        using VirtualDisk disk = DiskImage.Create(tmp.File("d.img"), new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 64 * 1024 });
        using var window = new StreamWindow(disk.Content, 4096, 8192);
        Assert.Equal(8192, window.Length);
        window.Write(Enumerable.Repeat((byte)0xEE, 8192).ToArray(), 0, 8192);
        Assert.Throws<ArgumentOutOfRangeException>(() => window.WriteAt(8000, new byte[500]));

        byte[] all = new byte[64 * 1024];
        Assert.Equal(all.Length, disk.Content.ReadAt(0, all));
        Assert.True(all.AsSpan(0, 4096).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(all.AsSpan(4096, 8192).IndexOfAnyExcept((byte)0xEE) < 0);
        Assert.True(all.AsSpan(12288).IndexOfAnyExcept((byte)0) < 0);

        window.Position = 8190;
        byte[] tail = new byte[10];
        Assert.Equal(2, window.Read(tail, 0, 10));
        Assert.Equal(0, window.Read(tail, 0, 10));
        Assert.Equal(window.GetExtents().Single(), new StreamExtent(0, 8192));
    }

    [Fact]
    public void Window_must_lie_inside_the_stream()
    {
        using var tmp = new TempDir();
        using VirtualDisk disk = DiskImage.Create(tmp.File("d.img"), new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 4096 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamWindow(disk.Content, 4000, 200));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamWindow(disk.Content, long.MaxValue, 2));
    }

    [Fact]
    public void Seek_and_position_follow_stream_rules()
    {
        using var tmp = new TempDir();
        using VirtualDisk disk = DiskImage.Create(tmp.File("d.img"), new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 4096 });
        Stream s = disk.Content;
        Assert.Equal(4090, s.Seek(-6, SeekOrigin.End));
        Assert.Equal(4095, s.Seek(5, SeekOrigin.Current));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Seek(-1, SeekOrigin.Begin));
        Assert.Throws<NotSupportedException>(() => s.SetLength(10));
    }
}
