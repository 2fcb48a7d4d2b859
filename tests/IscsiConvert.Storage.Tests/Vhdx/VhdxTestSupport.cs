using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhdx;

/// <summary>Helpers shared by the VHDX tests: hashing, corrupt copies, and the libvhdi (pyvhdi) oracle for differencing disks.</summary>
internal static class VhdxTestSupport
{
    public static string FileSha256(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 22);
        using var sha = SHA256.Create();
        return Convert.ToHexString(sha.ComputeHash(f)).ToLowerInvariant();
    }

    /// <summary>sha256 of the whole virtual disk; holes (outside the reported extents) are hashed as zeros without reading.</summary>
    public static string ContentSha256(SparseStream content)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[4 << 20];
        byte[] zeros = new byte[4 << 20];
        long pos = 0;
        void Zeros(long until)
        {
            while (pos < until)
            {
                int n = (int)Math.Min(zeros.Length, until - pos);
                sha.AppendData(zeros, 0, n);
                pos += n;
            }
        }
        foreach (StreamExtent e in content.GetExtents())
        {
            Zeros(e.Start);
            while (pos < e.End)
            {
                int n = content.ReadAt(pos, buffer.AsSpan(0, (int)Math.Min(buffer.Length, e.End - pos)));
                sha.AppendData(buffer, 0, n);
                pos += n;
            }
        }
        Zeros(content.Length);
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    public static byte[] ReadAll(SparseStream content)
    {
        byte[] all = new byte[content.Length];
        Assert.Equal(all.Length, content.ReadAt(0, all));
        return all;
    }

    /// <summary>Patches bytes of a file in place.</summary>
    public static void Patch(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        f.Write(bytes);
    }

    public static byte[] ReadBytes(string path, long offset, int count)
    {
        using FileStream f = File.OpenRead(path);
        f.Position = offset;
        byte[] b = new byte[count];
        f.ReadExactly(b);
        return b;
    }

    /// <summary>Writes a raw file of <paramref name="data"/> (the model a VHDX is compared with by qemu-img compare).</summary>
    public static string WriteRaw(TempDir tmp, string name, byte[] data)
    {
        string path = tmp.File(name);
        File.WriteAllBytes(path, data);
        return path;
    }

    /// <summary>
    /// Reads a (differencing) VHDX through libvhdi's Python binding, an implementation independent of ours, and writes
    /// the whole virtual disk to <paramref name="rawOut"/>. Returns what libvhdi reports: parent identifier and filename.
    /// </summary>
    public static string LibvhdiToRaw(string child, string? parent, string rawOut)
    {
        Oracle.Require("vhdiinfo"); // libvhdi-utils; the Python binding (python3-libvhdi) comes from the same source
        const string Script = """
import sys, pyvhdi
child, parent, out = sys.argv[1], sys.argv[2], sys.argv[3]
f = pyvhdi.file(); f.open(child)
if parent:
    p = pyvhdi.file(); p.open(parent); f.set_parent(p)
print(f.get_parent_identifier() if parent else '', '|', f.get_parent_filename() if parent else '')
size = f.get_media_size(); pos = 0
with open(out, 'wb') as o:
    while pos < size:
        n = min(1 << 22, size - pos)
        o.write(f.read_buffer_at_offset(n, pos)); pos += n
""";
        ToolResult r = Oracle.Run("/usr/bin/python3", "-c", Script, child, parent ?? string.Empty, rawOut);
        if (r.ExitCode != 0 && r.StdErr.Contains("No module named 'pyvhdi'", StringComparison.Ordinal))
        {
            Oracle.MissingPrerequisite("the libvhdi Python binding (apt-get install python3-libvhdi)");
        }
        Assert.True(r.ExitCode == 0, $"pyvhdi failed: {r.StdOut} {r.StdErr}");
        return r.StdOut;
    }
}
