using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// Changes a hive the way Windows lays it out: subkey lists kept sorted (with lf hints or lh hashes), new keys share
/// their parent's security cell (reference counted), values inline, in one cell or as big data, freed cells reused.
/// </summary>
internal sealed class HiveEditor
{
    private readonly HiveCells _cells;
    private readonly Func<long> _now;

    public HiveEditor(HiveCells cells, Func<long> now)
    {
        _cells = cells;
        _now = now;
    }

    private HiveStorage S => _cells.Storage;

    public int FindSubkey(int nk, string name)
    {
        List<int> children = _cells.SubkeyOffsets(nk);
        int i = SearchSorted(children, name, out bool found);
        if (found)
        {
            return children[i];
        }
        // Lists written by other tools might not be sorted: fall back to a scan before saying "absent".
        foreach (int child in children)
        {
            if (NameRules.NamesEqual(_cells.KeyName(child), name))
            {
                return child;
            }
        }
        return -1;
    }

    private int SearchSorted(List<int> children, string name, out bool found)
    {
        int lo = 0;
        int hi = children.Count - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) / 2);
            int cmp = NameRules.Compare(_cells.KeyName(children[mid]), name);
            if (cmp == 0)
            {
                found = true;
                return mid;
            }
            if (cmp < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        found = false;
        return lo;
    }

    public int FindValue(int nk, string name)
    {
        foreach (int vk in _cells.ValueOffsets(nk))
        {
            if (NameRules.NamesEqual(_cells.ValueName(vk), name))
            {
                return vk;
            }
        }
        return -1;
    }

    public int CreateSubkey(int parent, string name)
    {
        ValidateKeyName(name);
        bool compressed = NameRules.CanCompress(name);
        byte[] nameBytes = NameRules.Encode(name, compressed);
        int sk = _cells.SecurityCellOf(parent);
        int nk = S.Allocate(KeyNode.NameOffset + nameBytes.Length);
        Span<byte> c = S.WritableCell(nk);
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.SignatureOffset), KeyNode.Signature);
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.FlagsOffset), compressed ? KeyNode.FlagCompressedName : (ushort)0);
        BinaryPrimitives.WriteInt64LittleEndian(c.Slice(KeyNode.LastWriteOffset), _now());
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.ParentOffset), parent);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.SubkeyListOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.VolatileSubkeyListOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.ValueListOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.SecurityOffset), sk);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.ClassOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.NameLengthOffset), (ushort)nameBytes.Length);
        nameBytes.CopyTo(c.Slice(KeyNode.NameOffset));
        if (S.IsAllocatedCell(sk))
        {
            S.WriteInt32(sk, SecurityCell.ReferenceCountOffset, _cells.ReferenceCount(sk) + 1);
        }
        InsertChild(parent, nk, name);
        return nk;
    }

    private static void ValidateKeyName(string name)
    {
        if (name.Length == 0 || name.Length > NameRules.MaxNameChars || name.IndexOf('\\') >= 0)
        {
            throw new ArgumentException($"'{name}' is not a valid key name (1 to 255 characters, no backslash).", nameof(name));
        }
    }

    private void InsertChild(int parent, int child, string name)
    {
        List<int> children = _cells.SubkeyOffsets(parent);
        int i = SearchSorted(children, name, out bool found);
        if (found)
        {
            throw new InvalidOperationException($"A subkey named '{name}' exists already.");
        }
        children.Insert(i, child);
        WriteSubkeyList(parent, children);
        int nameBytes = name.Length * 2;
        ReadOnlySpan<byte> p = _cells.KeyCell(parent);
        if (HiveCells.Field(p, KeyNode.MaxSubkeyNameOffset) < nameBytes)
        {
            S.WriteInt32(parent, KeyNode.MaxSubkeyNameOffset, nameBytes);
        }
        Touch(parent);
    }

    private void RemoveChild(int parent, int child)
    {
        List<int> children = _cells.SubkeyOffsets(parent);
        children.Remove(child);
        WriteSubkeyList(parent, children);
        Touch(parent);
    }

    private void Touch(int nk) => S.WriteInt64(nk, KeyNode.LastWriteOffset, _now());

    /// <summary>Replaces a key's subkey list by one built from <paramref name="children"/> (already sorted).</summary>
    private void WriteSubkeyList(int nk, List<int> children)
    {
        ushort kind = _cells.LeafKind(nk);
        if (kind is not (SubkeyList.IndexLeaf or SubkeyList.FastLeaf or SubkeyList.HashLeaf))
        {
            kind = _cells.MinorVersion >= 5 ? SubkeyList.HashLeaf : SubkeyList.FastLeaf;
        }
        foreach (int cell in _cells.SubkeyListCells(nk))
        {
            S.Free(cell);
        }
        int list = KeyNode.NoCell;
        if (children.Count > 0 && children.Count <= SubkeyList.MaxLeafEntries)
        {
            list = WriteLeaf(kind, children, 0, children.Count);
        }
        else if (children.Count > 0)
        {
            int leaves = (children.Count + SubkeyList.MaxLeafEntries - 1) / SubkeyList.MaxLeafEntries;
            var leafCells = new int[leaves];
            for (int i = 0; i < leaves; i++)
            {
                int start = i * SubkeyList.MaxLeafEntries;
                leafCells[i] = WriteLeaf(kind, children, start, Math.Min(SubkeyList.MaxLeafEntries, children.Count - start));
            }
            list = S.Allocate(SubkeyList.EntriesOffset + (leaves * 4));
            Span<byte> r = S.WritableCell(list);
            BinaryPrimitives.WriteUInt16LittleEndian(r, SubkeyList.IndexRoot);
            BinaryPrimitives.WriteUInt16LittleEndian(r.Slice(SubkeyList.CountOffset), (ushort)leaves);
            for (int i = 0; i < leaves; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(r.Slice(SubkeyList.EntriesOffset + (i * 4)), leafCells[i]);
            }
        }
        S.WriteInt32(nk, KeyNode.SubkeyListOffset, list);
        S.WriteInt32(nk, KeyNode.SubkeyCountOffset, children.Count);
    }

    private int WriteLeaf(ushort kind, List<int> children, int start, int count)
    {
        int stride = kind == SubkeyList.IndexLeaf ? 4 : 8;
        var names = new string[count];
        for (int i = 0; i < count; i++)
        {
            names[i] = stride == 8 ? _cells.KeyName(children[start + i]) : string.Empty;
        }
        int leaf = S.Allocate(SubkeyList.EntriesOffset + (count * stride));
        Span<byte> l = S.WritableCell(leaf);
        BinaryPrimitives.WriteUInt16LittleEndian(l, kind);
        BinaryPrimitives.WriteUInt16LittleEndian(l.Slice(SubkeyList.CountOffset), (ushort)count);
        for (int i = 0; i < count; i++)
        {
            Span<byte> e = l.Slice(SubkeyList.EntriesOffset + (i * stride));
            BinaryPrimitives.WriteInt32LittleEndian(e, children[start + i]);
            if (stride == 8)
            {
                uint extra = kind == SubkeyList.HashLeaf ? NameRules.Hash(names[i]) : NameRules.Hint(names[i]);
                BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(4), extra);
            }
        }
        return leaf;
    }

    /// <summary>Deletes a key and everything below it (the caller has found it under <paramref name="parent"/>).</summary>
    public void DeleteTree(int parent, int key)
    {
        // Collect first (iteratively, with loop detection), then free deepest keys first.
        var order = new List<int>();
        var seen = new HashSet<int>();
        var stack = new Stack<int>();
        stack.Push(key);
        while (stack.Count > 0)
        {
            int k = stack.Pop();
            if (!seen.Add(k))
            {
                throw S.Corrupt("key node", k, "the key appears twice below the key being deleted (subkey list loop)");
            }
            order.Add(k);
            foreach (int child in _cells.SubkeyOffsets(k))
            {
                stack.Push(child);
            }
        }
        RemoveChild(parent, key);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            FreeKey(order[i]);
        }
    }

    private void FreeKey(int nk)
    {
        foreach (int vk in _cells.ValueOffsets(nk))
        {
            FreeValue(vk);
        }
        ReadOnlySpan<byte> c = _cells.KeyCell(nk);
        int valueList = HiveCells.Field(c, KeyNode.ValueListOffset);
        if (HiveCells.Field(c, KeyNode.ValueCountOffset) > 0 && S.IsAllocatedCell(valueList))
        {
            S.Free(valueList);
        }
        foreach (int cell in _cells.SubkeyListCells(nk))
        {
            S.Free(cell);
        }
        c = _cells.KeyCell(nk);
        int classCell = HiveCells.Field(c, KeyNode.ClassOffset);
        if (classCell != KeyNode.NoCell && S.IsAllocatedCell(classCell))
        {
            S.Free(classCell);
        }
        ReleaseSecurity(HiveCells.Field(c, KeyNode.SecurityOffset));
        S.Free(nk);
    }

    private void ReleaseSecurity(int sk)
    {
        if (!S.IsAllocatedCell(sk))
        {
            return;
        }
        int refs = _cells.ReferenceCount(sk) - 1;
        if (refs > 0)
        {
            S.WriteInt32(sk, SecurityCell.ReferenceCountOffset, refs);
            return;
        }
        ReadOnlySpan<byte> c = _cells.SecurityCellData(sk);
        int flink = HiveCells.Field(c, SecurityCell.FlinkOffset);
        int blink = HiveCells.Field(c, SecurityCell.BlinkOffset);
        if (flink != sk && S.IsAllocatedCell(flink) && S.IsAllocatedCell(blink))
        {
            S.WriteInt32(blink, SecurityCell.FlinkOffset, flink);
            S.WriteInt32(flink, SecurityCell.BlinkOffset, blink);
            S.Free(sk);
        }
        else
        {
            S.WriteInt32(sk, SecurityCell.ReferenceCountOffset, 0);
        }
    }

    /// <summary>Renames a key; returns its (possibly new) cell offset.</summary>
    public int Rename(int parent, int nk, string newName)
    {
        ValidateKeyName(newName);
        int existing = FindSubkey(parent, newName);
        if (existing >= 0 && existing != nk)
        {
            throw new InvalidOperationException($"A subkey named '{newName}' exists already.");
        }
        bool compressed = NameRules.CanCompress(newName);
        byte[] nameBytes = NameRules.Encode(newName, compressed);
        byte[] header = _cells.KeyCell(nk).Slice(0, KeyNode.NameOffset).ToArray();
        RemoveChild(parent, nk);
        int fresh = S.Allocate(KeyNode.NameOffset + nameBytes.Length);
        Span<byte> c = S.WritableCell(fresh);
        header.CopyTo(c);
        ushort flags = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(KeyNode.FlagsOffset)) & ~KeyNode.FlagCompressedName);
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.FlagsOffset), (ushort)(flags | (compressed ? KeyNode.FlagCompressedName : 0)));
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.NameLengthOffset), (ushort)nameBytes.Length);
        BinaryPrimitives.WriteInt64LittleEndian(c.Slice(KeyNode.LastWriteOffset), _now());
        nameBytes.CopyTo(c.Slice(KeyNode.NameOffset));
        S.Free(nk);
        foreach (int child in _cells.SubkeyOffsets(fresh))
        {
            S.WriteInt32(child, KeyNode.ParentOffset, fresh);
        }
        InsertChild(parent, fresh, newName);
        return fresh;
    }

    /// <summary>Creates or replaces a value; returns false, touching nothing (not even the key's last-write time), when
    /// the value already has this type and data.</summary>
    public bool SetValue(int nk, string name, uint type, ReadOnlySpan<byte> data)
    {
        if (name.Length > NameRules.MaxValueNameChars)
        {
            throw new ArgumentException("A value name has at most 16383 characters.", nameof(name));
        }
        int vk = FindValue(nk, name);
        if (vk >= 0 && _cells.ValueType(vk) == type && data.SequenceEqual(_cells.ValueData(vk)))
        {
            return false;
        }
        if (vk < 0)
        {
            bool compressed = NameRules.CanCompress(name);
            byte[] nameBytes = NameRules.Encode(name, compressed);
            vk = S.Allocate(ValueKey.NameOffset + nameBytes.Length);
            Span<byte> v = S.WritableCell(vk);
            BinaryPrimitives.WriteUInt16LittleEndian(v, ValueKey.Signature);
            BinaryPrimitives.WriteUInt16LittleEndian(v.Slice(ValueKey.NameLengthOffset), (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(v.Slice(ValueKey.FlagsOffset), compressed ? ValueKey.FlagCompressedName : (ushort)0);
            BinaryPrimitives.WriteUInt32LittleEndian(v.Slice(ValueKey.DataSizeOffset), ValueKey.InlineDataFlag);
            nameBytes.CopyTo(v.Slice(ValueKey.NameOffset));
            List<int> values = _cells.ValueOffsets(nk);
            int oldList = HiveCells.Field(_cells.KeyCell(nk), KeyNode.ValueListOffset);
            values.Add(vk);
            int list = S.Allocate(values.Count * 4);
            Span<byte> l = S.WritableCell(list);
            for (int i = 0; i < values.Count; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(l.Slice(i * 4), values[i]);
            }
            if (values.Count > 1)
            {
                S.Free(oldList);
            }
            S.WriteInt32(nk, KeyNode.ValueListOffset, list);
            S.WriteInt32(nk, KeyNode.ValueCountOffset, values.Count);
            if (HiveCells.Field(_cells.KeyCell(nk), KeyNode.MaxValueNameOffset) < name.Length * 2)
            {
                S.WriteInt32(nk, KeyNode.MaxValueNameOffset, name.Length * 2);
            }
        }
        else
        {
            FreeValueData(vk);
        }
        WriteValueData(vk, type, data);
        if (HiveCells.Field(_cells.KeyCell(nk), KeyNode.MaxValueDataOffset) < data.Length)
        {
            S.WriteInt32(nk, KeyNode.MaxValueDataOffset, data.Length);
        }
        Touch(nk);
        return true;
    }

    private void WriteValueData(int vk, uint type, ReadOnlySpan<byte> data)
    {
        S.WriteInt32(vk, ValueKey.TypeOffset, unchecked((int)type));
        if (data.Length <= 4)
        {
            Span<byte> inline = stackalloc byte[4];
            inline.Clear();
            data.CopyTo(inline);
            S.WriteInt32(vk, ValueKey.DataSizeOffset, unchecked((int)(ValueKey.InlineDataFlag | (uint)data.Length)));
            S.WriteInt32(vk, ValueKey.DataOffsetOffset, BinaryPrimitives.ReadInt32LittleEndian(inline));
            return;
        }
        int cell;
        if (data.Length <= BigData.MaxSegmentSize || !_cells.SupportsBigData)
        {
            cell = S.Allocate(data.Length);
            data.CopyTo(S.WritableCell(cell));
        }
        else
        {
            int count = (data.Length + BigData.MaxSegmentSize - 1) / BigData.MaxSegmentSize;
            if (count > ushort.MaxValue)
            {
                throw new ArgumentException("The value is too large for a registry hive.", nameof(data));
            }
            var segments = new int[count];
            for (int i = 0; i < count; i++)
            {
                int start = i * BigData.MaxSegmentSize;
                int take = Math.Min(BigData.MaxSegmentSize, data.Length - start);
                // Four bytes of slack: some readers (hivex) take a segment's length as its cell size minus 8.
                segments[i] = S.Allocate(take + 4);
                data.Slice(start, take).CopyTo(S.WritableCell(segments[i]));
            }
            int list = S.Allocate(count * 4);
            Span<byte> l = S.WritableCell(list);
            for (int i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(l.Slice(i * 4), segments[i]);
            }
            cell = S.Allocate(BigData.HeaderSize);
            Span<byte> h = S.WritableCell(cell);
            BinaryPrimitives.WriteUInt16LittleEndian(h, BigData.Signature);
            BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(BigData.SegmentCountOffset), (ushort)count);
            BinaryPrimitives.WriteInt32LittleEndian(h.Slice(BigData.SegmentListOffset), list);
        }
        S.WriteInt32(vk, ValueKey.DataSizeOffset, data.Length);
        S.WriteInt32(vk, ValueKey.DataOffsetOffset, cell);
    }

    public bool DeleteValue(int nk, string name)
    {
        int vk = FindValue(nk, name);
        if (vk < 0)
        {
            return false;
        }
        List<int> values = _cells.ValueOffsets(nk);
        int oldList = HiveCells.Field(_cells.KeyCell(nk), KeyNode.ValueListOffset);
        values.Remove(vk);
        FreeValue(vk);
        S.Free(oldList);
        int list = KeyNode.NoCell;
        if (values.Count > 0)
        {
            list = S.Allocate(values.Count * 4);
            Span<byte> l = S.WritableCell(list);
            for (int i = 0; i < values.Count; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(l.Slice(i * 4), values[i]);
            }
        }
        S.WriteInt32(nk, KeyNode.ValueListOffset, list);
        S.WriteInt32(nk, KeyNode.ValueCountOffset, values.Count);
        Touch(nk);
        return true;
    }

    private void FreeValue(int vk)
    {
        FreeValueData(vk);
        S.Free(vk);
    }

    private void FreeValueData(int vk)
    {
        ReadOnlySpan<byte> v = _cells.ValueCell(vk);
        uint rawSize = BinaryPrimitives.ReadUInt32LittleEndian(v.Slice(ValueKey.DataSizeOffset));
        int cell = HiveCells.Field(v, ValueKey.DataOffsetOffset);
        if ((rawSize & ValueKey.InlineDataFlag) != 0 || rawSize == 0 || !S.IsAllocatedCell(cell))
        {
            return;
        }
        ReadOnlySpan<byte> d = S.Cell(cell, "value data");
        if (rawSize > BigData.MaxSegmentSize && _cells.SupportsBigData && d.Length >= BigData.HeaderSize
            && BinaryPrimitives.ReadUInt16LittleEndian(d) == BigData.Signature)
        {
            foreach (int seg in _cells.BigDataSegments(cell, (int)rawSize))
            {
                S.Free(seg);
            }
        }
        S.Free(cell);
    }
}
