using System.Collections.Generic;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Decoded INDX records of directory indexes ($I30), by directory record and VCN, shared by the lookups
/// (<see cref="DirectoryIndex"/>) and the editor (<see cref="DirectoryEditor"/>) for as long as the volume's staged state
/// lasts. A create in a directory of 100,000 names descends the same three or four nodes for the path lookup, the insert,
/// the size refresh and the final lookup; reading and decoding them each time was most of its cost. The editor is the
/// only writer of INDX records and keeps the cache exact: a node it writes is replaced, a node it frees or formats anew is
/// forgotten, a freed directory record forgets all of its nodes, and a rolled-back or discarded edit (or a reload of the
/// MFT) forgets everything. The lists are shared: nobody may change them (the index tree edits copies).
/// </summary>
internal sealed class IndexNodeCache
{
    // About 8 KiB of decoded entries per 4 KiB record: at most ~16 MiB. A huge directory's leaves come and go; the
    // few upper nodes every descent passes through are read again after a reset.
    private const int MaxNodes = 2048;

    private readonly Dictionary<long, Dictionary<long, List<IndexEntry>>> _byDirectory = new();
    private int _count;

    public bool TryGet(long directory, long vcn, out List<IndexEntry> entries)
    {
        if (_byDirectory.TryGetValue(directory, out Dictionary<long, List<IndexEntry>>? nodes) && nodes.TryGetValue(vcn, out List<IndexEntry>? found))
        {
            entries = found;
            return true;
        }
        entries = null!;
        return false;
    }

    /// <summary>Remembers the decoded node at <paramref name="vcn"/> of <paramref name="directory"/>'s $I30 (as it now is on the staged volume).</summary>
    public void Put(long directory, long vcn, List<IndexEntry> entries)
    {
        if (_count >= MaxNodes)
        {
            Clear();
        }
        if (!_byDirectory.TryGetValue(directory, out Dictionary<long, List<IndexEntry>>? nodes))
        {
            nodes = new Dictionary<long, List<IndexEntry>>();
            _byDirectory[directory] = nodes;
        }
        if (!nodes.ContainsKey(vcn))
        {
            _count++;
        }
        nodes[vcn] = entries;
    }

    /// <summary>Forgets one node (rewritten in a way the caller does not describe, or freed).</summary>
    public void Forget(long directory, long vcn)
    {
        if (_byDirectory.TryGetValue(directory, out Dictionary<long, List<IndexEntry>>? nodes) && nodes.Remove(vcn))
        {
            _count--;
        }
    }

    /// <summary>Forgets every node of a directory (its record was freed, and may be reused by another).</summary>
    public void Forget(long directory)
    {
        if (_byDirectory.TryGetValue(directory, out Dictionary<long, List<IndexEntry>>? nodes))
        {
            _count -= nodes.Count;
            _byDirectory.Remove(directory);
        }
    }

    public void Clear()
    {
        _byDirectory.Clear();
        _count = 0;
    }
}
