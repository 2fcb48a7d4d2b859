using System;
using System.Collections.Generic;
using System.IO;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The volume's cluster allocation bitmap ($Bitmap, MFT record 6): one bit per cluster, set when in use. Allocation
/// prefers one contiguous extent (next-fit from a hint, so related files stay together and runlists stay short) and
/// falls back to several fragments when no single gap is large enough.
/// </summary>
/// <remarks>
/// The bitmap is read in chunks of <see cref="ChunkBytes"/> when first needed, not whole at open: it is 1/32768 of the
/// volume (2 MiB for 64 GiB, 32 MiB for 1 TiB), while an edit touches a few chunks, so an open that read it whole (and
/// kept a second copy as it is on disk) cost time and memory growing with the volume. A chunk, once read, stays; the
/// bytes of a chunk as it is on disk are kept only for the chunks changed since the last commit.
/// </remarks>
internal sealed class ClusterBitmap
{
    /// <summary>Bytes of the bitmap per chunk: the unit of reading, of dirty tracking and of writing back.</summary>
    public const int ChunkBytes = 4096;

    private readonly Func<long, int, byte[]> _read;
    private readonly long _bitmapBytes;
    private readonly long _totalClusters;
    private readonly byte[]?[] _chunks;
    private readonly HashSet<int> _dirtyChunks = new();
    private readonly Dictionary<int, byte[]> _onDisk = new();
    private long _lastAllocationEnd;
    private Dictionary<int, byte[]>? _undo;
    private HashSet<int>? _undoDirty;
    private long _undoLastEnd;

    /// <summary>A bitmap read chunk by chunk through <paramref name="read"/> (byte offset and length in the bitmap →
    /// exactly that many bytes) from a bitmap of <paramref name="bitmapBytes"/> bytes.</summary>
    public ClusterBitmap(Func<long, int, byte[]> read, long bitmapBytes, long totalClusters)
    {
        if (bitmapBytes * 8 < totalClusters)
        {
            throw new ArgumentException($"The bitmap ({bitmapBytes} bytes) is too short for {totalClusters} clusters.", nameof(bitmapBytes));
        }
        _read = read;
        _bitmapBytes = bitmapBytes;
        _totalClusters = totalClusters;
        _chunks = new byte[]?[checked((int)((bitmapBytes + ChunkBytes - 1) / ChunkBytes))];
    }

    /// <summary>A bitmap already in memory whole.</summary>
    public ClusterBitmap(byte[] bits, long totalClusters)
        : this((offset, length) => bits.AsSpan((int)offset, length).ToArray(), bits.LongLength, totalClusters)
    {
    }

    /// <summary>The chunks changed since the last <see cref="ClearDirty"/>, to be written back.</summary>
    public IEnumerable<int> DirtyChunks => _dirtyChunks;

    public bool IsDirty => _dirtyChunks.Count > 0;

    /// <summary>The bytes of a chunk as they are now.</summary>
    public ReadOnlySpan<byte> Chunk(int chunk) => Load(chunk);

    /// <summary>The dirty chunks are staged for writing: nothing is dirty any more.</summary>
    public void ClearDirty() => _dirtyChunks.Clear();

    /// <summary>The staged chunks reached the disk: what is in memory is what is on disk.</summary>
    public void Committed() => _onDisk.Clear();

    /// <summary>True when <paramref name="cluster"/> is free in the bitmap as it is on disk (as of the last commit).</summary>
    public bool IsFreeOnDisk(long cluster)
    {
        if (cluster < 0 || cluster >= _bitmapBytes * 8)
        {
            return false;
        }
        int chunk = (int)((cluster >> 3) / ChunkBytes);
        byte[] bits = _onDisk.TryGetValue(chunk, out byte[]? saved) ? saved : Load(chunk);
        return (bits[(cluster >> 3) % ChunkBytes] & (1 << (int)(cluster & 7))) == 0;
    }

    /// <summary>Goes back to the bitmap as it is on disk: every allocation and free since the last commit is forgotten,
    /// nothing is dirty.</summary>
    public void Reset()
    {
        foreach (KeyValuePair<int, byte[]> chunk in _onDisk)
        {
            _chunks[chunk.Key] = chunk.Value;
        }
        _onDisk.Clear();
        _dirtyChunks.Clear();
        _undo = null;
        _undoDirty = null;
        _lastAllocationEnd = 0;
    }

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
            chunk.Value.CopyTo(_chunks[chunk.Key]!, 0);
        }
        _dirtyChunks.Clear();
        _dirtyChunks.UnionWith(_undoDirty);
        _lastAllocationEnd = _undoLastEnd;
        ReleaseSavepoint();
    }

    public bool IsUsed(long cluster) => (Load((int)((cluster >> 3) / ChunkBytes))[(cluster >> 3) % ChunkBytes] & (1 << (int)(cluster & 7))) != 0;

    // The byte holding cluster c's bit (c < _totalClusters).
    private byte ByteOf(long cluster) => Load((int)((cluster >> 3) / ChunkBytes))[(cluster >> 3) % ChunkBytes];

    /// <summary>Free clusters on the whole volume (reads every chunk).</summary>
    public long CountFree()
    {
        long free = 0;
        for (long c = 0; c < _totalClusters; c++)
        {
            if ((c & 7) == 0 && c + 8 <= _totalClusters)
            {
                byte b = ByteOf(c);
                if (b == 0xFF)
                {
                    c += 7;
                    continue;
                }
                if (b == 0)
                {
                    free += 8;
                    c += 7;
                    continue;
                }
            }
            if (!IsUsed(c))
            {
                free++;
            }
        }
        return free;
    }

    /// <summary>
    /// The MFT zone: clusters kept for $MFT to grow into, as Windows keeps them (an eighth of the volume after $MFT).
    /// File data goes there only when the rest of the volume cannot take it; $MFT's growth goes there first.
    /// </summary>
    public void SetMftZone(long start, long end)
    {
        _zoneStart = Math.Max(0, Math.Min(start, _totalClusters));
        _zoneEnd = Math.Max(_zoneStart, Math.Min(end, _totalClusters));
    }

    public (long Start, long End) MftZone => (_zoneStart, _zoneEnd);

    private long _zoneStart;
    private long _zoneEnd;

    private bool InZone(long cluster) => cluster >= _zoneStart && cluster < _zoneEnd;

    /// <summary>
    /// Allocates <paramref name="count"/> clusters for file data; returns (LCN, length) extents in allocation order. One
    /// extent outside the MFT zone if there is a gap for it, else one extent anywhere, else fragments outside the zone,
    /// else fragments anywhere.
    /// </summary>
    /// <exception cref="IOException">The volume has fewer free clusters than needed.</exception>
    public List<(long Lcn, long Length)> Allocate(long count, long hint)
    {
        if (count <= 0)
        {
            return new List<(long, long)>();
        }
        hint = hint < 0 || hint >= _totalClusters ? _lastAllocationEnd % _totalClusters : hint;
        long? contiguous = FindFree(count, hint, avoidZone: true) ?? FindFree(count, 0, avoidZone: true)
            ?? FindFree(count, hint, avoidZone: false) ?? FindFree(count, 0, avoidZone: false);
        List<(long Lcn, long Length)> result = contiguous is { } start
            ? new List<(long, long)> { (start, count) }
            : Fragments(count, hint, avoidZone: true) ?? Fragments(count, hint, avoidZone: false)
                ?? throw new IOException($"The NTFS volume is full: {count} clusters are needed, {CountFree()} are free.");
        Take(result);
        return result;
    }

    /// <summary>
    /// Allocates <paramref name="count"/> clusters for $MFT: inside the MFT zone from <paramref name="hint"/> (where
    /// $MFT ends) when the zone has a gap for them, else as <see cref="Allocate"/> would, zone included.
    /// </summary>
    public List<(long Lcn, long Length)> AllocateForMft(long count, long hint)
    {
        if (count <= 0)
        {
            return new List<(long, long)>();
        }
        long from = Math.Max(hint, _zoneStart);
        long? start = FindFree(count, from, avoidZone: false, limit: _zoneEnd) ?? FindFree(count, _zoneStart, avoidZone: false, limit: _zoneEnd)
            ?? FindFree(count, Math.Max(0, hint), avoidZone: false) ?? FindFree(count, 0, avoidZone: false);
        List<(long Lcn, long Length)> result = start is { } s
            ? new List<(long, long)> { (s, count) }
            : Fragments(count, Math.Max(0, hint), avoidZone: false)
                ?? throw new IOException($"The NTFS volume is full: {count} clusters are needed for $MFT, {CountFree()} are free.");
        Take(result);
        return result;
    }

    private void Take(List<(long Lcn, long Length)> extents)
    {
        foreach ((long lcn, long length) in extents)
        {
            SetRange(lcn, length, used: true);
            _lastAllocationEnd = lcn + length;
        }
    }

    // Free pieces from the hint on (wrapping around) until count clusters are found; null when there are not enough.
    private List<(long Lcn, long Length)>? Fragments(long count, long hint, bool avoidZone)
    {
        var result = new List<(long Lcn, long Length)>();
        long needed = count;
        long c = hint;
        for (long scanned = 0; scanned < _totalClusters && needed > 0;)
        {
            if (IsUsed(c) || (avoidZone && InZone(c)))
            {
                c = (c + 1) % _totalClusters;
                scanned++;
                continue;
            }
            long runStart = c;
            long length = 0;
            while (length < needed && c < _totalClusters && !IsUsed(c) && !(avoidZone && InZone(c)))
            {
                c++;
                length++;
                scanned++;
            }
            result.Add((runStart, length));
            needed -= length;
            c %= _totalClusters;
        }
        return needed > 0 ? null : result;
    }

    /// <summary>Marks clusters as free.</summary>
    public void Free(long lcn, long length) => SetRange(lcn, length, used: false);

    /// <summary>Marks clusters as used (for structures placed at fixed positions).</summary>
    public void MarkUsed(long lcn, long length) => SetRange(lcn, length, used: true);

    // The first gap of count free clusters at or after `from` (and before `limit`), outside the MFT zone if asked.
    private long? FindFree(long count, long from, bool avoidZone, long limit = long.MaxValue)
    {
        long end = Math.Min(limit, _totalClusters);
        long run = 0;
        for (long c = from; c < end; c++)
        {
            if (avoidZone && InZone(c))
            {
                run = 0;
                c = _zoneEnd - 1;
                continue;
            }

            // Whole bytes of used clusters are skipped eight at a time.
            if ((c & 7) == 0 && ByteOf(c) == 0xFF)
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
            byte[] bits = Load(chunk);
            if (!_onDisk.ContainsKey(chunk))
            {
                _onDisk[chunk] = (byte[])bits.Clone();
            }
            if (_undo is not null && !_undo.ContainsKey(chunk))
            {
                _undo[chunk] = (byte[])bits.Clone();
            }
            int mask = 1 << (int)(c & 7);
            int at = (int)((c >> 3) % ChunkBytes);
            if (used)
            {
                bits[at] |= (byte)mask;
            }
            else
            {
                bits[at] &= (byte)~mask;
            }
            _dirtyChunks.Add(chunk);
        }
    }

    private byte[] Load(int chunk)
    {
        byte[]? bits = _chunks[chunk];
        if (bits is null)
        {
            long start = (long)chunk * ChunkBytes;
            int length = (int)Math.Min(ChunkBytes, _bitmapBytes - start);
            bits = _read(start, length);
            if (bits.Length != length)
            {
                throw new InvalidOperationException($"Read {bits.Length} bytes of the cluster bitmap's chunk {chunk}, not {length}.");
            }
            _chunks[chunk] = bits;
        }
        return bits;
    }
}
