using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Shared;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The shared security descriptors of $Secure:$SDS (MFT record 9), by security id. $SDS is written in 256 KiB blocks,
/// each followed by a mirror copy of itself; entries (hash, id, own offset, length, then the self-relative descriptor)
/// are 16-byte aligned and never cross a block. The map is built by one pass over the primary blocks, accepting an
/// entry only when its recorded offset equals where it was found.
/// </summary>
internal sealed class SecureStore
{
    private const int BlockSize = 256 * 1024;
    private const int EntryHeaderSize = 20;
    private const int IdOffset = 4;
    private const int SelfOffset = 8;
    private const int LengthOffset = 16;
    private const int MaxDescriptor = 64 * 1024;
    private const long MaxSdsBytes = 256L * 1024 * 1024;

    private readonly Stream _sds;
    private readonly Dictionary<uint, (long Offset, int Length)> _entries = new();

    public SecureStore(Stream sds)
    {
        _sds = sds;
        long length = Math.Min(sds.Length, MaxSdsBytes);
        byte[] block = new byte[BlockSize];
        for (long start = 0; start < length; start += 2L * BlockSize)
        {
            int n = sds.ReadAtMost(start, block.AsSpan(0, (int)Math.Min(BlockSize, length - start)));
            int pos = 0;
            while (pos + EntryHeaderSize <= n)
            {
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(pos + IdOffset));
                long self = BinaryPrimitives.ReadInt64LittleEndian(block.AsSpan(pos + SelfOffset));
                int entryLength = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(pos + LengthOffset)));
                if (self != start + pos || entryLength < EntryHeaderSize || entryLength > n - pos || entryLength - EntryHeaderSize > MaxDescriptor)
                {
                    break; // the rest of this block is unused
                }
                _entries[id] = (start + pos + EntryHeaderSize, entryLength - EntryHeaderSize);
                pos += (entryLength + 15) & ~15;
            }
        }
    }

    /// <summary>Every security id in $SDS.</summary>
    public IEnumerable<uint> Ids => _entries.Keys;

    public byte[]? Get(uint securityId)
    {
        if (!_entries.TryGetValue(securityId, out (long Offset, int Length) entry))
        {
            return null;
        }
        byte[] descriptor = new byte[entry.Length];
        _sds.ReadAtMost(entry.Offset, descriptor);
        return descriptor;
    }
}
