using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using CsCheck;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Ntfs.Internal;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// The index B-tree editor, in memory: each structural path (split, cascade, push-down, removal from a leaf and from an
/// internal node, merge, borrow, fold-back) on its own, then random edit sequences checked against a sorted model.
/// Every node the tree hands back is encoded as an INDX record / $INDEX_ROOT and decoded again, and the persisted
/// "disk" is walked independently to check the B-tree rules.
/// </summary>
public class IndexTreeTests
{
    private static readonly UpCaseTable UpCase = BuildUpCase();

    // The model's order, written independently of the tree: upper-case each code unit (invariant culture), compare
    // numerically, shorter first, then exact code units for names equal but for case.
    internal static int ModelOrder(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int d = char.ToUpperInvariant(a[i]).CompareTo(char.ToUpperInvariant(b[i]));
            if (d != 0)
            {
                return d;
            }
        }
        return a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
    }

    private static readonly Comparer<string> Model = Comparer<string>.Create(ModelOrder);

    private static UpCaseTable BuildUpCase()
    {
        byte[] table = new byte[UpCaseTable.Entries * 2];
        for (int i = 0; i < UpCaseTable.Entries; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(2 * i), char.ToUpperInvariant((char)i));
        }
        return new UpCaseTable(table);
    }

    internal static IndexEntry Entry(string name, ulong reference = 0x0001_0000_0000_0040UL) =>
        IndexEntry.ForFileName(reference, FileNameAttribute.Encode(0x0005_0000_0000_0005UL, name, FileNameAttribute.NamespacePosix,
            1, 2, 3, 4, 0, 0, 0x20));

    /// <summary>An index "on disk": INDX records as bytes, the root as an encoded $INDEX_ROOT, the bitmap.</summary>
    internal sealed class Harness
    {
        private readonly Dictionary<long, byte[]> _records;
        private readonly UpCaseTable _upcase;
        private byte[] _rootValue;
        private bool[] _bitmap;
        private ushort _usn;

        public Harness(int recordSize, int vcnsPerRecord, int maxRoot)
            : this(recordSize, vcnsPerRecord, maxRoot, IndexRoot.Encode(0x30, IndexRoot.CollationFileName, recordSize, 1, new[] { IndexEntry.Last() }),
                  new Dictionary<long, byte[]>(), Array.Empty<bool>(), UpCase)
        {
        }

        /// <summary>An index as found on a volume: its $INDEX_ROOT value, raw INDX records by VCN, and $BITMAP bits.</summary>
        public Harness(int recordSize, int vcnsPerRecord, int maxRoot, byte[] rootValue, Dictionary<long, byte[]> records, bool[] bitmap, UpCaseTable upcase)
        {
            RecordSize = recordSize;
            VcnsPerRecord = vcnsPerRecord;
            MaxRoot = maxRoot;
            _rootValue = rootValue;
            _records = records;
            _bitmap = bitmap;
            _upcase = upcase;
            Tree = Open();
        }

        public int RecordSize { get; }

        public int VcnsPerRecord { get; }

        public int MaxRoot { get; }

        public IndexTree Tree { get; private set; }

        public IReadOnlyCollection<long> Vcns => _records.Keys;

        public IndexTree Open() => new(RootEntries(), RecordSize, VcnsPerRecord, Load, _bitmap, IndexTree.FileNameCollation(_upcase), MaxRoot, "test");

        public void Reopen() => Tree = Open();

        public List<IndexEntry> RootEntries() => IndexNode.ReadEntries(_rootValue, IndexRoot.NodeHeaderOffset, "root", 0, null);

        public List<IndexEntry> Load(long vcn)
        {
            byte[] copy = (byte[])_records[vcn].Clone();
            return IndexRecord.ReadFrom(copy, vcn, "test INDX", 0, null);
        }

        /// <summary>Writes what the tree reports, the way the file writer would, checking each encoding round-trips.</summary>
        public void Persist()
        {
            foreach (KeyValuePair<long, List<IndexEntry>> node in Tree.DirtyNodes)
            {
                Assert.True(node.Key % VcnsPerRecord == 0, $"VCN {node.Key} is not a record boundary");
                byte[] bytes = IndexRecord.Encode(RecordSize, node.Key, node.Value, ++_usn == 0 ? ++_usn : _usn);
                AssertSame(node.Value, IndexRecord.ReadFrom((byte[])bytes.Clone(), node.Key, "check", 0, null), $"INDX VCN {node.Key}");
                _records[node.Key] = bytes;
            }
            foreach (long vcn in Tree.FreedNodes)
            {
                Assert.True(_records.Remove(vcn), $"freed VCN {vcn} was never written");
            }
            Assert.True(IndexNode.NodeSize(Tree.RootEntries) <= MaxRoot, $"root of {IndexNode.NodeSize(Tree.RootEntries)} bytes over its {MaxRoot}");
            _rootValue = IndexRoot.Encode(0x30, IndexRoot.CollationFileName, RecordSize, 1, Tree.RootEntries);
            AssertSame(Tree.RootEntries, RootEntries(), "root");
            _bitmap = Tree.Bitmap;
            Assert.Equal(_bitmap.Length == 0 ? 0 : Array.LastIndexOf(_bitmap, true) + 1, Tree.RecordCount);
            Tree.AcceptChanges();
        }

        /// <summary>Walks the persisted index independently: B-tree rules, bitmap, and the names in order.</summary>
        public List<string> CheckAndList(out int depth)
        {
            var names = new List<string>();
            var reached = new HashSet<long>();
            int leafDepth = -1;
            void Visit(List<IndexEntry> entries, int level, string where)
            {
                Assert.True(entries.Count > 0 && entries[^1].IsLast, $"{where}: no end entry");
                bool children = entries[^1].SubnodeVcn >= 0;
                Assert.True(entries.All(e => (e.SubnodeVcn >= 0) == children), $"{where}: mixed child-ness");
                Assert.True(entries.Take(entries.Count - 1).All(e => !e.IsLast), $"{where}: end entry inside");
                if (level > 0)
                {
                    Assert.True(entries.Count >= 2, $"{where}: a non-root node without keys");
                    int bytes = entries.Sum(e => e.EncodedLength);
                    Assert.True(bytes <= IndexRecord.RoomForEntries(RecordSize), $"{where}: {bytes} bytes of entries");
                }
                if (!children)
                {
                    if (leafDepth < 0)
                    {
                        leafDepth = level;
                    }
                    Assert.True(leafDepth == level, $"{where}: leaf at depth {level}, others at {leafDepth}");
                }
                foreach (IndexEntry e in entries)
                {
                    if (children)
                    {
                        Assert.True(reached.Add(e.SubnodeVcn), $"{where}: VCN {e.SubnodeVcn} referenced twice");
                        Assert.True(_records.ContainsKey(e.SubnodeVcn), $"{where}: dangling child VCN {e.SubnodeVcn}");
                        Visit(Load(e.SubnodeVcn), level + 1, $"VCN {e.SubnodeVcn}");
                    }
                    if (!e.IsLast)
                    {
                        names.Add(e.Key!.Name);
                    }
                }
            }
            Visit(RootEntries(), 0, "root");
            Assert.True(reached.SetEquals(_records.Keys), $"records not in the tree: {string.Join(",", _records.Keys.Except(reached))}");
            var bitsInUse = new HashSet<long>(_records.Keys.Select(v => v / VcnsPerRecord));
            for (int i = 0; i < _bitmap.Length; i++)
            {
                Assert.True(_bitmap[i] == bitsInUse.Contains(i), $"bitmap bit {i} is {_bitmap[i]}");
            }
            Assert.True(bitsInUse.All(b => b < _bitmap.Length), "a record beyond the bitmap");
            for (int i = 1; i < names.Count; i++)
            {
                Assert.True(ModelOrder(names[i - 1], names[i]) < 0, $"out of order: \"{names[i - 1]}\" then \"{names[i]}\"");
            }
            depth = leafDepth;
            return names;
        }

        private static void AssertSame(IReadOnlyList<IndexEntry> expected, IReadOnlyList<IndexEntry> actual, string where)
        {
            Assert.True(expected.Count == actual.Count, $"{where}: {actual.Count} entries decoded, {expected.Count} written");
            for (int i = 0; i < expected.Count; i++)
            {
                IndexEntry e = expected[i];
                IndexEntry a = actual[i];
                Assert.True(e.IsLast == a.IsLast && e.SubnodeVcn == a.SubnodeVcn && e.KeyLength == a.KeyLength
                    && (e.IsLast || e.Reference == a.Reference) && e.Body.AsSpan().SequenceEqual(a.Body), $"{where}: entry {i} differs after decoding");
            }
        }
    }

    private static string Name(int i, int length = 20) => ("n" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).PadRight(length, 'x');

    private static Harness Filled(int recordSize, int maxRoot, int count, int length = 20)
    {
        var h = new Harness(recordSize, 1, maxRoot);
        for (int i = 0; i < count; i++)
        {
            h.Tree.Insert(Entry(Name(i, length)));
            h.Persist();
        }
        return h;
    }

    [Fact]
    public void SmallIndex_StaysInTheRoot()
    {
        Harness h = Filled(4096, 600, 3, 8);
        Assert.Equal(0, h.Tree.RecordCount);
        Assert.Empty(h.Vcns);
        List<IndexEntry> root = h.RootEntries();
        Assert.Equal(4, root.Count);
        Assert.All(root, e => Assert.Equal(-1, e.SubnodeVcn));
        Assert.Equal(new[] { Name(0, 8), Name(1, 8), Name(2, 8) }, h.CheckAndList(out int depth));
        Assert.Equal(0, depth);
    }

    [Fact]
    public void RootOverflow_PushesAllEntriesIntoOneIndxNode()
    {
        // 20-character names take 128 bytes each; a 400-byte root holds two, the third pushes them down.
        Harness h = Filled(4096, 400, 2);
        Assert.Equal(0, h.Tree.RecordCount);
        h.Tree.Insert(Entry(Name(2)));
        Assert.Equal(new long[] { 0 }, h.Tree.DirtyNodes.Keys.ToArray());
        Assert.True(h.Tree.RootChanged);
        h.Persist();
        List<IndexEntry> root = h.RootEntries();
        Assert.Single(root);
        Assert.True(root[0].IsLast);
        Assert.Equal(0, root[0].SubnodeVcn);
        Assert.Equal(3, h.Load(0).Count - 1);
        Assert.Equal(1, h.Tree.RecordCount);
        Assert.Equal(3, h.CheckAndList(out int depth).Count);
        Assert.Equal(1, depth);
    }

    [Fact]
    public void ShrinkingTheRootRoom_PushesTheRootDown()
    {
        Harness h = Filled(4096, 600, 3);
        Assert.Equal(0, h.Tree.RecordCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Tree.SetRootCapacity(IndexTree.MinimumRootNodeBytes - 8));
        h.Tree.SetRootCapacity(IndexTree.MinimumRootNodeBytes);
        Assert.True(h.Tree.RootChanged);
        Assert.Equal(1, h.Tree.RecordCount);
        Assert.Single(h.Tree.RootEntries);
        Assert.Equal(3, h.Tree.Enumerate().Count);
    }

    [Fact]
    public void LeafSplit_PromotesTheMedianIntoTheRoot()
    {
        // 512-byte records hold three 128-byte entries (464 bytes of room); the root pushes down at once.
        Harness h = Filled(512, 400, 3);
        Assert.Equal(0, h.RootEntries()[0].SubnodeVcn);
        h.Tree.Insert(Entry(Name(3)));
        h.Persist();
        List<IndexEntry> root = h.RootEntries();
        Assert.Equal(2, root.Count);
        Assert.Equal(Name(1), root[0].Key!.Name);
        Assert.Equal(1, root[0].SubnodeVcn);
        Assert.Equal(0, root[1].SubnodeVcn);
        Assert.Equal(new[] { Name(0) }, h.Load(1).Where(e => !e.IsLast).Select(e => e.Key!.Name));
        Assert.Equal(new[] { Name(2), Name(3) }, h.Load(0).Where(e => !e.IsLast).Select(e => e.Key!.Name));
        Assert.Equal(4, h.CheckAndList(out _).Count);
    }

    [Fact]
    public void Splits_CascadeUpToTheRoot_AndTheTreeGrowsDeep()
    {
        var h = new Harness(512, 1, IndexTree.MinimumRootNodeBytes + 150);
        int depthBefore = 0;
        int grew = 0;
        for (int i = 0; i < 400; i++)
        {
            // Keys inserted out of order so splits happen all over the tree.
            h.Tree.Insert(Entry(Name((i * 7919) % 400)));
            h.Persist();
            h.CheckAndList(out int depth);
            if (depth > depthBefore)
            {
                grew++;
                depthBefore = depth;
            }
        }
        Assert.True(depthBefore >= 4, $"depth {depthBefore}");
        Assert.Equal(depthBefore, grew);
        Assert.Equal(Enumerable.Range(0, 400).Select(i => Name(i)), h.CheckAndList(out _));
    }

    [Fact]
    public void LargeRoot_PushedIntoSmallRecords_IsSplitSeveralWays()
    {
        // A 1000-byte root of 128-byte entries pushed down into 512-byte records needs more than one split.
        Harness h = Filled(512, 1000, 7);
        Assert.Equal(0, h.Tree.RecordCount);
        h.Tree.Insert(Entry(Name(7)));
        h.Persist();
        Assert.True(h.Vcns.Count >= 3);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => Name(i)), h.CheckAndList(out int depth));
        Assert.Equal(1, depth);
    }

    [Fact]
    public void RemoveFromLeaf_TouchesOnlyThatLeaf()
    {
        Harness h = Filled(4096, 400, 40);
        List<IndexEntry> rootBefore = h.RootEntries();
        Assert.True(rootBefore.Count >= 2, "the root should hold a key");
        string leafName = h.Load(rootBefore[^1].SubnodeVcn).First().Key!.Name;
        Assert.True(h.Tree.Remove(Entry(leafName)));
        Assert.Equal(new[] { rootBefore[^1].SubnodeVcn }, h.Tree.DirtyNodes.Keys);
        Assert.False(h.Tree.RootChanged);
        h.Persist();
        Assert.DoesNotContain(leafName, h.CheckAndList(out _));
        Assert.Null(h.Tree.Find(Entry(leafName)));
        Assert.False(h.Tree.Remove(Entry(leafName)));
    }

    [Fact]
    public void RemoveFromInternalNode_TakesThePredecessorFromALeaf()
    {
        // root: [n1 -> VCN 1 {n0, n0y}], end -> VCN 0 {n2, n3}; removing n1 moves n0y up.
        Harness h = Filled(512, 400, 4);
        string between = "n000000y".PadRight(20, 'x');
        h.Tree.Insert(Entry(between));
        h.Persist();
        Assert.Equal(new[] { Name(0), between }, h.Load(1).Where(e => !e.IsLast).Select(e => e.Key!.Name));
        Assert.True(h.Tree.Remove(Entry(Name(1))));
        Assert.True(h.Tree.RootChanged);
        Assert.Equal(new long[] { 1 }, h.Tree.DirtyNodes.Keys);
        h.Persist();
        List<IndexEntry> root = h.RootEntries();
        Assert.Equal(between, root[0].Key!.Name);
        Assert.Equal(1, root[0].SubnodeVcn);
        Assert.Equal(new[] { Name(0) }, h.Load(1).Where(e => !e.IsLast).Select(e => e.Key!.Name));
        Assert.Equal(new[] { Name(0), between, Name(2), Name(3) }, h.CheckAndList(out _));
    }

    [Fact]
    public void RemoveFromInternalNodes_OfADeepTree()
    {
        Harness h = Filled(512, 400, 120);
        List<string> names = h.CheckAndList(out int depth);
        Assert.True(depth >= 3, $"depth {depth}");
        for (int round = 0; round < 40; round++)
        {
            // Always remove a key of the root (an internal node) while it has one.
            List<IndexEntry> root = h.RootEntries();
            string victim = root.Count > 1 ? root[0].Key!.Name : names[0];
            Assert.True(h.Tree.Remove(Entry(victim)));
            names.Remove(victim);
            h.Persist();
            Assert.Equal(names, h.CheckAndList(out _));
        }
    }

    [Fact]
    public void EmptiedLeaf_IsMergedAndFreed()
    {
        Harness h = Filled(512, 400, 4);
        // root: [n1 -> VCN 1 {n0}], end -> VCN 0 {n2, n3}
        Assert.True(h.Tree.Remove(Entry(Name(0))));
        Assert.Equal(new long[] { 1 }, h.Tree.FreedNodes);
        h.Persist();
        Assert.Equal(new[] { Name(1), Name(2), Name(3) }, h.CheckAndList(out int depth));
        Assert.Equal(1, depth);
        Assert.Equal(new[] { true }, h.Tree.Bitmap.Where(b => b));
        List<IndexEntry> root = h.RootEntries();
        Assert.Single(root);
        Assert.Equal(0, root[0].SubnodeVcn);
    }

    [Fact]
    public void EmptiedNode_WithAFullSibling_BorrowsThroughTheParent()
    {
        // root: [n1 -> VCN 1 {n0}], end -> VCN 0 {n2, n3, n4}: three 128-byte entries fill a 512-byte record, so the
        // emptied VCN 1 cannot merge with its sibling and the separator; it takes n1 and n2 moves up instead.
        Harness h = Filled(512, 400, 5);
        Assert.Equal(new[] { Name(0) }, h.Load(1).Where(e => !e.IsLast).Select(e => e.Key!.Name));
        Assert.True(h.Tree.Remove(Entry(Name(0))));
        Assert.Empty(h.Tree.FreedNodes);
        h.Persist();
        List<IndexEntry> root = h.RootEntries();
        Assert.Equal(Name(2), root[0].Key!.Name);
        Assert.Equal(new[] { Name(1) }, h.Load(1).Where(e => !e.IsLast).Select(e => e.Key!.Name));
        Assert.Equal(new[] { Name(3), Name(4) }, h.Load(0).Where(e => !e.IsLast).Select(e => e.Key!.Name));
        Assert.Equal(new[] { Name(1), Name(2), Name(3), Name(4) }, h.CheckAndList(out _));
    }

    [Fact]
    public void Removals_FoldTheTreeBackIntoTheRoot()
    {
        Harness h = Filled(512, 700, 60);
        Assert.True(h.Tree.RecordCount > 10);
        for (int i = 0; i < 58; i++)
        {
            Assert.True(h.Tree.Remove(Entry(Name((i * 13) % 60))));
            h.Persist();
            h.CheckAndList(out _);
        }
        Assert.Equal(0, h.Tree.RecordCount);
        Assert.Empty(h.Vcns);
        Assert.Equal(3, h.RootEntries().Count);
        Assert.All(h.RootEntries(), e => Assert.Equal(-1, e.SubnodeVcn));
        h.Reopen();
        Assert.Equal(2, h.Tree.Enumerate().Count);
    }

    [Fact]
    public void NewNodes_TakeTheLowestFreeBit()
    {
        Harness h = Filled(512, 400, 4);
        Assert.True(h.Tree.Remove(Entry(Name(0))));
        h.Persist();
        Assert.Equal(new[] { true, false }, h.Tree.Bitmap);
        h.Tree.Insert(Entry(Name(4)));
        h.Tree.Insert(Entry(Name(5)));
        Assert.Contains(1L, h.Tree.DirtyNodes.Keys);
        h.Persist();
        h.CheckAndList(out _);
        Assert.Equal(new[] { true, true }, h.Tree.Bitmap);
    }

    [Fact]
    public void VcnsAreRecordNumbersTimesTheStep()
    {
        var h = new Harness(4096, 8, 300);
        for (int i = 0; i < 100; i++)
        {
            h.Tree.Insert(Entry(Name(i, 100)));
            h.Persist();
        }
        Assert.All(h.Vcns, v => Assert.Equal(0, v % 8));
        Assert.Equal(h.Vcns.Count, h.Tree.Bitmap.Count(b => b));
        Assert.Equal(100, h.CheckAndList(out int depth).Count);
        Assert.True(depth >= 2);
    }

    [Fact]
    public void DuplicateKeys_AreRefused_ButCaseVariantsAreDistinctKeys()
    {
        var h = new Harness(4096, 1, 600);
        h.Tree.Insert(Entry("Readme.txt"));
        Assert.Throws<InvalidOperationException>(() => h.Tree.Insert(Entry("Readme.txt", 99)));
        h.Tree.Insert(Entry("README.TXT"));
        h.Tree.Insert(Entry("readme.txt"));
        h.Persist();
        Assert.Equal(new[] { "README.TXT", "Readme.txt", "readme.txt" }, h.CheckAndList(out _));
        Assert.NotNull(h.Tree.Find(IndexTree.FileNameKey(UpCase, "rEADME.TXT", exactCase: false)));
        Assert.Null(h.Tree.Find(IndexTree.FileNameKey(UpCase, "rEADME.TXT", exactCase: true)));
        Assert.True(h.Tree.Update(Entry("Readme.txt", 77)));
        Assert.Equal(77UL, h.Tree.Find(Entry("Readme.txt"))!.Reference);
        Assert.False(h.Tree.Update(Entry("other", 77)));
    }

    [Fact]
    public void EntriesTooLargeForTheRecordSize_AreRefused()
    {
        var h = new Harness(512, 1, 600);
        Assert.Equal(136, h.Tree.MaxEntryLength);
        h.Tree.Insert(Entry(new string('a', 27)));
        Assert.Throws<ArgumentException>(() => h.Tree.Insert(Entry(new string('b', 28))));
        Assert.Throws<ArgumentException>(() => h.Tree.Insert(IndexEntry.Last()));
        var big = new Harness(4096, 1, 600);
        big.Tree.Insert(Entry(new string('c', 255)));
    }

    [Fact]
    public void DamagedChildPointers_AreReportedAsCorruption()
    {
        Comparison<IndexEntry> order = IndexTree.FileNameCollation(UpCase);
        var root = new List<IndexEntry> { IndexEntry.Last(3) };
        var unmapped = new IndexTree(root, 4096, 1, _ => throw new InvalidOperationException("not read"), new[] { true }, order, 600);
        Assert.Throws<CorruptDataException>(() => unmapped.Enumerate());

        // A node that points back to itself.
        var looping = new IndexTree(new List<IndexEntry> { IndexEntry.Last(0) }, 4096, 1,
            _ => new List<IndexEntry> { Entry("a").WithSubnode(0), IndexEntry.Last(0) }, new[] { true }, order, 600);
        Assert.Throws<CorruptDataException>(() => looping.Enumerate());
        Assert.Throws<CorruptDataException>(() => looping.Insert(Entry("b")));

        // Mixed child-ness inside one node.
        var mixed = new IndexTree(new List<IndexEntry> { IndexEntry.Last(0) }, 4096, 1,
            _ => new List<IndexEntry> { Entry("a"), IndexEntry.Last(1) }, new[] { true, true }, order, 600);
        Assert.Throws<CorruptDataException>(() => mixed.Find(Entry("a")));
    }

    [Fact]
    public void ViewIndexCollations_OrderKeysAsNumbers()
    {
        static IndexEntry Sii(uint id)
        {
            byte[] body = new byte[24];
            BinaryPrimitives.WriteUInt32LittleEndian(body, id);
            return new IndexEntry { Reference = 0x14_0014UL, Body = body, KeyLength = 4 };
        }
        var tree = new IndexTree(new List<IndexEntry> { IndexEntry.Last() }, 512, 1, _ => throw new InvalidOperationException(),
            Array.Empty<bool>(), IndexTree.CompareUInt32Keys, 200);
        uint[] ids = { 0x100, 0x1, 0xFF, 0x1000_0000, 0x102, 0x2 };
        foreach (uint id in ids)
        {
            tree.Insert(Sii(id));
        }
        Assert.Equal(ids.OrderBy(i => i), tree.Enumerate().Select(e => BinaryPrimitives.ReadUInt32LittleEndian(e.Body)));
        Assert.True(tree.RecordCount > 0);

        static IndexEntry Sdh(uint hash, uint id)
        {
            byte[] body = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(body, hash);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), id);
            return new IndexEntry { Reference = 0x14_0018UL, Body = body, KeyLength = 8 };
        }
        var sdh = new IndexTree(new List<IndexEntry> { IndexEntry.Last() }, 4096, 1, _ => throw new InvalidOperationException(),
            Array.Empty<bool>(), IndexTree.CompareSecurityHashKeys, 600);
        sdh.Insert(Sdh(5, 0x200));
        sdh.Insert(Sdh(5, 0x101));
        sdh.Insert(Sdh(1, 0x300));
        Assert.Equal(new uint[] { 0x300, 0x101, 0x200 }, sdh.Enumerate().Select(e => BinaryPrimitives.ReadUInt32LittleEndian(e.Body.AsSpan(4))));
    }

    [Fact]
    public void Updates_ThatGrowEntries_SplitNodesLikeInserts()
    {
        // View-index entries whose data grows on update (the key stays): nodes outgrow their records and split.
        static IndexEntry View(uint key, int dataBytes)
        {
            byte[] body = new byte[8 + dataBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(body, key);
            return new IndexEntry { Reference = (ulong)dataBytes, Body = body, KeyLength = 4 };
        }
        var tree = new IndexTree(new List<IndexEntry> { IndexEntry.Last() }, 512, 1, _ => throw new InvalidOperationException(),
            Array.Empty<bool>(), IndexTree.CompareUInt32Keys, 100);
        for (uint k = 0; k < 40; k++)
        {
            tree.Insert(View(k, 8));
        }
        int before = tree.RecordCount;
        for (uint k = 0; k < 40; k++)
        {
            Assert.True(tree.Update(View(k, 96)));
        }
        Assert.True(tree.RecordCount > before, $"{tree.RecordCount} records, {before} before");
        IReadOnlyList<IndexEntry> all = tree.Enumerate();
        Assert.Equal(Enumerable.Range(0, 40).Select(k => (uint)k), all.Select(e => BinaryPrimitives.ReadUInt32LittleEndian(e.Body)));
        Assert.All(all, e => Assert.Equal(96UL, e.Reference));
        foreach (KeyValuePair<long, List<IndexEntry>> node in tree.DirtyNodes)
        {
            Assert.True(node.Value.Sum(e => e.EncodedLength) <= IndexRecord.RoomForEntries(512));
            IndexRecord.Encode(512, node.Key, node.Value, 1);
        }
    }

    // ---- property tests ----

    // Case pairs (ASCII, Latin-1, Greek final sigma, Cyrillic, dotless/dotted i, long s), CJK, punctuation and the two
    // halves of a surrogate pair (names are raw UTF-16: lone halves are legal on NTFS).
    private const string Alphabet = "aAbBzZ09._- ~éÉßÿŸıİſΣσςЖж中文\uD83D\uDE00";

    internal sealed record Config(int RecordSize, int VcnsPerRecord, int MaxRoot, int MaxName);

    internal sealed record Op(int Kind, int Pick, string Name, int Flip)
    {
        public override string ToString() => $"{Kind}/{Pick}/\"{Name}\"";
    }

    private static readonly Gen<Config> ConfigGen = Gen.OneOf(
        Gen.Int[IndexTree.MinimumRootNodeBytes, 1000].Select(root => new Config(512, 1, root, 27)),
        Gen.Int[IndexTree.MinimumRootNodeBytes, 1000].Select(root => new Config(1024, 2, root, 111)),
        Gen.Int[IndexTree.MinimumRootNodeBytes, 1000].Select(root => new Config(4096, 8, root, 255)));

    private static Gen<Op> OpGen(int maxName) => Gen.Select(Gen.Int[0, 11], Gen.Int[0, int.MaxValue],
        Gen.OneOf(Gen.String[Gen.Char[Alphabet], 1, Math.Min(8, maxName)], Gen.String[Gen.Char[Alphabet], 1, maxName]), Gen.Int[0, int.MaxValue],
        (kind, pick, name, flip) => new Op(kind, pick, name, flip));

    private static string FlipCase(string name, int seed)
    {
        char[] chars = name.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (((seed >> (i % 31)) & 1) != 0)
            {
                char upper = char.ToUpperInvariant(chars[i]);
                chars[i] = upper != chars[i] ? upper : char.ToLowerInvariant(chars[i]);
            }
        }
        return new string(chars);
    }

    private static void Run(Config config, IReadOnlyList<Op> ops, int checkEvery, int reopenEvery)
    {
        var h = new Harness(config.RecordSize, config.VcnsPerRecord, config.MaxRoot);
        var model = new SortedDictionary<string, ulong>(Model);
        ulong nextReference = 0x0001_0000_0000_0100UL;
        for (int step = 0; step < ops.Count; step++)
        {
            Op op = ops[step];
            string name;
            switch (op.Kind)
            {
                case <= 5:
                    name = op.Kind == 5 && model.Count > 0 ? FlipCase(model.Keys.ElementAt(op.Pick % model.Count), op.Flip) : op.Name;
                    if (model.ContainsKey(name))
                    {
                        Assert.Throws<InvalidOperationException>(() => h.Tree.Insert(Entry(name)));
                    }
                    else
                    {
                        h.Tree.Insert(Entry(name, nextReference));
                        model.Add(name, nextReference++);
                    }
                    break;
                case <= 9:
                    name = model.Count > 0 && op.Kind != 9 ? model.Keys.ElementAt(op.Pick % model.Count) : op.Name;
                    Assert.Equal(model.Remove(name), h.Tree.Remove(Entry(name)));
                    break;
                default:
                    name = model.Count > 0 ? model.Keys.ElementAt(op.Pick % model.Count) : op.Name;
                    Assert.Equal(model.ContainsKey(name), h.Tree.Update(Entry(name, nextReference)));
                    if (model.ContainsKey(name))
                    {
                        model[name] = nextReference++;
                    }
                    break;
            }
            IndexEntry? found = h.Tree.Find(Entry(name));
            Assert.Equal(model.TryGetValue(name, out ulong reference), found is not null);
            Assert.True(found is null || found.Reference == reference, $"step {step}: \"{name}\" has the wrong reference");
            h.Persist();
            if (step % checkEvery == checkEvery - 1 || step == ops.Count - 1)
            {
                IReadOnlyList<IndexEntry> listed = h.Tree.Enumerate();
                Assert.True(listed.Select(e => e.Key!.Name).SequenceEqual(model.Keys), $"step {step}: Enumerate differs from the model");
                Assert.True(listed.Select(e => e.Reference).SequenceEqual(model.Values), $"step {step}: references differ from the model");
                Assert.True(h.CheckAndList(out _).SequenceEqual(model.Keys), $"step {step}: the persisted tree differs from the model");
            }
            if (step % reopenEvery == reopenEvery - 1)
            {
                h.Reopen();
            }
        }
    }

    [Fact]
    public void RandomEdits_AgreeWithASortedModel()
    {
        Gen.SelectMany(ConfigGen, c => OpGen(c.MaxName).List[1, 300].Select(ops => (c, ops)))
            .Sample(t => Run(t.c, t.ops, checkEvery: 1, reopenEvery: 37), iter: 60, threads: 1);
    }

    [Fact]
    public void ThousandsOfEntries_GrowAndShrinkThroughEveryPath()
    {
        // Mostly inserts then mostly removals, so the tree grows several levels deep and folds back.
        Gen<Op> Biased(int maxName, int lo, int hi) => Gen.Select(Gen.Int[lo, hi], Gen.Int[0, int.MaxValue],
            Gen.String[Gen.Char[Alphabet], 1, maxName], Gen.Int[0, int.MaxValue], (kind, pick, name, flip) => new Op(kind, pick, name, flip));
        Gen.SelectMany(ConfigGen, c => Gen.Select(Biased(c.MaxName, 0, 6).List[1500, 2500], Biased(c.MaxName, 0, 9).Select(o => o with { Kind = o.Kind < 8 ? 6 : o.Kind == 8 ? 5 : 10 }).List[2500, 3500],
                (grow, shrink) => (c, ops: grow.Concat(shrink).ToList())))
            .Sample(t => Run(t.c, t.ops, checkEvery: 250, reopenEvery: 500), iter: 6, threads: 1);
    }
}
