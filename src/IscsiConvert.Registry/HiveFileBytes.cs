using System;
using System.IO;
using IscsiConvert.Registry.Format;
using IscsiConvert.Shared;

namespace IscsiConvert.Registry;

/// <summary>
/// A hive file as read: its base block and, in a separate array, the bytes after it — so that the hive bins are used
/// where they were read instead of being copied out of a whole-file array (an 11 MiB SYSTEM hive was held twice while
/// it was opened). A hive opened for writing gets spare room after the bins, so that the few bins an edit appends fit
/// without growing (copying) the array.
/// </summary>
internal readonly struct HiveFileBytes
{
    private HiveFileBytes(byte[] head, byte[] rest, int restLength, long length)
    {
        Head = head;
        Rest = rest;
        RestLength = restLength;
        Length = length;
    }

    /// <summary>The first <see cref="BaseBlock.Size"/> bytes of the file (fewer when the file is shorter).</summary>
    public byte[] Head { get; }

    /// <summary>The bytes after the base block, followed by zeros up to the array's end (the spare room).</summary>
    public byte[] Rest { get; }

    /// <summary>How many bytes of <see cref="Rest"/> came from the file.</summary>
    public int RestLength { get; }

    /// <summary>The file's length as read.</summary>
    public long Length { get; }

    /// <summary>Reads <paramref name="stream"/> whole, from offset 0.</summary>
    public static HiveFileBytes Read(Stream stream, string? path, bool writable)
    {
        long len = stream.Length;
        if (len > HiveStorage.MaxLength + (long)BaseBlock.Size)
        {
            throw new CorruptDataException(HiveStorage.FormatName, "file", 0, $"{len} bytes is larger than any hive (2 GiB)", path);
        }
        var head = new byte[Math.Min(len, BaseBlock.Size)];
        int n = stream.ReadAtMost(0, head);
        if (n < head.Length)
        {
            return new HiveFileBytes(head.AsSpan(0, n).ToArray(), Array.Empty<byte>(), 0, n);
        }
        int restLength = (int)(len - head.Length);
        var rest = new byte[restLength + (writable ? SpareRoom(restLength) : 0)];
        int m = stream.ReadAtMost(head.Length, rest.AsSpan(0, restLength));
        if (m < restLength && !writable)
        {
            Array.Resize(ref rest, m);
        }
        return new HiveFileBytes(head, rest, m, head.Length + (long)m);
    }

    /// <summary>Splits bytes already in memory (a hive just created) the same way.</summary>
    public static HiveFileBytes Split(byte[] file)
    {
        int headLength = Math.Min(file.Length, BaseBlock.Size);
        byte[] rest = file.AsSpan(headLength).ToArray();
        return new HiveFileBytes(file.AsSpan(0, headLength).ToArray(), rest, rest.Length, file.Length);
    }

    // Room for the bins a typical edit appends (a driver's service and CDDB keys take a few KiB), capped so that a
    // large hive does not carry much unused memory: 1/32 of the hive, at least 64 KiB, at most 1 MiB.
    private static int SpareRoom(int length) => (int)Math.Min(HiveStorage.MaxLength - (long)length, Math.Min(1 << 20, Math.Max(64 << 10, length / 32)));
}
