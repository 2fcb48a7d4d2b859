using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Registry.Format;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>Verify reports every structural problem it finds, several at once, instead of throwing at the first.</summary>
public sealed class VerifyTests
{
    [Fact]
    public void ReportsSeveralProblemsInOneWalk()
    {
        byte[] b = File.ReadAllBytes(TestData.Require(Hives.Bcd));
        int objects, rootList, sk, freeCell, elements;
        using (RegistryHive clean = RegistryHive.Open(new MemoryStream(b), null))
        {
            Assert.Empty(clean.Verify());
            objects = clean.OpenKey("Objects")!.Cell;
            rootList = HiveCells.Field(clean.Cells.KeyCell(clean.Root.Cell), KeyNode.SubkeyListOffset);
            sk = clean.Cells.SecurityCellOf(clean.Root.Cell);
            freeCell = clean.Cells.Storage.EnumerateCells().First(c => !c.Allocated).Offset;
            elements = clean.OpenKey(@"Objects")!.GetSubkeys()[0].OpenSubkey("Elements")!.Cell;
        }
        byte[] d = (byte[])b.Clone();
        // 1. Root's two subkeys (Description, Objects) swapped: the list is no longer sorted.
        Span<byte> list = d.AsSpan(4096 + rootList + 4 + SubkeyList.EntriesOffset);
        int stride = BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(4096 + rootList + 4)) == SubkeyList.IndexLeaf ? 4 : 8;
        byte[] first = list.Slice(0, stride).ToArray();
        list.Slice(stride, stride).CopyTo(list);
        first.CopyTo(list.Slice(stride));
        // 2. The shared security cell claims no users.
        BinaryPrimitives.WriteInt32LittleEndian(d.AsSpan(4096 + sk + 4 + SecurityCell.ReferenceCountOffset), 0);
        // 3. A free cell marked allocated: nothing refers to it.
        int size = BinaryPrimitives.ReadInt32LittleEndian(d.AsSpan(4096 + freeCell));
        BinaryPrimitives.WriteInt32LittleEndian(d.AsSpan(4096 + freeCell), -size);
        // 4. A key whose parent field points elsewhere.
        BinaryPrimitives.WriteInt32LittleEndian(d.AsSpan(4096 + elements + 4 + KeyNode.ParentOffset), objects);

        using RegistryHive hive = RegistryHive.Open(new MemoryStream(d), null);
        IReadOnlyList<RegistryProblem> problems = hive.Verify();
        string all = string.Join("\n", problems);
        Assert.Contains(problems, p => p.Message.Contains("not sorted", StringComparison.Ordinal) && p.Offset == 4096 + hive.Root.Cell);
        Assert.Contains(problems, p => p.Message.Contains("reference count", StringComparison.Ordinal) && p.Offset == 4096 + sk);
        Assert.Contains(problems, p => p.Message.Contains("leaked", StringComparison.Ordinal) && p.Offset == 4096 + freeCell);
        Assert.Contains(problems, p => p.Message.Contains("parent field", StringComparison.Ordinal) && p.Offset == 4096 + elements);
        Assert.True(problems.Count >= 4, all);
    }
}
