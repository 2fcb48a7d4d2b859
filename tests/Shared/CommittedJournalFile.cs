using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace IscsiConvert.Tests;

/// <summary>
/// Writes the journal of a committed, unfinished in-place write beside a one-file image, encoded from the format's
/// description (docs/formats/journal.md) rather than by the library, so that the tests that use it also check that the
/// description is the format the library reads: the state a crash leaves between the commit point and the end of the
/// copy. The image itself is not touched.
/// </summary>
public static class CommittedJournalFile
{
    private const int Piece = 512;

    /// <summary>Writes IMAGE.iscsiconvert-journal for the writes <paramref name="edits"/> (non-overlapping, ascending;
    /// the file keeps its length) to <paramref name="image"/>; returns the journal's path.</summary>
    public static string Write(string image, IReadOnlyList<(long Offset, byte[] Data)> edits)
    {
        byte[] old = File.ReadAllBytes(image);
        using var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write("ICJRNL01"u8.ToArray());
        w.Write(1u);
        w.Write((uint)Piece);
        var positions = new List<long>();
        foreach ((_, byte[] data) in edits)
        {
            positions.Add(ms.Position);
            w.Write(data);
        }
        long record = ms.Position;
        w.Write("ICJCOMIT"u8.ToArray());
        w.Write(1u);
        byte[] name = Encoding.UTF8.GetBytes(Path.GetFileName(image));
        w.Write((ushort)name.Length);
        w.Write(name);
        w.Write((long)old.Length);
        w.Write((long)old.Length);
        w.Write((uint)edits.Count);
        for (int i = 0; i < edits.Count; i++)
        {
            (long offset, byte[] data) = edits[i];
            w.Write(0u);
            w.Write(offset);
            w.Write((long)data.Length);
            w.Write(positions[i]);
            // Pieces end at the file's 512-byte boundaries: the first and the last may be shorter.
            long at = offset;
            long end = offset + data.Length;
            while (at < end)
            {
                long pieceEnd = Math.Min(end, ((at / Piece) + 1) * Piece);
                int length = (int)(pieceEnd - at);
                w.Write(Crc32C(old.AsSpan((int)at, length)));
                w.Write(Crc32C(data.AsSpan((int)(at - offset), length)));
                at = pieceEnd;
            }
        }
        w.Flush();
        uint crc = Crc32C(ms.ToArray());
        w.Write(record);
        w.Write(crc);
        w.Write(0u);
        w.Write(ms.Position + 8 + 8);
        w.Write("ICJEND01"u8.ToArray());
        w.Flush();
        string journal = image + ".iscsiconvert-journal";
        File.WriteAllBytes(journal, ms.ToArray());
        return journal;
    }

    /// <summary>CRC-32C (Castagnoli), bit by bit: slow and plain, for test data only.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }
        return ~crc;
    }
}
