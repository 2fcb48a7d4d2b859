using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The volume's cluster allocation bitmap ($Bitmap, MFT record 6) in memory: one bit per cluster, set when in use.
/// Allocation prefers one contiguous extent (next-fit from a hint, so related files stay together and runlists stay
/// short) and falls back to several fragments when no single gap is large enough.
/// </summary>
internal sealed class ClusterBitmap
{
    // Dirty tracking granularity: the bytes of the bitmap written back per changed chunk.
    public const int ChunkBytes = 4096;

    private readonly byte[] _bits;
    private readonly long _totalClusters;
    private readonly HashSet<int> _dirtyChunks = new();
    private long _lastAllocationEnd;
    private Dictionary<int, byte[]>? _undo;
    private HashSet<int>? _undoDirty;
    private long _undoLastEnd;

    public ClusterBitmap(byte[] bits, long totalClusters)
    {
        if (bits.LongLength * 8 < totalClusters)
        {
            throw new ArgumentException($"The bitmap ({bits.Length} bytes) is too short for {totalClusters} clusters.", nameof(bits));
        }
        _bits = bits;
        _totalClusters = totalClusters;
    }

    public byte[] Bytes => _bits;

    public IEnumerable<int> DirtyChunks => _dirtyChunks;

    public bool IsDirty => _dirtyChunks.Count > 0;

    public void ClearDirty() => _dirtyChunks.Clear();

    /// <summary>Starts remembering changed chunks so that <see cref="Rollback"/> can restore them.</summary>
    public void BeginSavepoint()
    {
        _undo = new Dictionary<int, byte[]>();
        _undoDirty = new HashSet<int>(_dirtyChunks);
        _undoLastEnd = _lastAllocationEnd;
    }

    public void ReleaseSavepoint()
    {
        _undo = null;
        _undoDirty = null;
    }

    public void Rollback()
    {
        if (_undo is null || _undoDirty is null)
        {
            return;
        }
        foreach (KeyValuePair<int, byte[]> chunk in _undo)
        {
            chunk.Value.CopyTo(_bits, (long)chunk.Key * ChunkBytes);
        }
        _dirtyChunks.Clear();
        _dirtyChunks.UnionWith(_undoDirty);
        _lastAllocationEnd = _undoLastEnd;
        ReleaseSavepoint();
    }

    public bool IsUsed(long cluster) => (_bits[cluster >> 3] & (1 << (int)(cluster & 7))) != 0;

    public long CountFree()
    {
        long free = 0;
        for (long c = 0; c < _totalClusters; c++)
        {
            if ((c & 7) == 0 && c + 8 <= _totalClusters && _bits[c >> 3] == 0xFF)
            {
                c += 7;
                continue;
            }
            if (!IsUsed(c))
            {
                free++;
            }
        }
        return free;
    }

    /// <summary>Allocates <paramref name="count"/> clusters; returns (LCN, length) extents in allocation order.</summary>
    /// <exception cref="IOException">The volume has fewer free clusters than needed.</exception>
    public List<(long Lcn, long Length)> Allocate(long count, long hint)
    {
        if (count <= 0)
        {
            return new List<(long, long)>();
        }
        hint = hint < 0 || hint >= _totalClusters ? _lastAllocationEnd % _totalClusters : hint;
        long? contiguous = FindFree(count, hint) ?? FindFree(count, 0);
        var result = new List<(long Lcn, long Length)>();
        if (contiguous is { } start)
        {
            result.Add((start, count));
        }
        else
        {
            long needed = count;
            long c = hint;
            for (long scanned = 0; scanned < _totalClusters && needed > 0;)
            {
                if (IsUsed(c))
                {
                    c = (c + 1) % _totalClusters;
                    scanned++;
                    continue;
                }
                long runStart = c;
                long length = 0;
                while (length < needed && c < _totalClusters && !IsUsed(c))
                {
                    c++;
                    length++;
                    scanned++;
                }
                result.Add((runStart, length));
                needed -= length;
                c %= _totalClusters;
            }
            if (needed > 0)
            {
                throw new IOException($"The NTFS volume is full: {count} clusters are needed, {count - needed} are free.");
            }
        }
        foreach ((long lcn, long length) in result)
        {
            SetRange(lcn, length, used: true);
            _lastAllocationEnd = lcn + length;
        }
        return result;
    }

    /// <summary>Marks clusters as free.</summary>
    public void Free(long lcn, long length) => SetRange(lcn, length, used: false);

    /// <summary>Marks clusters as used (for structures placed at fixed positions).</summary>
    public void MarkUsed(long lcn, long length) => SetRange(lcn, length, used: true);

    private long? FindFree(long count, long from)
    {
        long run = 0;
        for (long c = from; c < _totalClusters; c++)
        {
            // Whole bytes of used clusters are skipped eight at a time.
            if ((c & 7) == 0 && _bits[c >> 3] == 0xFF)
            {
                run = 0;
                c += 7;
                continue;
            }
            if (IsUsed(c))
            {
                run = 0;
                continue;
            }
            run++;
            if (run == count)
            {
                return c - count + 1;
            }
        }
        return null;
    }

    private void SetRange(long lcn, long length, bool used)
    {
        if (lcn < 0 || length < 0 || lcn + length > _totalClusters)
        {
            throw new ArgumentOutOfRangeException(nameof(lcn), $"Clusters {lcn}+{length} lie outside the volume's {_totalClusters}.");
        }
        for (long c = lcn; c < lcn + length; c++)
        {
            int chunk = (int)((c >> 3) / ChunkBytes);
            if (_undo is not null && !_undo.ContainsKey(chunk))
            {
                long start = (long)chunk * ChunkBytes;
                _undo[chunk] = _bits.AsSpan((int)start, (int)Math.Min(ChunkBytes, _bits.Length - start)).ToArray();
            }
            int mask = 1 << (int)(c & 7);
            if (used)
            {
                _bits[c >> 3] |= (byte)mask;
            }
            else
            {
                _bits[c >> 3] &= (byte)~mask;
            }
            _dirtyChunks.Add(chunk);
        }
    }
}
