using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// Reads the records of a hive (key nodes, value keys, lists, big data, security cells) with every offset, count and
/// length checked against the cell that holds it, so that hostile input ends in a <see cref="CorruptDataException"/>
/// and never in a loop or an unbounded allocation.
/// </summary>
internal sealed class HiveCells
{
    public HiveCells(HiveStorage storage, uint minorVersion)
    {
        Storage = storage;
        MinorVersion = minorVersion;
    }

    public HiveStorage Storage { get; }

    public uint MinorVersion { get; }

    /// <summary>Big data ("db") exists from hive version 1.4 on; older hives keep large values in one cell.</summary>
    public bool SupportsBigData => MinorVersion >= 4;

    public ReadOnlySpan<byte> KeyCell(int nk)
    {
        ReadOnlySpan<byte> c = Storage.Cell(nk, "key node", KeyNode.NameOffset);
        ushort sig = BinaryPrimitives.ReadUInt16LittleEndian(c);
        if (sig != KeyNode.Signature)
        {
            throw Storage.Corrupt("key node", nk, $"signature is 0x{sig:X4}, expected \"nk\"");
        }
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(KeyNode.NameLengthOffset));
        if (nameLength > c.Length - KeyNode.NameOffset)
        {
            throw Storage.Corrupt("key node", nk, $"name length {nameLength} exceeds the cell ({c.Length - KeyNode.NameOffset} bytes left)");
        }
        return c;
    }

    public static int Field(ReadOnlySpan<byte> cell, int offset) => BinaryPrimitives.ReadInt32LittleEndian(cell.Slice(offset));

    public string KeyName(int nk)
    {
        ReadOnlySpan<byte> c = KeyCell(nk);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(KeyNode.FlagsOffset));
        int len = BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(KeyNode.NameLengthOffset));
        return NameRules.Decode(c.Slice(KeyNode.NameOffset, len), (flags & KeyNode.FlagCompressedName) != 0);
    }

    public long KeyLastWrite(int nk) => BinaryPrimitives.ReadInt64LittleEndian(KeyCell(nk).Slice(KeyNode.LastWriteOffset));

    public ushort KeyFlags(int nk) => BinaryPrimitives.ReadUInt16LittleEndian(KeyCell(nk).Slice(KeyNode.FlagsOffset));

    public string? KeyClassName(int nk)
    {
        ReadOnlySpan<byte> c = KeyCell(nk);
        int classCell = Field(c, KeyNode.ClassOffset);
        int classLength = BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(KeyNode.ClassLengthOffset));
        if (classCell == KeyNode.NoCell || classLength == 0)
        {
            return null;
        }
        ReadOnlySpan<byte> data = Storage.Cell(classCell, "class name", classLength);
        return NameRules.Decode(data.Slice(0, classLength), compressed: false);
    }

    public int SecurityCellOf(int nk) => Field(KeyCell(nk), KeyNode.SecurityOffset);

    public int SubkeyCount(int nk) => Field(KeyCell(nk), KeyNode.SubkeyCountOffset);

    public int ValueCount(int nk) => Field(KeyCell(nk), KeyNode.ValueCountOffset);

    /// <summary>The offsets of a key's (non-volatile) subkeys, in list order, flattening an index root.</summary>
    public List<int> SubkeyOffsets(int nk)
    {
        ReadOnlySpan<byte> c = KeyCell(nk);
        uint count = (uint)Field(c, KeyNode.SubkeyCountOffset);
        int list = Field(c, KeyNode.SubkeyListOffset);
        var result = new List<int>();
        if (count == 0)
        {
            return result;
        }
        if (count > (uint)(Storage.Length / 8))
        {
            throw Storage.Corrupt("key node", nk, $"subkey count {count} is impossible for a hive of {Storage.Length} bytes");
        }
        ReadListInto(list, result, allowIndexRoot: true, null);
        if (result.Count != count)
        {
            throw Storage.Corrupt("key node", nk, $"subkey count is {count} but its subkey list holds {result.Count}");
        }
        return result;
    }

    /// <summary>The cells that make up a key's subkey list (the index root and its leaves), for freeing.</summary>
    public List<int> SubkeyListCells(int nk)
    {
        ReadOnlySpan<byte> c = KeyCell(nk);
        var cells = new List<int>();
        if (Field(c, KeyNode.SubkeyCountOffset) == 0 || Field(c, KeyNode.SubkeyListOffset) == KeyNode.NoCell)
        {
            return cells;
        }
        ReadListInto(Field(c, KeyNode.SubkeyListOffset), new List<int>(), allowIndexRoot: true, cells);
        return cells;
    }

    /// <summary>The signature of a key's first leaf, to keep the kind of list a hive uses.</summary>
    public ushort LeafKind(int nk)
    {
        ReadOnlySpan<byte> c = KeyCell(nk);
        if (Field(c, KeyNode.SubkeyCountOffset) == 0)
        {
            return 0;
        }
        int list = Field(c, KeyNode.SubkeyListOffset);
        ReadOnlySpan<byte> l = Storage.Cell(list, "subkey list", 4);
        ushort sig = BinaryPrimitives.ReadUInt16LittleEndian(l);
        if (sig == SubkeyList.IndexRoot && BinaryPrimitives.ReadUInt16LittleEndian(l.Slice(2)) > 0)
        {
            ReadOnlySpan<byte> leaf = Storage.Cell(Field(l, SubkeyList.EntriesOffset), "subkey list", 4);
            return BinaryPrimitives.ReadUInt16LittleEndian(leaf);
        }
        return sig;
    }

    private void ReadListInto(int list, List<int> result, bool allowIndexRoot, List<int>? cells)
    {
        ReadOnlySpan<byte> l = Storage.Cell(list, "subkey list", 4);
        ushort sig = BinaryPrimitives.ReadUInt16LittleEndian(l);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(l.Slice(SubkeyList.CountOffset));
        cells?.Add(list);
        int stride;
        switch (sig)
        {
            case SubkeyList.IndexLeaf:
                stride = 4;
                break;
            case SubkeyList.FastLeaf:
            case SubkeyList.HashLeaf:
                stride = 8;
                break;
            case SubkeyList.IndexRoot when allowIndexRoot:
                stride = 4;
                break;
            case SubkeyList.IndexRoot:
                throw Storage.Corrupt("subkey list", list, "an index root points to another index root");
            default:
                throw Storage.Corrupt("subkey list", list, $"signature is 0x{sig:X4}, expected li, lf, lh or ri");
        }
        if ((long)count * stride > l.Length - SubkeyList.EntriesOffset)
        {
            throw Storage.Corrupt("subkey list", list, $"{count} entries do not fit in a cell of {l.Length} bytes");
        }
        if (sig == SubkeyList.IndexRoot)
        {
            // Each leaf may be listed once: a repeated leaf would multiply the entries without bound.
            var seen = new HashSet<int>();
            for (int i = 0; i < count; i++)
            {
                int leaf = Field(l, SubkeyList.EntriesOffset + (i * 4));
                if (!seen.Add(leaf))
                {
                    throw Storage.Corrupt("subkey list", list, $"index root lists leaf 0x{leaf:X} twice");
                }
                ReadListInto(leaf, result, allowIndexRoot: false, cells);
            }
            return;
        }
        for (int i = 0; i < count; i++)
        {
            result.Add(Field(l, SubkeyList.EntriesOffset + (i * stride)));
        }
    }

    public List<int> ValueOffsets(int nk)
    {
        ReadOnlySpan<byte> c = KeyCell(nk);
        uint count = (uint)Field(c, KeyNode.ValueCountOffset);
        var result = new List<int>();
        if (count == 0)
        {
            return result;
        }
        if (count > (uint)(Storage.Length / 4))
        {
            throw Storage.Corrupt("key node", nk, $"value count {count} is impossible for a hive of {Storage.Length} bytes");
        }
        int list = Field(c, KeyNode.ValueListOffset);
        ReadOnlySpan<byte> l = Storage.Cell(list, "value list", (int)count * 4);
        for (int i = 0; i < count; i++)
        {
            result.Add(Field(l, i * 4));
        }
        return result;
    }

    public ReadOnlySpan<byte> ValueCell(int vk)
    {
        ReadOnlySpan<byte> c = Storage.Cell(vk, "value key", ValueKey.NameOffset);
        ushort sig = BinaryPrimitives.ReadUInt16LittleEndian(c);
        if (sig != ValueKey.Signature)
        {
            throw Storage.Corrupt("value key", vk, $"signature is 0x{sig:X4}, expected \"vk\"");
        }
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(ValueKey.NameLengthOffset));
        if (nameLength > c.Length - ValueKey.NameOffset)
        {
            throw Storage.Corrupt("value key", vk, $"name length {nameLength} exceeds the cell ({c.Length - ValueKey.NameOffset} bytes left)");
        }
        return c;
    }

    public string ValueName(int vk)
    {
        ReadOnlySpan<byte> c = ValueCell(vk);
        int len = BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(ValueKey.NameLengthOffset));
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(ValueKey.FlagsOffset));
        return NameRules.Decode(c.Slice(ValueKey.NameOffset, len), (flags & ValueKey.FlagCompressedName) != 0);
    }

    public uint ValueType(int vk) => BinaryPrimitives.ReadUInt32LittleEndian(ValueCell(vk).Slice(ValueKey.TypeOffset));

    /// <summary>The value's data: inline, in one cell, or gathered from big-data segments.</summary>
    public byte[] ValueData(int vk)
    {
        ReadOnlySpan<byte> c = ValueCell(vk);
        uint rawSize = BinaryPrimitives.ReadUInt32LittleEndian(c.Slice(ValueKey.DataSizeOffset));
        int dataCell = Field(c, ValueKey.DataOffsetOffset);
        if ((rawSize & ValueKey.InlineDataFlag) != 0)
        {
            uint inlineSize = rawSize & ~ValueKey.InlineDataFlag;
            if (inlineSize > 4)
            {
                throw Storage.Corrupt("value key", vk, $"inline data size {inlineSize} is over 4 bytes");
            }
            return c.Slice(ValueKey.DataOffsetOffset, (int)inlineSize).ToArray();
        }
        if (rawSize == 0)
        {
            return Array.Empty<byte>();
        }
        if (rawSize > (uint)Storage.Length)
        {
            throw Storage.Corrupt("value key", vk, $"data size {rawSize} is larger than the hive");
        }
        int size = (int)rawSize;
        ReadOnlySpan<byte> d = Storage.Cell(dataCell, "value data");
        if (size > BigData.MaxSegmentSize && SupportsBigData && d.Length >= BigData.HeaderSize
            && BinaryPrimitives.ReadUInt16LittleEndian(d) == BigData.Signature)
        {
            return ReadBigData(dataCell, size);
        }
        if (d.Length < size)
        {
            throw Storage.Corrupt("value data", dataCell, $"cell holds {d.Length} bytes, the value says {size}");
        }
        return d.Slice(0, size).ToArray();
    }

    /// <summary>The segment cells of a big-data value, validated.</summary>
    public List<int> BigDataSegments(int db, int size)
    {
        ReadOnlySpan<byte> h = Storage.Cell(db, "big data", BigData.HeaderSize);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(BigData.SegmentCountOffset));
        int expected = (size + BigData.MaxSegmentSize - 1) / BigData.MaxSegmentSize;
        if (count < expected)
        {
            throw Storage.Corrupt("big data", db, $"{count} segments cannot hold {size} bytes (need {expected})");
        }
        int list = Field(h, BigData.SegmentListOffset);
        ReadOnlySpan<byte> l = Storage.Cell(list, "big data segment list", count * 4);
        var segments = new List<int>(count);
        for (int i = 0; i < count; i++)
        {
            segments.Add(Field(l, i * 4));
        }
        segments.Add(list);
        return segments;
    }

    private byte[] ReadBigData(int db, int size)
    {
        List<int> segments = BigDataSegments(db, size);
        var result = new byte[size];
        int done = 0;
        for (int i = 0; i < segments.Count - 1 && done < size; i++)
        {
            int take = Math.Min(BigData.MaxSegmentSize, size - done);
            ReadOnlySpan<byte> seg = Storage.Cell(segments[i], "big data segment", take);
            seg.Slice(0, take).CopyTo(result.AsSpan(done));
            done += take;
        }
        return result;
    }

    public int ReferenceCount(int sk) => Field(SecurityCellData(sk), SecurityCell.ReferenceCountOffset);

    public ReadOnlySpan<byte> SecurityCellData(int sk)
    {
        ReadOnlySpan<byte> c = Storage.Cell(sk, "security cell", SecurityCell.DescriptorOffset);
        ushort sig = BinaryPrimitives.ReadUInt16LittleEndian(c);
        if (sig != SecurityCell.Signature)
        {
            throw Storage.Corrupt("security cell", sk, $"signature is 0x{sig:X4}, expected \"sk\"");
        }
        int descriptorSize = Field(c, SecurityCell.DescriptorSizeOffset);
        if (descriptorSize < 0 || descriptorSize > c.Length - SecurityCell.DescriptorOffset)
        {
            throw Storage.Corrupt("security cell", sk, $"descriptor size {descriptorSize} exceeds the cell");
        }
        return c;
    }

    public byte[] SecurityDescriptor(int sk)
    {
        ReadOnlySpan<byte> c = SecurityCellData(sk);
        return c.Slice(SecurityCell.DescriptorOffset, Field(c, SecurityCell.DescriptorSizeOffset)).ToArray();
    }
}
