using System;
using System.Buffers.Binary;
using System.IO;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>Helpers for the VHD tests: hashing, byte patching with an independent checksum, qemu images and reads.</summary>
internal static class VhdTestSupport
{
    public const string Ext2 = "disks/vhd/ext2.vhd";
    public const string FatDifferential = "disks/vhd/fat-differential.vhd";

    public static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>The virtual size qemu-img reports for a file read as vpc.</summary>
    public static long QemuVirtualSize(string path) => QemuImg.Info(path, "vpc").GetProperty("virtual-size").GetInt64();

    /// <summary>Reads the whole virtual disk through our stack.</summary>
    public static byte[] ReadAll(VirtualDisk disk)
    {
        byte[] data = new byte[disk.Capacity];
        int n = disk.Content.ReadAt(0, data);
        Assert.Equal(data.Length, n);
        return data;
    }

    /// <summary>The raw bytes of an image as qemu-img reads them (`qemu-img convert -O raw`).</summary>
    public static byte[] QemuRaw(string path, string format, TempDir tmp)
    {
        string raw = tmp.File(Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".raw");
        QemuImg.ConvertToRaw(path, format, raw);
        byte[] bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    /// <summary>Creates an image with qemu-img (the oracle's own writer).</summary>
    public static void QemuCreate(string path, long size, params string[] options)
    {
        var args = new System.Collections.Generic.List<string> { "create", "-q", "-f", "vpc" };
        foreach (string o in options)
        {
            args.Add("-o");
            args.Add(o);
        }
        args.Add(path);
        args.Add(size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Oracle.RunChecked("qemu-img", args.ToArray());
    }

    /// <summary>Writes a pattern with qemu-io: `write -P pattern offset length`.</summary>
    public static void QemuIoWrite(string path, byte pattern, long offset, long length) =>
        Oracle.RunChecked("qemu-io", "-f", "vpc", "-c",
            FormattableString.Invariant($"write -P 0x{pattern:x2} {offset} {length}"), path);

    /// <summary>
    /// The VHD checksum computed independently of the product code (ones' complement of the byte sum, checksum
    /// field skipped), used to keep a patched structure's checksum valid so that a later check is reached.
    /// </summary>
    public static void FixChecksum(byte[] file, long structureOffset, int length, int checksumField)
    {
        uint sum = 0;
        for (int i = 0; i < length; i++)
        {
            if (i < checksumField || i >= checksumField + 4)
            {
                sum += file[structureOffset + i];
            }
        }
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan((int)(structureOffset + checksumField)), ~sum);
    }

    public static JsonElement Info(string path) => QemuImg.Info(path, "vpc");

    /// <summary>A deterministic pseudo-random fill (tests only).</summary>
    public static void Fill(Span<byte> buffer, int seed)
    {
        uint x = (uint)seed * 2654435761u + 12345;
        for (int i = 0; i < buffer.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buffer[i] = (byte)x;
        }
    }
}
