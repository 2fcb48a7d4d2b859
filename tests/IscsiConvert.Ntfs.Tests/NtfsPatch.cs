using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;

namespace IscsiConvert.Tests;

/// <summary>
/// Test-side byte surgery on copies of corpus volumes, written independently of the reader under test: finds
/// structures from the boot sector and from sleuthkit's istat, and patches them.
/// </summary>
internal static class NtfsPatch
{
    /// <summary>Byte offsets of $VOLUME_INFORMATION's flags in MFT record 3 and in its $MFTMirr copy.</summary>
    public static long[] VolumeFlagsOffsets(string volumePath)
    {
        using var f = File.OpenRead(volumePath);
        byte[] boot = Read(f, 0, 512);
        long cluster = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(11)) * (long)boot[13];
        sbyte c = unchecked((sbyte)boot[0x40]);
        int recordSize = c > 0 ? (int)(c * cluster) : 1 << -c;
        var result = new List<long>();
        foreach (long lcn in new[] { BinaryPrimitives.ReadInt64LittleEndian(boot.AsSpan(0x30)), BinaryPrimitives.ReadInt64LittleEndian(boot.AsSpan(0x38)) })
        {
            long record = (lcn * cluster) + (3 * recordSize);
            byte[] r = Read(f, record, recordSize);
            int p = BinaryPrimitives.ReadUInt16LittleEndian(r.AsSpan(0x14));
            while (BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(p)) != 0x70)
            {
                p += (int)BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(p + 4));
            }
            int value = BinaryPrimitives.ReadUInt16LittleEndian(r.AsSpan(p + 0x14));
            result.Add(record + p + value + 0x0A);
        }
        return result.ToArray();
    }

    /// <summary>The byte offset of $LogFile's first cluster, from istat's cluster list of inode 2.</summary>
    public static long LogFileOffset(string volumePath)
    {
        string istat = Oracle.RunChecked("istat", volumePath, "2");
        string after = istat.Substring(istat.IndexOf("$DATA (128-", StringComparison.Ordinal));
        long first = long.Parse(after.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        string fsstat = Oracle.RunChecked("fsstat", volumePath);
        string line = fsstat.Split('\n').First(l => l.StartsWith("Cluster Size:", StringComparison.Ordinal));
        return first * long.Parse(line.Substring("Cluster Size:".Length).Trim(), CultureInfo.InvariantCulture);
    }

    public static void SetBits(string path, long offset, byte bits)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b | bits));
    }

    public static void Write(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        f.Write(bytes);
    }

    public static byte[] Read(Stream f, long offset, int count)
    {
        byte[] b = new byte[count];
        f.Position = offset;
        f.ReadExactly(b);
        return b;
    }

    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f));
    }

    /// <summary>Copies a file, leaving runs of zeros as holes.</summary>
    public static void SparseCopy(string source, string target)
    {
        using var input = File.OpenRead(source);
        SparseCopy(input, target);
    }

    /// <summary>Copies a stream (from its start) into a new file, leaving runs of zeros as holes.</summary>
    public static void SparseCopy(Stream input, string target)
    {
        using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
        input.Position = 0;
        byte[] buffer = new byte[1 << 20];
        int n;
        while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0) < 0)
            {
                output.Seek(n, SeekOrigin.Current);
            }
            else
            {
                output.Write(buffer, 0, n);
            }
        }
        output.SetLength(input.Length);
    }
}
