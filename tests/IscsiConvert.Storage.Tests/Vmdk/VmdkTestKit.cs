using System;
using System.IO;
using System.Text.Json;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vmdk;

/// <summary>Helpers shared by the VMDK tests: qemu as the oracle for bytes and metadata.</summary>
internal static class VmdkTestKit
{
    /// <summary>Asserts that our reading of <paramref name="image"/> equals qemu's raw conversion of it, byte for byte.</summary>
    public static void AssertReadsLikeQemu(string image, TempDir tmp)
    {
        string raw = tmp.File(Path.GetFileName(image) + ".qemu.raw");
        QemuImg.ConvertToRaw(image, "vmdk", raw);
        using VirtualDisk disk = DiskImage.Open(image);
        AssertContentEquals(disk.Content, raw);
    }

    /// <summary>Compares a stream with a raw file chunk by chunk, naming the first differing offset.</summary>
    public static void AssertContentEquals(SparseStream content, string rawPath)
    {
        using FileStream raw = File.OpenRead(rawPath);
        Assert.Equal(raw.Length, content.Length);
        byte[] a = new byte[1 << 20];
        byte[] b = new byte[1 << 20];
        for (long pos = 0; pos < raw.Length; pos += a.Length)
        {
            int n = (int)Math.Min(a.Length, raw.Length - pos);
            Assert.Equal(n, content.ReadAt(pos, a.AsSpan(0, n)));
            raw.Position = pos;
            raw.ReadExactly(b, 0, n);
            int diff = a.AsSpan(0, n).CommonPrefixLength(b.AsSpan(0, n));
            Assert.True(diff == n, $"content differs from qemu's raw conversion at byte 0x{pos + diff:X}");
        }
    }

    /// <summary>qemu-img info's create-type of a VMDK.</summary>
    public static string CreateType(JsonElement info) =>
        info.GetProperty("format-specific").GetProperty("data").GetProperty("create-type").GetString()!;

    /// <summary>Runs qemu-io on a VMDK and fails on error.</summary>
    public static void QemuIo(string image, string command) => Oracle.RunChecked("qemu-io", "-f", "vmdk", "-c", command, image);

    /// <summary>A raw file of <paramref name="size"/> bytes with a recognisable pattern in a few places.</summary>
    public static string PatternedRaw(TempDir tmp, string name, long size, int seed)
    {
        string path = tmp.File(name);
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(size);
        var rng = new Random(seed);
        byte[] chunk = new byte[96 * 1024];
        foreach (long at in new[] { 0L, size / 3, size / 2 + 4096 + 7, size - chunk.Length })
        {
            rng.NextBytes(chunk);
            Array.Clear(chunk, 0, 1000); // partly compressible
            f.Position = at;
            f.Write(chunk);
        }
        return path;
    }

    /// <summary>SHA-256 of every file in a folder, to show that read-only work left them unchanged.</summary>
    public static string Fingerprint(string folder)
    {
        var sb = new System.Text.StringBuilder();
        foreach (string f in Directory.GetFiles(folder))
        {
            using FileStream s = File.OpenRead(f);
            sb.Append(Path.GetFileName(f)).Append(':').Append(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(s))).Append('\n');
        }
        return sb.ToString();
    }
}
