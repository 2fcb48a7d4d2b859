using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>
/// One entry of the snapshot table (qcow2.txt "Snapshots"): a 40-byte fixed part, extra data (v3: at least 16
/// bytes, holding the 64-bit VM state size and the snapshot's virtual disk size), the ID and name strings, padding to 8.
/// </summary>
internal sealed class Qcow2SnapshotEntry
{
    public const int FixedSize = 40;
    private const int L1OffsetOffset = 0;
    private const int L1SizeOffset = 8;
    private const int IdLengthOffset = 12;
    private const int NameLengthOffset = 14;
    private const int DateSecondsOffset = 16;
    private const int DateNanosecondsOffset = 20;
    private const int ExtraSizeOffset = 36;
    private const int ExtraDiskSizeOffset = 8; // within the extra data

    /// <summary>qemu's limits: snapshot count, extra data per entry, and the whole table.</summary>
    public const uint MaxSnapshots = 65536;
    public const int MaxExtraSize = 1024;
    public const long MaxTableBytes = 64L << 20;

    public long L1Offset { get; private set; }

    public uint L1Size { get; private set; }

    public string Id { get; private set; } = string.Empty;

    public string Name { get; private set; } = string.Empty;

    public DateTimeOffset Date { get; private set; }

    /// <summary>The virtual size recorded with the snapshot, or null (version 2 without extra data).</summary>
    public long? DiskSize { get; private set; }

    /// <summary>Where the entry starts in the file.</summary>
    public long EntryOffset { get; private set; }

    /// <summary>The entry's length in the table, padding included.</summary>
    public long EntrySize { get; private set; }

    /// <summary>Reads the whole snapshot table, checking every entry against the table's limits and the file.</summary>
    public static List<Qcow2SnapshotEntry> ReadTable(Qcow2File file, Qcow2Header header)
    {
        var list = new List<Qcow2SnapshotEntry>();
        if (header.SnapshotCount == 0)
        {
            return list;
        }
        if (header.SnapshotCount > MaxSnapshots)
        {
            throw file.Corrupt("snapshot table", Qcow2Header.SnapshotCountOffset, $"nb_snapshots {header.SnapshotCount} exceeds {MaxSnapshots}");
        }
        file.CheckTable("snapshot table", header.SnapshotsOffset, FixedSize, Qcow2Header.SnapshotsOffsetOffset);
        long pos = header.SnapshotsOffset;
        byte[] fixedPart = new byte[FixedSize];
        for (uint i = 0; i < header.SnapshotCount; i++)
        {
            string structure = $"snapshot table entry {i}";
            if (pos - header.SnapshotsOffset > MaxTableBytes)
            {
                throw file.Corrupt(structure, pos, $"the snapshot table exceeds {MaxTableBytes} bytes");
            }
            if (pos > file.Length - FixedSize)
            {
                throw file.Corrupt(structure, pos, $"the entry extends past the end of the file ({file.Length} bytes)");
            }
            file.Read(pos, fixedPart, structure);
            int idLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(IdLengthOffset));
            int nameLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(NameLengthOffset));
            uint extraSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(ExtraSizeOffset));
            if (extraSize > MaxExtraSize)
            {
                throw file.Corrupt(structure, pos + ExtraSizeOffset, $"extra data size {extraSize} exceeds {MaxExtraSize}");
            }
            long variable = extraSize + idLength + nameLength;
            if (pos + FixedSize > file.Length - variable)
            {
                throw file.Corrupt(structure, pos, $"the entry's {variable} bytes of extra data and strings extend past the end of the file");
            }
            byte[] rest = new byte[variable];
            file.Read(pos + FixedSize, rest, structure);
            var entry = new Qcow2SnapshotEntry
            {
                EntryOffset = pos,
                L1Offset = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(fixedPart.AsSpan(L1OffsetOffset)), long.MaxValue / 2),
                L1Size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(L1SizeOffset)),
                Date = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(DateSecondsOffset)))
                    .AddTicks(Math.Min(BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(DateNanosecondsOffset)), 999_999_999u) / 100),
                Id = Encoding.UTF8.GetString(rest, (int)extraSize, idLength),
                Name = Encoding.UTF8.GetString(rest, (int)extraSize + idLength, nameLength),
            };
            if (extraSize >= ExtraDiskSizeOffset + 8)
            {
                ulong size = BinaryPrimitives.ReadUInt64BigEndian(rest.AsSpan(ExtraDiskSizeOffset));
                if (size > long.MaxValue / 2)
                {
                    throw file.Corrupt(structure, pos + FixedSize + ExtraDiskSizeOffset, $"disk size 0x{size:X} is impossible");
                }
                entry.DiskSize = (long)size;
            }
            entry.EntrySize = (FixedSize + variable + 7) & ~7L;
            list.Add(entry);
            pos += entry.EntrySize;
        }
        return list;
    }
}
