using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// The structural check behind <see cref="RegistryHive.Verify"/>: walks every key from the root and records each
/// problem (bad record, wrong count, unsorted list, wrong hash, wrong parent, security reference counts that do not
/// match, cells that are allocated but unreachable) instead of stopping at the first.
/// </summary>
internal static class HiveVerifier
{
    public static IReadOnlyList<RegistryProblem> Verify(HiveCells cells, int root)
    {
        var problems = new List<RegistryProblem>();
        HiveStorage s = cells.Storage;
        var used = new HashSet<int>();
        var skRefs = new Dictionary<int, int>();
        var seen = new HashSet<int>();
        var stack = new Stack<(int Key, int Parent)>();
        stack.Push((root, -1));
        void Add(int cell, string message) => problems.Add(new RegistryProblem(cell + (long)BaseBlock.Size, message));
        void Use(int cell)
        {
            if (s.IsAllocatedCell(cell))
            {
                used.Add(cell);
            }
        }

        while (stack.Count > 0 && problems.Count < 10000)
        {
            (int nk, int parent) = stack.Pop();
            if (!seen.Add(nk))
            {
                Add(nk, "key node is reachable twice (subkey list loop or shared key)");
                continue;
            }
            try
            {
                ReadOnlySpan<byte> c = cells.KeyCell(nk);
                Use(nk);
                int declaredParent = HiveCells.Field(c, KeyNode.ParentOffset);
                if (parent >= 0 && declaredParent != parent)
                {
                    Add(nk, $"parent field is 0x{declaredParent:X}, but the key is listed under 0x{parent:X}");
                }
                int sk = HiveCells.Field(c, KeyNode.SecurityOffset);
                if (!s.IsAllocatedCell(sk))
                {
                    Add(nk, $"security cell offset 0x{sk:X} is not an allocated cell");
                }
                else
                {
                    cells.SecurityCellData(sk);
                    Use(sk);
                    skRefs[sk] = skRefs.TryGetValue(sk, out int n) ? n + 1 : 1;
                }
                int classCell = HiveCells.Field(c, KeyNode.ClassOffset);
                if (classCell != KeyNode.NoCell && BinaryPrimitives.ReadUInt16LittleEndian(c.Slice(KeyNode.ClassLengthOffset)) > 0)
                {
                    cells.KeyClassName(nk);
                    Use(classCell);
                }
                CheckValues(cells, nk, Add, Use);
                List<int> children = cells.SubkeyOffsets(nk);
                foreach (int listCell in cells.SubkeyListCells(nk))
                {
                    Use(listCell);
                }
                try
                {
                    CheckSubkeyList(cells, nk, children, Add);
                }
                catch (CorruptDataException ex)
                {
                    problems.Add(new RegistryProblem(ex.Offset, ex.Problem + " (" + ex.Structure + ")"));
                }
                foreach (int child in children)
                {
                    stack.Push((child, nk));
                }
            }
            catch (CorruptDataException ex)
            {
                problems.Add(new RegistryProblem(ex.Offset, ex.Problem + " (" + ex.Structure + ")"));
            }
        }

        foreach (KeyValuePair<int, int> kv in skRefs)
        {
            int stored = SafeReferenceCount(cells, kv.Key);
            if (stored < kv.Value)
            {
                Add(kv.Key, $"security cell reference count is {stored}, but {kv.Value} keys use it");
            }
        }
        CheckSecurityList(cells, skRefs.Keys, Add, Use);
        foreach ((int offset, int _, bool allocated) in s.EnumerateCells())
        {
            if (allocated && !used.Contains(offset))
            {
                Add(offset, "cell is allocated but nothing refers to it (leaked)");
            }
        }
        return problems;
    }

    private static int SafeReferenceCount(HiveCells cells, int sk)
    {
        try
        {
            return cells.ReferenceCount(sk);
        }
        catch (CorruptDataException)
        {
            return int.MaxValue; // already reported when the key was walked
        }
    }

    private static void CheckValues(HiveCells cells, int nk, Action<int, string> add, Action<int> use)
    {
        ReadOnlySpan<byte> c = cells.KeyCell(nk);
        if (HiveCells.Field(c, KeyNode.ValueCountOffset) == 0)
        {
            return;
        }
        use(HiveCells.Field(c, KeyNode.ValueListOffset));
        foreach (int vk in cells.ValueOffsets(nk))
        {
            try
            {
                ReadOnlySpan<byte> v = cells.ValueCell(vk);
                use(vk);
                cells.ValueData(vk);
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(v.Slice(ValueKey.DataSizeOffset));
                int data = HiveCells.Field(v, ValueKey.DataOffsetOffset);
                if ((size & ValueKey.InlineDataFlag) == 0 && size > 0)
                {
                    use(data);
                    ReadOnlySpan<byte> d = cells.Storage.Cell(data, "value data");
                    if (size > BigData.MaxSegmentSize && cells.SupportsBigData && d.Length >= BigData.HeaderSize
                        && BinaryPrimitives.ReadUInt16LittleEndian(d) == BigData.Signature)
                    {
                        foreach (int seg in cells.BigDataSegments(data, (int)size))
                        {
                            use(seg);
                        }
                    }
                }
            }
            catch (CorruptDataException ex)
            {
                add(vk, ex.Problem + " (" + ex.Structure + ")");
            }
        }
    }

    private static void CheckSubkeyList(HiveCells cells, int nk, List<int> children, Action<int, string> add)
    {
        string? previous = null;
        foreach (int child in children)
        {
            string name = cells.KeyName(child);
            if (previous is not null && NameRules.Compare(previous, name) >= 0)
            {
                add(nk, $"subkey list is not sorted: '{previous}' comes before '{name}'");
            }
            previous = name;
        }
        ReadOnlySpan<byte> c = cells.KeyCell(nk);
        if (children.Count == 0)
        {
            return;
        }
        var leaves = new List<int>();
        int list = HiveCells.Field(c, KeyNode.SubkeyListOffset);
        ReadOnlySpan<byte> l = cells.Storage.Cell(list, "subkey list", 4);
        if (BinaryPrimitives.ReadUInt16LittleEndian(l) == SubkeyList.IndexRoot)
        {
            int n = BinaryPrimitives.ReadUInt16LittleEndian(l.Slice(2));
            for (int i = 0; i < n; i++)
            {
                leaves.Add(HiveCells.Field(l, SubkeyList.EntriesOffset + (i * 4)));
            }
        }
        else
        {
            leaves.Add(list);
        }
        foreach (int leaf in leaves)
        {
            ReadOnlySpan<byte> e = cells.Storage.Cell(leaf, "subkey list", 4);
            ushort sig = BinaryPrimitives.ReadUInt16LittleEndian(e);
            if (sig is not (SubkeyList.HashLeaf or SubkeyList.FastLeaf))
            {
                continue;
            }
            int n = BinaryPrimitives.ReadUInt16LittleEndian(e.Slice(2));
            for (int i = 0; i < n; i++)
            {
                int child = HiveCells.Field(e, SubkeyList.EntriesOffset + (i * 8));
                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(SubkeyList.EntriesOffset + (i * 8) + 4));
                string name = cells.KeyName(child);
                if (sig == SubkeyList.HashLeaf && stored != NameRules.Hash(name))
                {
                    add(leaf, $"hash of '{name}' is 0x{stored:X8}, expected 0x{NameRules.Hash(name):X8}");
                }
                if (sig == SubkeyList.FastLeaf && stored != NameRules.Hint(name))
                {
                    add(leaf, $"name hint of '{name}' is 0x{stored:X8}, expected 0x{NameRules.Hint(name):X8}");
                }
            }
        }
    }

    private static void CheckSecurityList(HiveCells cells, IEnumerable<int> inUse, Action<int, string> add, Action<int> use)
    {
        foreach (int sk in inUse)
        {
            // Walk the whole ring from one member: every member must link back correctly and the walk must end.
            int current = sk;
            int limit = cells.Storage.Length / 16;
            for (int steps = 0; steps <= limit; steps++)
            {
                ReadOnlySpan<byte> c;
                try
                {
                    c = cells.SecurityCellData(current);
                }
                catch (CorruptDataException ex)
                {
                    add(current, ex.Problem);
                    return;
                }
                use(current);
                int next = HiveCells.Field(c, SecurityCell.FlinkOffset);
                if (!cells.Storage.IsAllocatedCell(next))
                {
                    add(current, $"security list forward link 0x{next:X} is not a cell");
                    return;
                }
                int back = HiveCells.Field(cells.Storage.Cell(next, "security cell", SecurityCell.DescriptorOffset), SecurityCell.BlinkOffset);
                if (back != current)
                {
                    add(next, $"security list back link is 0x{back:X}, expected 0x{current:X}");
                }
                current = next;
                if (current == sk)
                {
                    return;
                }
            }
            add(sk, "security list does not close into a ring");
            return;
        }
    }
}
