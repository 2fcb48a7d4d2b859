using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Edits one NTFS index B-tree ($I30 directories; view indexes such as $SII/$SDH with another comparison) in memory,
/// without any I/O, so that the file-level writer can persist the result and tests can check it exhaustively.
/// <para>
/// Input: the entries of the $INDEX_ROOT node (ending with an end entry), the INDX record size, the VCN step between
/// records (record size / cluster size when a record is at least a cluster, else record size / 512), a loader that
/// returns the decoded entries of the INDX record at a VCN (called at most once per VCN), the index's $BITMAP (one bit
/// per record; empty when there is no $INDEX_ALLOCATION), the key order, and the room for the root node (node header
/// and entries) in the MFT record.
/// </para>
/// <para>
/// Output, after any number of <see cref="Insert"/>, <see cref="Remove(IndexEntry)"/> and <see cref="Update"/> calls:
/// <see cref="RootEntries"/> (write them as $INDEX_ROOT; a root whose end entry has a child is a "large index"),
/// <see cref="DirtyNodes"/> (VCN → entries to encode as INDX records), <see cref="FreedNodes"/> (VCNs that were in use
/// and no longer are), <see cref="Bitmap"/> and <see cref="RecordCount"/> (how many records $INDEX_ALLOCATION must
/// span). After persisting, <see cref="AcceptChanges"/> starts a new batch on the same tree.
/// </para>
/// <para>
/// Shape kept: entries of every node in strict key order; in each node either every entry (the end entry too) has a
/// child or none has; all leaves at the same depth; every node other than the root holds at least one key. A node
/// whose entries outgrow an INDX record (<see cref="IndexRecord.RoomForEntries"/>) is split around its byte-wise middle
/// entry, which moves up to the parent; when the root outgrows its room, all its entries move into a new INDX node and
/// the root keeps only an end entry pointing to it. Removing a key from an internal node replaces it by its in-order
/// predecessor, taken from a leaf. A node left empty (or under half full) after a removal merges with a sibling and the
/// separator between them when the three fit one record; an empty node that cannot merge borrows one entry from its
/// sibling through the parent. When the root is left with no key and its only child fits the root's room again, the
/// child is folded back into the root. New nodes take the lowest free $BITMAP bit.
/// </para>
/// <para>
/// Entry size limit: a split must leave both halves non-empty and within a record, which is guaranteed when three of
/// the largest entries (with a child VCN) plus an end entry fit one record. Larger entries are refused. With 4096-byte
/// records (what Windows uses) every $FILE_NAME key fits; with 512-byte records names are limited to 27 characters.
/// </para>
/// Data read through the loader is checked (child VCNs inside the bitmap and aligned, nodes ending with an end entry,
/// uniform child-ness, bounded depth) and damage is reported as <see cref="CorruptDataException"/>.
/// <see cref="RootEntries"/> and the lists in <see cref="DirtyNodes"/> are live: persist them before editing further.
/// </summary>
internal sealed class IndexTree
{
    private const long RootId = -1;
    private const int MaxDepth = 32;
    private const int EndEntryWithChild = IndexNode.EntryHeaderSize + 8;

    /// <summary>The smallest root room that can hold an end entry with a child (node header included).</summary>
    public const int MinimumRootNodeBytes = IndexNode.HeaderSize + EndEntryWithChild;

    private readonly List<IndexEntry> _root;
    private readonly Func<long, List<IndexEntry>> _loadNode;
    private readonly Comparison<IndexEntry> _compare;
    private readonly int _room;
    private readonly int _vcnsPerRecord;
    private readonly int _maxEntryLength;
    private readonly string _structure;
    private readonly Dictionary<long, List<IndexEntry>> _nodes = new();
    private readonly HashSet<long> _dirty = new();
    private readonly HashSet<long> _freed = new();
    private readonly List<bool> _bitmap;
    // The $BITMAP as the batch began: a node freed now was in use on the volume (and must be emptied there) when its
    // bit is set here. Kept as given rather than as a set of VCNs: a directory of 100,000 names has thousands of nodes,
    // and every edit builds a tree.
    private bool[] _persisted;
    private int _lowestMaybeFree;
    private int _maxRootNodeBytes;

    /// <param name="rootEntries">The $INDEX_ROOT node's entries, ending with an end entry (copied).</param>
    /// <param name="indexRecordSize">Bytes per INDX record (a power of two, 512 to 65536).</param>
    /// <param name="vcnsPerRecord">The VCN step between consecutive INDX records.</param>
    /// <param name="loadNode">Returns the entries of the INDX record at a VCN (the caller reads, fixes up and decodes it).</param>
    /// <param name="allocatedBitmap">The index's $BITMAP, one bit per record (empty without $INDEX_ALLOCATION).</param>
    /// <param name="compare">The key order of the index (<see cref="FileNameCollation"/> for $I30).</param>
    /// <param name="maxRootNodeBytes">Room for the root node (16-byte node header and entries) in the MFT record.</param>
    /// <param name="structure">Names the index in error messages, e.g. "MFT record 5 $I30".</param>
    public IndexTree(List<IndexEntry> rootEntries, int indexRecordSize, int vcnsPerRecord, Func<long, List<IndexEntry>> loadNode,
        IReadOnlyList<bool> allocatedBitmap, Comparison<IndexEntry> compare, int maxRootNodeBytes, string structure = "index")
    {
        if (rootEntries is null || loadNode is null || allocatedBitmap is null || compare is null)
        {
            throw new ArgumentNullException(rootEntries is null ? nameof(rootEntries) : loadNode is null ? nameof(loadNode)
                : allocatedBitmap is null ? nameof(allocatedBitmap) : nameof(compare));
        }
        if (indexRecordSize < UpdateSequence.Stride || indexRecordSize > 65536 || (indexRecordSize & (indexRecordSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(indexRecordSize), indexRecordSize, "An index record is a power of two from 512 to 65536 bytes.");
        }
        if (vcnsPerRecord < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(vcnsPerRecord), vcnsPerRecord, "Records are at least one VCN apart.");
        }
        _structure = structure;
        _loadNode = loadNode;
        _compare = compare;
        _vcnsPerRecord = vcnsPerRecord;
        _room = IndexRecord.RoomForEntries(indexRecordSize);
        _maxEntryLength = ((_room - EndEntryWithChild) / 3) & ~7;
        SetRootCapacity(maxRootNodeBytes, rebalance: false);
        _bitmap = new List<bool>(allocatedBitmap);
        _persisted = _bitmap.ToArray();
        _root = new List<IndexEntry>(rootEntries);
        CheckNode(_root, RootId);
    }

    /// <summary>The root node's entries as they stand (write them as $INDEX_ROOT).</summary>
    public IReadOnlyList<IndexEntry> RootEntries => _root;

    /// <summary>Whether the root changed since construction or the last <see cref="AcceptChanges"/>.</summary>
    public bool RootChanged { get; private set; }

    /// <summary>Whether a record was taken or freed (the $BITMAP changed) since construction or the last <see cref="AcceptChanges"/>.</summary>
    public bool BitmapChanged { get; private set; }

    /// <summary>INDX records to write: VCN → entries (the tree's own lists; do not change them).</summary>
    public IReadOnlyDictionary<long, List<IndexEntry>> DirtyNodes
    {
        get
        {
            var result = new Dictionary<long, List<IndexEntry>>(_dirty.Count);
            foreach (long vcn in _dirty)
            {
                result[vcn] = _nodes[vcn];
            }
            return result;
        }
    }

    /// <summary>VCNs that held a node when the batch began and hold none now (their $BITMAP bits are clear).</summary>
    public IReadOnlyCollection<long> FreedNodes => _freed;

    /// <summary>The $BITMAP after the edits: one bit per record, at least as long as the bitmap given.</summary>
    public bool[] Bitmap => _bitmap.ToArray();

    /// <summary>Records $INDEX_ALLOCATION must span: the highest record in use plus one (0 when the root holds everything).</summary>
    public int RecordCount => _bitmap.LastIndexOf(true) + 1;

    /// <summary>The room for the root node (node header and entries) in the MFT record.</summary>
    public int MaxRootNodeBytes => _maxRootNodeBytes;

    /// <summary>The largest entry (without a child VCN) this tree accepts.</summary>
    public int MaxEntryLength => _maxEntryLength - 8;

    /// <summary>
    /// Changes the room for the root node (the MFT record gained or lost space) and moves the root's entries into an
    /// INDX node if they no longer fit.
    /// </summary>
    public void SetRootCapacity(int maxRootNodeBytes) => SetRootCapacity(maxRootNodeBytes, rebalance: true);

    private void SetRootCapacity(int maxRootNodeBytes, bool rebalance)
    {
        if (maxRootNodeBytes < MinimumRootNodeBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRootNodeBytes), maxRootNodeBytes, $"The root needs room for at least an end entry with a child ({MinimumRootNodeBytes} bytes).");
        }
        _maxRootNodeBytes = maxRootNodeBytes;
        if (rebalance)
        {
            FixRoot(removing: false);
        }
    }

    /// <summary>Adds an entry. An entry with an equal key → <see cref="InvalidOperationException"/>.</summary>
    public void Insert(IndexEntry entry)
    {
        IndexEntry item = Normalize(entry);
        var path = new List<Step>();
        if (Descend(e => _compare(item, e), path))
        {
            throw new InvalidOperationException("The index already holds an entry with this key.");
        }
        Step leaf = path[path.Count - 1];
        Node(leaf.Node).Insert(leaf.Index, item);
        MarkDirty(leaf.Node);
        Rebalance(path, removing: false);
    }

    /// <summary>Replaces the entry whose key equals <paramref name="entry"/>'s (e.g. refreshed $FILE_NAME sizes); false when there is none.</summary>
    public bool Update(IndexEntry entry)
    {
        IndexEntry item = Normalize(entry);
        var path = new List<Step>();
        if (!Descend(e => _compare(item, e), path))
        {
            return false;
        }
        Step at = path[path.Count - 1];
        List<IndexEntry> node = Node(at.Node);
        node[at.Index] = item.WithSubnode(node[at.Index].SubnodeVcn);
        MarkDirty(at.Node);
        Rebalance(path, removing: false);
        return true;
    }

    /// <summary>Removes the entry whose key equals <paramref name="probe"/>'s; false when there is none.</summary>
    public bool Remove(IndexEntry probe) => Remove(e => _compare(probe, e));

    /// <summary>
    /// Removes the entry <paramref name="keyVersus"/> matches: it returns the sign of the wanted key compared with the
    /// entry it is given, consistently with the tree's order.
    /// </summary>
    public bool Remove(Func<IndexEntry, int> keyVersus)
    {
        var path = new List<Step>();
        if (!Descend(keyVersus, path))
        {
            return false;
        }
        Step at = path[path.Count - 1];
        List<IndexEntry> node = Node(at.Node);
        IndexEntry victim = node[at.Index];
        if (victim.SubnodeVcn < 0)
        {
            node.RemoveAt(at.Index);
            MarkDirty(at.Node);
        }
        else
        {
            // The in-order predecessor is the last key of the rightmost leaf under the victim's child.
            long id = victim.SubnodeVcn;
            while (true)
            {
                CheckDepth(path.Count, id);
                List<IndexEntry> n = Node(id);
                path.Add(new Step(id, n.Count - 1));
                if (n[n.Count - 1].SubnodeVcn < 0)
                {
                    break;
                }
                id = n[n.Count - 1].SubnodeVcn;
            }
            List<IndexEntry> leaf = Node(id);
            if (leaf.Count < 2)
            {
                throw Corrupt(id, "a leaf node holds no entries");
            }
            IndexEntry predecessor = leaf[leaf.Count - 2];
            leaf.RemoveAt(leaf.Count - 2);
            node[at.Index] = predecessor.WithSubnode(victim.SubnodeVcn);
            MarkDirty(id);
            MarkDirty(at.Node);
        }
        Rebalance(path, removing: true);
        return true;
    }

    /// <summary>The entry whose key equals <paramref name="probe"/>'s, or null.</summary>
    public IndexEntry? Find(IndexEntry probe) => Find(e => _compare(probe, e));

    /// <summary>An entry <paramref name="keyVersus"/> matches (see <see cref="Remove(Func{IndexEntry, int})"/>), or null.</summary>
    public IndexEntry? Find(Func<IndexEntry, int> keyVersus)
    {
        var path = new List<Step>();
        if (!Descend(keyVersus, path))
        {
            return null;
        }
        Step at = path[path.Count - 1];
        return Node(at.Node)[at.Index].WithSubnode(-1);
    }

    /// <summary>Every entry in key order, as a snapshot (child VCNs cleared).</summary>
    public IReadOnlyList<IndexEntry> Enumerate()
    {
        var result = new List<IndexEntry>();
        Walk(RootId, 0, new HashSet<long>(), result);
        return result;
    }

    /// <summary>Forgets the dirty and freed sets after the caller persisted them; the tree stays usable.</summary>
    public void AcceptChanges()
    {
        _dirty.Clear();
        _freed.Clear();
        _persisted = _bitmap.ToArray();
        RootChanged = false;
        BitmapChanged = false;
    }

    /// <summary>$I30 order: names compared through the volume's $UpCase, ties (POSIX names differing in case only) by code unit.</summary>
    public static Comparison<IndexEntry> FileNameCollation(UpCaseTable upcase) => (a, b) => CompareNames(upcase, NameOf(a), NameOf(b));

    /// <summary>A key matcher for <see cref="Find(Func{IndexEntry, int})"/> and <see cref="Remove(Func{IndexEntry, int})"/>
    /// in $I30: the exact name, or (with <paramref name="exactCase"/> false) any name equal to it through $UpCase.</summary>
    public static Func<IndexEntry, int> FileNameKey(UpCaseTable upcase, string name, bool exactCase) =>
        exactCase ? e => CompareNames(upcase, name, NameOf(e)) : e => upcase.Compare(name, NameOf(e));

    /// <summary>COLLATION_NTOFS_ULONG (0x10, $SII): the key is one little-endian unsigned 32-bit number.</summary>
    public static int CompareUInt32Keys(IndexEntry a, IndexEntry b) => KeyUInt32(a, 0).CompareTo(KeyUInt32(b, 0));

    /// <summary>COLLATION_NTOFS_SECURITY_HASH (0x12, $SDH): the security descriptor hash, then the security id, both unsigned 32-bit.</summary>
    public static int CompareSecurityHashKeys(IndexEntry a, IndexEntry b)
    {
        int c = KeyUInt32(a, 0).CompareTo(KeyUInt32(b, 0));
        return c != 0 ? c : KeyUInt32(a, 4).CompareTo(KeyUInt32(b, 4));
    }

    private static int CompareNames(UpCaseTable upcase, string a, string b)
    {
        int c = upcase.Compare(a, b);
        return c != 0 ? c : string.CompareOrdinal(a, b);
    }

    private static string NameOf(IndexEntry e) => e.Key?.Name ?? throw new ArgumentException("The entry has no $FILE_NAME key.", nameof(e));

    private static uint KeyUInt32(IndexEntry e, int offset)
    {
        if (e.KeyLength < offset + 4 || e.Body.Length < offset + 4)
        {
            throw new ArgumentException($"The entry's key ({e.KeyLength} bytes) is too short for this collation.", nameof(e));
        }
        return BinaryPrimitives.ReadUInt32LittleEndian(e.Body.AsSpan(offset));
    }

    private IndexEntry Normalize(IndexEntry entry)
    {
        if (entry is null)
        {
            throw new ArgumentNullException(nameof(entry));
        }
        if (entry.IsLast)
        {
            throw new ArgumentException("An end entry is not a key.", nameof(entry));
        }
        if ((entry.Body.Length & 7) != 0 || entry.KeyLength < 0 || entry.KeyLength > entry.Body.Length)
        {
            throw new ArgumentException($"The entry's body ({entry.Body.Length} bytes, key {entry.KeyLength}) must be padded to 8 bytes and hold the key.", nameof(entry));
        }
        IndexEntry item = entry.SubnodeVcn < 0 ? entry : entry.WithSubnode(-1);
        if (item.EncodedLength + 8 > _maxEntryLength)
        {
            throw new ArgumentException(
                $"An index entry of {item.EncodedLength} bytes is too large for this index's {_room}-byte record room (at most {MaxEntryLength}).", nameof(entry));
        }
        return item;
    }

    // Walks from the root toward the key, recording at each node the index of the entry found or descended through.
    private bool Descend(Func<IndexEntry, int> keyVersus, List<Step> path)
    {
        long id = RootId;
        while (true)
        {
            CheckDepth(path.Count, id);
            List<IndexEntry> node = Node(id);
            int i = 0;
            for (; i < node.Count - 1; i++)
            {
                int c = keyVersus(node[i]);
                if (c == 0)
                {
                    path.Add(new Step(id, i));
                    return true;
                }
                if (c < 0)
                {
                    break;
                }
            }
            path.Add(new Step(id, i));
            long child = node[i].SubnodeVcn;
            if (child < 0)
            {
                return false;
            }
            id = child;
        }
    }

    private void Walk(long id, int depth, HashSet<long> visited, List<IndexEntry> into)
    {
        CheckDepth(depth, id);
        if (id != RootId && !visited.Add(id))
        {
            throw Corrupt(id, "the B-tree loops: this node was already visited");
        }
        foreach (IndexEntry e in Node(id))
        {
            if (e.SubnodeVcn >= 0)
            {
                Walk(e.SubnodeVcn, depth + 1, visited, into);
            }
            if (!e.IsLast)
            {
                into.Add(e.WithSubnode(-1));
            }
        }
    }

    // Bottom-up along the path of the last edit: every node on it may have outgrown its record or (after a removal)
    // emptied; fixing a node touches only it, a sibling and its parent, so the indexes recorded above stay valid.
    private void Rebalance(List<Step> path, bool removing)
    {
        for (int level = path.Count - 1; level >= 1; level--)
        {
            Step parent = path[level - 1];
            FixNode(path[level].Node, parent.Node, parent.Index, removing);
        }
        FixRoot(removing);
    }

    private void FixNode(long id, long parentId, int index, bool removing)
    {
        List<IndexEntry> node = Node(id);
        int bytes = EntryBytes(node);
        if (bytes > _room)
        {
            Split(id, node, parentId, index);
            return;
        }
        int keys = node.Count - 1;
        if (!removing || (keys > 0 && bytes >= _room / 2))
        {
            return;
        }
        List<IndexEntry> parent = Node(parentId);
        if (parent.Count == 1)
        {
            // The only child of a key-less root: FixRoot folds it back when it fits.
            return;
        }
        bool nodeIsLeft = index < parent.Count - 1;
        int sep = nodeIsLeft ? index : index - 1;
        long leftId = parent[sep].SubnodeVcn;
        long rightId = parent[sep + 1].SubnodeVcn;
        List<IndexEntry> left = Node(leftId);
        List<IndexEntry> right = Node(rightId);
        long leftEndChild = left[left.Count - 1].SubnodeVcn;
        if ((leftEndChild >= 0) != (right[right.Count - 1].SubnodeVcn >= 0))
        {
            throw Corrupt(id, "sibling nodes lie at different depths of the B-tree");
        }
        IndexEntry separator = parent[sep].WithSubnode(leftEndChild);
        int merged = EntryBytes(left) - left[left.Count - 1].EncodedLength + separator.EncodedLength + EntryBytes(right);
        if (merged <= _room)
        {
            var entries = new List<IndexEntry>(left.Count + right.Count);
            entries.AddRange(left.GetRange(0, left.Count - 1));
            entries.Add(separator);
            entries.AddRange(right);
            SetNode(rightId, entries);
            Free(leftId);
            parent.RemoveAt(sep);
            MarkDirty(parentId);
            return;
        }
        if (keys > 0)
        {
            return;
        }

        // The empty node cannot merge (its sibling is over two entries full): rotate one entry in through the parent.
        if (nodeIsLeft)
        {
            IndexEntry first = right[0];
            left.Clear();
            left.Add(separator);
            left.Add(IndexEntry.Last(first.SubnodeVcn));
            parent[sep] = first.WithSubnode(leftId);
            right.RemoveAt(0);
        }
        else
        {
            IndexEntry lastKey = left[left.Count - 2];
            right.Insert(0, separator);
            parent[sep] = lastKey.WithSubnode(leftId);
            left.RemoveAt(left.Count - 2);
            left[left.Count - 1] = IndexEntry.Last(lastKey.SubnodeVcn);
        }
        MarkDirty(leftId);
        MarkDirty(rightId);
        MarkDirty(parentId);
    }

    // Splits an overflowing node around the entry that balances the two halves best by bytes; the left half moves to
    // a new record, the right half keeps the node's VCN (so the parent's pointer to it stays right), and the median
    // goes up to the parent pointing to the left half. A node over a record and a half (only a root just pushed down
    // into a smaller record) first sheds full left parts, each with its own median, until one balanced split is left.
    private void Split(long id, List<IndexEntry> node, long parentId, int index)
    {
        while (EntryBytes(node) > _room)
        {
            int keys = node.Count - 1;
            int endLength = node[keys].EncodedLength;
            int total = EntryBytes(node);
            int balanced = -1;
            int bestLarger = int.MaxValue;
            int fullest = -1;
            int prefix = 0;
            for (int m = 0; m < keys; m++)
            {
                int leftBytes = prefix + endLength;
                int rightBytes = total - prefix - node[m].EncodedLength;
                prefix += node[m].EncodedLength;
                if (m == 0 || m == keys - 1 || leftBytes > _room)
                {
                    continue;
                }
                fullest = m;
                if (rightBytes <= _room && Math.Max(leftBytes, rightBytes) < bestLarger)
                {
                    bestLarger = Math.Max(leftBytes, rightBytes);
                    balanced = m;
                }
            }
            int at = balanced >= 0 ? balanced : fullest;
            if (at < 0)
            {
                throw new InvalidOperationException($"An index node of {keys} entries ({total} bytes) cannot be split into {_room}-byte records.");
            }
            IndexEntry median = node[at];
            List<IndexEntry> left = node.GetRange(0, at);
            left.Add(IndexEntry.Last(median.SubnodeVcn));
            node = node.GetRange(at + 1, node.Count - at - 1);
            long leftId = Allocate();
            SetNode(leftId, left);
            SetNode(id, node);
            Node(parentId).Insert(index, median.WithSubnode(leftId));
            MarkDirty(parentId);
            index++;
        }
    }

    private void FixRoot(bool removing)
    {
        for (int round = 0; ; round++)
        {
            if (round > 2 * MaxDepth)
            {
                throw new InvalidOperationException("The index root does not settle.");
            }
            if (IndexNode.NodeSize(_root) > _maxRootNodeBytes)
            {
                // Push down: the root's entries become an INDX node (split at once if a record cannot hold them).
                long child = Allocate();
                SetNode(child, new List<IndexEntry>(_root));
                _root.Clear();
                _root.Add(IndexEntry.Last(child));
                RootChanged = true;
                FixNode(child, RootId, 0, removing: false);
                continue;
            }
            if (removing && _root.Count == 1 && _root[0].SubnodeVcn >= 0)
            {
                long child = _root[0].SubnodeVcn;
                List<IndexEntry> entries = Node(child);
                if (IndexNode.NodeSize(entries) <= _maxRootNodeBytes)
                {
                    _root.Clear();
                    _root.AddRange(entries);
                    RootChanged = true;
                    Free(child);
                    continue;
                }
            }
            return;
        }
    }

    private List<IndexEntry> Node(long id)
    {
        if (id == RootId)
        {
            return _root;
        }
        if (_nodes.TryGetValue(id, out List<IndexEntry>? cached))
        {
            return cached;
        }
        long bit = id / _vcnsPerRecord;
        if (id < 0 || id % _vcnsPerRecord != 0 || bit >= _bitmap.Count || !_bitmap[(int)bit])
        {
            throw Corrupt(id, $"a child VCN is not a record in use (the $BITMAP has {_bitmap.Count} bits, records {_vcnsPerRecord} VCNs apart)");
        }
        List<IndexEntry> loaded = new(_loadNode(id) ?? throw Corrupt(id, "the node could not be read"));
        CheckNode(loaded, id);
        _nodes[id] = loaded;
        return loaded;
    }

    private void CheckNode(List<IndexEntry> entries, long id)
    {
        if (entries.Count == 0 || !entries[entries.Count - 1].IsLast)
        {
            throw Corrupt(id, "the node does not end with an end entry");
        }
        bool hasChildren = entries[entries.Count - 1].SubnodeVcn >= 0;
        for (int i = 0; i < entries.Count; i++)
        {
            if ((entries[i].SubnodeVcn >= 0) != hasChildren)
            {
                throw Corrupt(id, $"entry {i} {(hasChildren ? "lacks" : "has")} a child node, unlike the node's end entry");
            }
            if (i < entries.Count - 1 && entries[i].IsLast)
            {
                throw Corrupt(id, $"entry {i} is marked last but is followed by others");
            }
        }
    }

    private void CheckDepth(int depth, long id)
    {
        if (depth > MaxDepth)
        {
            throw Corrupt(id, $"the B-tree is deeper than {MaxDepth} levels (or loops)");
        }
    }

    private void SetNode(long id, List<IndexEntry> entries)
    {
        if (id == RootId)
        {
            _root.Clear();
            _root.AddRange(entries);
            RootChanged = true;
            return;
        }
        _nodes[id] = entries;
        _dirty.Add(id);
    }

    private void MarkDirty(long id)
    {
        if (id == RootId)
        {
            RootChanged = true;
        }
        else
        {
            _dirty.Add(id);
        }
    }

    private long Allocate()
    {
        int bit = _lowestMaybeFree;
        while (bit < _bitmap.Count && _bitmap[bit])
        {
            bit++;
        }
        if (bit == _bitmap.Count)
        {
            _bitmap.Add(true);
        }
        else
        {
            _bitmap[bit] = true;
        }
        _lowestMaybeFree = bit + 1;
        BitmapChanged = true;
        long vcn = (long)bit * _vcnsPerRecord;
        _freed.Remove(vcn);
        _nodes[vcn] = new List<IndexEntry>();
        _dirty.Add(vcn);
        return vcn;
    }

    private void Free(long id)
    {
        _nodes.Remove(id);
        _dirty.Remove(id);
        int bit = (int)(id / _vcnsPerRecord);
        _bitmap[bit] = false;
        BitmapChanged = true;
        _lowestMaybeFree = Math.Min(_lowestMaybeFree, bit);
        if (bit < _persisted.Length && _persisted[bit])
        {
            _freed.Add(id);
        }
    }

    private static int EntryBytes(List<IndexEntry> entries)
    {
        int bytes = 0;
        foreach (IndexEntry e in entries)
        {
            bytes += e.EncodedLength;
        }
        return bytes;
    }

    private CorruptDataException Corrupt(long vcn, string problem) =>
        new("NTFS", vcn == RootId ? $"{_structure} $INDEX_ROOT" : $"{_structure} index record VCN {vcn}", -1, problem);

    private readonly struct Step
    {
        public Step(long node, int index)
        {
            Node = node;
            Index = index;
        }

        public long Node { get; }

        public int Index { get; }
    }
}
