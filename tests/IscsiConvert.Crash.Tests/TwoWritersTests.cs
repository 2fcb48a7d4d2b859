using System;
using System.Diagnostics;
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

    /// <summary>
    /// A qemu process holding the image (qemu-io here; a running VM, qemu-nbd or qemu-storage-daemon alike) takes byte-range
    /// locks that .NET's own sharing check does not see on Linux; a writable open must still refuse it as in use, and
    /// open it again once qemu has let go. Read-only opens stay allowed.
    /// </summary>
    [Theory]
    [MemberData(nameof(Formats))]
    public void An_image_a_qemu_process_holds_is_refused_as_in_use(string format)
    {
        string image = _tmp.File("held." + format);
        Oracle.RunChecked("qemu-img", "create", "-f", format, image, "4M");
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));
        // qemu-io holds the image while it waits for commands; its input is a pipe kept open by `sleep`, and it is killed at the end.
        var start = new ProcessStartInfo("bash", new[] { "-c", "sleep 600 | exec qemu-io -f \"$0\" \"$1\" >/dev/null 2>&1", format, image });
        using Process qemu = Process.Start(start) ?? throw new InvalidOperationException("qemu-io did not start");
        try
        {
            UnsafeToWriteException? refused = null;
            // qemu-io takes its locks while it opens the image, a moment after it starts: wait for that (bounded).
            for (int i = 0; i < 200 && refused is null && !qemu.HasExited; i++)
            {
                try
                {
                    DiskImage.Open(image, DiskAccess.ReadWrite).Dispose();
                    System.Threading.Thread.Sleep(50);
                }
                catch (UnsafeToWriteException ex)
                {
                    refused = ex;
                }
            }
            Assert.False(qemu.HasExited, "qemu-io exited early");
            Assert.NotNull(refused);
            Assert.Contains("in use", refused!.Message, StringComparison.Ordinal);
            Assert.Contains("qemu", refused.Message, StringComparison.Ordinal);
            using (VirtualDisk reader = DiskImage.Open(image, DiskAccess.ReadOnly))
            {
                Assert.True(reader.Capacity >= 4L << 20); // a VHD rounds 4 MiB up to whole CHS cylinders
            }
        }
        finally
        {
            qemu.Kill(entireProcessTree: true);
            qemu.WaitForExit(30_000);
        }
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
        // qemu let go: writable again (its locks go with the killed process, a moment after bash reports its exit).
        bool reopened = false;
        for (int i = 0; i < 200 && !reopened; i++)
        {
            try
            {
                DiskImage.Open(image, DiskAccess.ReadWrite).Dispose();
                reopened = true;
            }
            catch (UnsafeToWriteException)
            {
                System.Threading.Thread.Sleep(50);
            }
        }
        Assert.True(reopened, "still refused after qemu-io was killed");
    }
}
