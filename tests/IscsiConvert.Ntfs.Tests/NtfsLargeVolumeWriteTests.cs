using System;
using System.IO;
using IscsiConvert.Ntfs;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Ntfs.Tests;

/// <summary>
/// A small write on a large volume reads what it needs of the cluster bitmap, not the whole of it: $Bitmap grows with
/// the volume (2 MiB for 64 GiB of 4 KiB clusters), and reading it whole at every writable open made the same edit
/// slower, and larger in memory, on a larger image. Counted in bytes read, never timed.
/// </summary>
public sealed class NtfsLargeVolumeWriteTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void A_small_write_on_a_64_GiB_volume_reads_a_small_part_of_the_cluster_bitmap()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "large.img", 64L << 30);
        long bitmapBytes = (64L << 30) / 4096 / 8;
        byte[] content = new byte[300 << 10];
        new Random(14).NextBytes(content);

        long read;
        using (var counting = new CountingStream(new FileStream(image, FileMode.Open, FileAccess.ReadWrite)))
        {
            using (NtfsVolume v = NtfsVolume.Open(counting, new NtfsOpenOptions { Writable = true, FilePath = image, LeaveOpen = true }))
            {
                v.CreateDirectory(@"\Windows\System32\drivers");
                v.WriteFile(@"\Windows\System32\drivers\new.sys", new MemoryStream(content));
                v.Flush();
            }
            read = counting.BytesRead;
        }

        // Everything else the edit reads (boot sector, MFT records, index blocks, $LogFile's restart pages) is far less
        // than the bitmap; reading the bitmap whole alone would exceed this.
        Assert.True(read < bitmapBytes, $"read {read} bytes for a write on a volume whose $Bitmap is {bitmapBytes} bytes");
        Assert.Equal(content, BinaryOracle.Bytes("ntfscat", image, "Windows/System32/drivers/new.sys"));
        NtfsWriteTests.AssertOraclesHappy(image);
    }
}
