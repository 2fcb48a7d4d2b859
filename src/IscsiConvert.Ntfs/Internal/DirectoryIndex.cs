using System;
using System.Collections.Generic;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// A directory's $I30 B-tree: the $INDEX_ROOT node in the MFT record and INDX records in $INDEX_ALLOCATION. Walks it
/// in order, and looks a name up by descending with the volume's $UpCase collation. Loops and over-deep trees are
/// reported as corruption rather than followed.
/// </summary>
internal sealed class DirectoryIndex
{
    private const string IndexName = "$I30";
    private const int MaxDepth = 32;

    private readonly MasterFileTable _mft;
    private readonly UpCaseTable _upcase;
    private readonly NtfsFile _directory;
    private readonly string? _filePath;
    private readonly List<IndexEntry> _rootEntries;
    private readonly AttributeRecord? _allocation;
    private readonly int _recordSize;
    private readonly long _vcnUnit;
    private AttributeStream? _allocationStream;

    // Index records already read and parsed are kept in the MFT's IndexNodeCache: a lookup descends through the same
    // few nodes as the one before (reading 1,200 INFs of \Windows\INF by path re-read the folder's index records 7,000
    // times), and the directory editor keeps that cache exact across edits.

    public DirectoryIndex(MasterFileTable mft, UpCaseTable upcase, NtfsFile directory, long clusterSize, string? filePath)
    {
        _mft = mft;
        _upcase = upcase;
        _directory = directory;
        _filePath = filePath;
        string structure = $"MFT record {directory.RecordNumber} $INDEX_ROOT $I30";
        AttributeRecord root = directory.Find(AttributeType.IndexRoot, IndexName)
            ?? throw new CorruptDataException("NTFS", $"MFT record {directory.RecordNumber}", -1, "the directory has no $I30 $INDEX_ROOT", filePath);
        if (!root.IsResident)
        {
            throw new CorruptDataException("NTFS", structure, root.VolumeOffset, "$INDEX_ROOT is not resident", filePath);
        }
        IndexRoot header = IndexRoot.ReadFrom(root.Value, structure, root.VolumeOffset, filePath);
        if (header.IndexedAttributeType != AttributeType.FileName || header.CollationRule != IndexRoot.CollationFileName)
        {
            throw new CorruptDataException("NTFS", structure, root.VolumeOffset,
                $"a directory index must index $FILE_NAME (0x30) with the file name collation; found type 0x{header.IndexedAttributeType:X}, rule {header.CollationRule}", filePath);
        }
        _recordSize = header.IndexRecordSize;

        // VCNs in $I30 count clusters when an index record is at least a cluster, else 512-byte blocks.
        _vcnUnit = _recordSize >= clusterSize ? clusterSize : UpdateSequence.Stride;
        _rootEntries = IndexNode.ReadEntries(root.Value, IndexRoot.NodeHeaderOffset, structure, root.VolumeOffset, filePath);
        _allocation = directory.Find(AttributeType.IndexAllocation, IndexName);
    }

    /// <summary>All entries in collation order (every name, including DOS aliases).</summary>
    public IEnumerable<IndexEntry> Enumerate()
    {
        var visited = new HashSet<long>();
        FileNameAttribute? previous = null;
        foreach (IndexEntry entry in Walk(_rootEntries, 0, visited))
        {
            // An in-order walk of a sound B-tree is strictly ascending; anything else means lookups would miss names.
            if (previous is not null && OutOfOrder(previous.Name, entry.Key!.Name))
            {
                throw new CorruptDataException("NTFS", $"MFT record {_directory.RecordNumber} $I30 index", entry.VolumeOffset,
                    $"entries are out of order: \"{entry.Key!.Name}\" follows \"{previous.Name}\"", _filePath);
            }
            previous = entry.Key;
            yield return entry;
        }
    }

    // $I30 order compares names through $UpCase. Names equal after upper-casing (POSIX names differing only in
    // case) may come in either order; only a decrease or an exact duplicate is damage.
    private bool OutOfOrder(string previous, string next)
    {
        int c = _upcase.Compare(previous, next);
        return c > 0 || (c == 0 && string.Equals(previous, next, StringComparison.Ordinal));
    }

    private IEnumerable<IndexEntry> Walk(List<IndexEntry> entries, int depth, HashSet<long> visited)
    {
        foreach (IndexEntry entry in entries)
        {
            if (entry.SubnodeVcn >= 0)
            {
                List<IndexEntry> child = LoadNode(entry.SubnodeVcn, depth + 1, visited);
                foreach (IndexEntry e in Walk(child, depth + 1, visited))
                {
                    yield return e;
                }
            }
            if (!entry.IsLast)
            {
                yield return entry;
            }
        }
    }

    /// <summary>Finds the entry for <paramref name="name"/> (case-insensitive by $UpCase), preferring an exact-case match.</summary>
    public IndexEntry? Find(string name)
    {
        var visited = new HashSet<long>();
        List<IndexEntry> entries = _rootEntries;
        for (int depth = 0; ; depth++)
        {
            IndexEntry? descend = null;
            foreach (IndexEntry entry in entries)
            {
                if (entry.IsLast)
                {
                    descend = entry;
                    break;
                }
                int c = _upcase.Compare(name, entry.Key!.Name);
                if (c == 0)
                {
                    return entry;
                }
                if (c < 0)
                {
                    descend = entry;
                    break;
                }
            }
            if (descend is null || descend.SubnodeVcn < 0)
            {
                return null;
            }
            entries = LoadNode(descend.SubnodeVcn, depth + 1, visited);
        }
    }

    private List<IndexEntry> LoadNode(long vcn, int depth, HashSet<long> visited)
    {
        string structure = $"MFT record {_directory.RecordNumber} $I30 index record VCN {vcn}";
        if (depth > MaxDepth)
        {
            throw new CorruptDataException("NTFS", structure, -1, $"the directory B-tree is deeper than {MaxDepth} levels", _filePath);
        }
        if (!visited.Add(vcn))
        {
            throw new CorruptDataException("NTFS", structure, -1, "the directory B-tree loops: this index record was already visited", _filePath);
        }
        if (_allocation is null)
        {
            throw new CorruptDataException("NTFS", structure, -1, "an index entry points to a child node, but the directory has no $INDEX_ALLOCATION", _filePath);
        }
        if (_mft.IndexNodes.TryGet(_directory.RecordNumber, vcn, out List<IndexEntry> cached))
        {
            return cached;
        }
        _allocationStream ??= _mft.OpenAttribute(_allocation);
        long position = vcn * _vcnUnit;
        if (vcn < 0 || position / _vcnUnit != vcn || position > _allocationStream.Length - _recordSize)
        {
            throw new CorruptDataException("NTFS", structure, _allocation.VolumeOffset, $"the child node lies outside the {_allocationStream.Length}-byte $INDEX_ALLOCATION", _filePath);
        }
        byte[] data = new byte[_recordSize];
        _allocationStream.ReadAt(position, data);
        List<IndexEntry> node = IndexRecord.ReadFrom(data, vcn, structure, VolumeOffsetOf(position), _filePath);
        _mft.IndexNodes.Put(_directory.RecordNumber, vcn, node);
        return node;
    }

    // The byte offset in the volume of a position in $INDEX_ALLOCATION, for error messages; -1 when unmapped.
    private long VolumeOffsetOf(long position)
    {
        long clusterSize = _mft.ClusterSize;
        long vcn = position / clusterSize;
        foreach (DataRun run in _allocation!.Runs)
        {
            if (vcn >= run.Vcn && vcn < run.Vcn + run.Length && !run.IsSparse)
            {
                return ((run.Lcn + (vcn - run.Vcn)) * clusterSize) + (position % clusterSize);
            }
        }
        return -1;
    }
}
