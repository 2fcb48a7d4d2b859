using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace IscsiConvert.Storage.Journal;

/// <summary>
/// The commit record of an image journal (docs/formats/journal.md): the files written (names relative to the journal's
/// folder, lengths before and after), and every range to copy from the journal into them, with a CRC-32C of the old and
/// of the new bytes of each 512-byte piece (pieces end at the file's 512-byte boundaries), so that a replay can check
/// the journal belongs to the image it lies beside: every piece must read as its old or its new bytes.
/// </summary>
internal sealed class JournalRecord
{
    public const int PieceSize = 512;
    public const int HeaderSize = 16;
    public const int TrailerSize = 32;
    public static readonly byte[] HeaderMagic = Encoding.ASCII.GetBytes("ICJRNL01");
    public static readonly byte[] RecordMagic = Encoding.ASCII.GetBytes("ICJCOMIT");
    public static readonly byte[] TrailerMagic = Encoding.ASCII.GetBytes("ICJEND01");
    public const uint Version = 1;

    public JournalRecord(IReadOnlyList<JournalFile> files, IReadOnlyList<JournalRange> ranges)
    {
        Files = files;
        Ranges = ranges;
    }

    public IReadOnlyList<JournalFile> Files { get; }

    /// <summary>Ascending by file, then by offset; no two overlap.</summary>
    public IReadOnlyList<JournalRange> Ranges { get; }

    public long DataBytes
    {
        get
        {
            long sum = 0;
            foreach (JournalRange r in Ranges)
            {
                sum += r.Length;
            }
            return sum;
        }
    }

    /// <summary>The pieces of [offset, offset + length): split at the file's 512-byte boundaries.</summary>
    public static int PieceCount(long offset, long length)
    {
        if (length <= 0)
        {
            return 0;
        }
        long first = offset / PieceSize;
        long last = (offset + length - 1) / PieceSize;
        return checked((int)(last - first + 1));
    }

    /// <summary>Where piece <paramref name="index"/> of a range starts and how long it is.</summary>
    public static (long Start, int Length) Piece(long offset, long length, int index)
    {
        long start = index == 0 ? offset : ((offset / PieceSize) + index) * PieceSize;
        long end = Math.Min(((offset / PieceSize) + index + 1) * PieceSize, offset + length);
        return (start, (int)(end - start));
    }

    public byte[] Encode()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true); // little-endian on every platform
        w.Write(RecordMagic);
        w.Write((uint)Files.Count);
        foreach (JournalFile f in Files)
        {
            byte[] name = Encoding.UTF8.GetBytes(f.RelativeName);
            w.Write((ushort)name.Length);
            w.Write(name);
            w.Write(f.OriginalLength);
            w.Write(f.FinalLength);
        }
        w.Write((uint)Ranges.Count);
        foreach (JournalRange r in Ranges)
        {
            w.Write((uint)r.FileIndex);
            w.Write(r.Offset);
            w.Write(r.Length);
            w.Write(r.JournalPosition);
            for (int i = 0; i < r.OldCrcs.Length; i++)
            {
                w.Write(r.OldCrcs[i]);
                w.Write(r.NewCrcs[i]);
            }
        }
        w.Flush();
        return ms.ToArray();
    }

    /// <summary>Decodes a record; null when it does not parse (the journal is then treated as incomplete, which only
    /// happens if its checksum matched by chance, or it was written by something else).</summary>
    public static JournalRecord? Decode(byte[] data, long journalLength)
    {
        using var r = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
        try
        {
            if (!r.ReadBytes(8).AsSpan().SequenceEqual(RecordMagic))
            {
                return null;
            }
            uint fileCount = r.ReadUInt32();
            if (fileCount == 0 || fileCount > 4096)
            {
                return null;
            }
            var files = new List<JournalFile>();
            for (int i = 0; i < fileCount; i++)
            {
                int nameLength = r.ReadUInt16();
                byte[] name = r.ReadBytes(nameLength);
                long original = r.ReadInt64();
                long final = r.ReadInt64();
                if (name.Length != nameLength || original < 0 || final < 0)
                {
                    return null;
                }
                files.Add(new JournalFile(Encoding.UTF8.GetString(name), original, final));
            }
            uint rangeCount = r.ReadUInt32();
            if (rangeCount > data.Length / 28)
            {
                return null;
            }
            var ranges = new List<JournalRange>();
            for (uint i = 0; i < rangeCount; i++)
            {
                uint file = r.ReadUInt32();
                long offset = r.ReadInt64();
                long length = r.ReadInt64();
                long journalPosition = r.ReadInt64();
                if (file >= fileCount || offset < 0 || length <= 0 || journalPosition < HeaderSize || length > journalLength
                    || journalPosition > journalLength - length || offset > long.MaxValue - length || offset + length > files[(int)file].FinalLength)
                {
                    return null;
                }
                int pieces = PieceCount(offset, length);
                if (pieces > (data.Length - r.BaseStream.Position) / 8)
                {
                    return null;
                }
                var olds = new uint[pieces];
                var news = new uint[pieces];
                for (int p = 0; p < pieces; p++)
                {
                    olds[p] = r.ReadUInt32();
                    news[p] = r.ReadUInt32();
                }
                ranges.Add(new JournalRange((int)file, offset, length, journalPosition, olds, news));
            }
            return r.BaseStream.Position == data.Length ? new JournalRecord(files, ranges) : null;
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }
}

/// <summary>A file of the transaction: its name relative to the journal's folder, its length before and after.</summary>
internal sealed record JournalFile(string RelativeName, long OriginalLength, long FinalLength);

/// <summary>File bytes [Offset, Offset + Length) become the journal's bytes at <see cref="JournalPosition"/>; one
/// CRC-32C of the old and one of the new bytes per 512-byte piece.</summary>
internal sealed record JournalRange(int FileIndex, long Offset, long Length, long JournalPosition, uint[] OldCrcs, uint[] NewCrcs);
