using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>One update a log entry carries: 4 KiB of data, or a run of zeros, at a file offset.</summary>
internal sealed record VhdxLogWrite(long FileOffset, long Length, byte[]? Data)
{
    public long End => FileOffset + Length;
}

/// <summary>
/// A log entry ("loge"): a 64-byte header, 32-byte zero ("zero") and data ("desc") descriptors filling whole 4 KiB
/// sectors, then one 4 KiB data sector ("data") per data descriptor. The CRC-32C covers the whole entry.
/// </summary>
internal sealed class VhdxLogEntry
{
    public const int SectorSize = 4096;
    private const int HeaderSize = 64;
    private const int DescriptorSize = 32;
    private const uint EntrySignature = 0x65676F6C; // "loge"
    private const uint ZeroSignature = 0x6F72657A; // "zero"
    private const uint DescSignature = 0x63736564; // "desc"
    private const uint DataSignature = 0x61746164; // "data"
    private const int EntryLengthOffset = 8;
    private const int TailOffset = 12;
    private const int SequenceNumberOffset = 16;
    private const int DescriptorCountOffset = 24;
    private const int LogGuidOffset = 32;
    private const int FlushedFileOffsetOffset = 48;
    private const int LastFileOffsetOffset = 56;

    private VhdxLogEntry(long logOffset, uint length, uint tail, ulong sequence, long flushed, long last, List<VhdxLogWrite> writes)
    {
        LogOffset = logOffset;
        EntryLength = length;
        Tail = tail;
        SequenceNumber = sequence;
        FlushedFileOffset = flushed;
        LastFileOffset = last;
        Writes = writes;
    }

    /// <summary>Where the entry starts, relative to the start of the log.</summary>
    public long LogOffset { get; }
    public uint EntryLength { get; }

    /// <summary>The log offset of the oldest entry the sequence ending here still needs.</summary>
    public uint Tail { get; }
    public ulong SequenceNumber { get; }
    public long FlushedFileOffset { get; }
    public long LastFileOffset { get; }
    public IReadOnlyList<VhdxLogWrite> Writes { get; }

    /// <summary>
    /// Reads the entry at <paramref name="at"/> of the circular <paramref name="log"/>; null when it is not a valid entry
    /// of the log named <paramref name="logGuid"/> (which, during the search, just marks the end of a sequence).
    /// <paramref name="checksummedBytes"/> counts the bytes examined, so the caller can bound the work.
    /// </summary>
    public static VhdxLogEntry? TryRead(byte[] log, long at, Guid logGuid, ref long checksummedBytes)
    {
        if (at % SectorSize != 0 || at < 0 || at >= log.Length)
        {
            return null;
        }
        ReadOnlySpan<byte> head = log.AsSpan((int)at, HeaderSize);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head) != EntrySignature)
        {
            return null;
        }
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(EntryLengthOffset));
        uint tail = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(TailOffset));
        ulong sequence = BinaryPrimitives.ReadUInt64LittleEndian(head.Slice(SequenceNumberOffset));
        uint descriptorCount = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(DescriptorCountOffset));
        if (length == 0 || length % SectorSize != 0 || length > log.Length || tail % SectorSize != 0 || tail >= log.Length || sequence == 0
            || VhdxFormat.ReadGuid(head.Slice(LogGuidOffset)) != logGuid
            || descriptorCount > (length - HeaderSize) / DescriptorSize)
        {
            return null;
        }
        // The entry may wrap around the end of the circular log: gather it into one buffer. Copying and checksumming
        // count against the caller's work bound, so a hostile log of overlapping "entries" cannot make the scan hang.
        checksummedBytes += length;
        byte[] entry = new byte[length];
        int first = (int)Math.Min(length, log.Length - at);
        Array.Copy(log, at, entry, 0, first);
        Array.Copy(log, 0, entry, first, length - first);
        // The cheap checks (descriptors, data sector signatures and sequence numbers) come before the CRC.
        long descriptorBytes = VhdxFormat.AlignUp(HeaderSize + (long)descriptorCount * DescriptorSize, SectorSize);
        long dataSector = descriptorBytes;
        var writes = new List<VhdxLogWrite>((int)descriptorCount);
        for (int i = 0; i < descriptorCount; i++)
        {
            ReadOnlySpan<byte> d = entry.AsSpan(HeaderSize + i * DescriptorSize, DescriptorSize);
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(d);
            ulong fileOffset = BinaryPrimitives.ReadUInt64LittleEndian(d.Slice(16));
            if (BinaryPrimitives.ReadUInt64LittleEndian(d.Slice(24)) != sequence || fileOffset % SectorSize != 0 || fileOffset > long.MaxValue / 2)
            {
                return null;
            }
            if (signature == ZeroSignature)
            {
                ulong zeroLength = BinaryPrimitives.ReadUInt64LittleEndian(d.Slice(8));
                if (zeroLength % SectorSize != 0 || zeroLength > long.MaxValue / 2)
                {
                    return null;
                }
                writes.Add(new VhdxLogWrite((long)fileOffset, (long)zeroLength, null));
            }
            else if (signature == DescSignature)
            {
                if (dataSector + SectorSize > length)
                {
                    return null;
                }
                ReadOnlySpan<byte> s = entry.AsSpan((int)dataSector, SectorSize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(s) != DataSignature
                    || BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(4)) != (uint)(sequence >> 32)
                    || BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(SectorSize - 4)) != (uint)sequence)
                {
                    return null;
                }
                // The data sector's first 8 and last 4 bytes hold its signature and sequence; the real bytes there
                // travel in the descriptor.
                byte[] data = s.ToArray();
                d.Slice(8, 8).CopyTo(data);
                d.Slice(4, 4).CopyTo(data.AsSpan(SectorSize - 4));
                writes.Add(new VhdxLogWrite((long)fileOffset, SectorSize, data));
                dataSector += SectorSize;
            }
            else
            {
                return null;
            }
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(entry.AsSpan(4)) != VhdxFormat.Checksum(entry))
        {
            return null;
        }
        long flushed = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(FlushedFileOffsetOffset)), long.MaxValue);
        long last = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(LastFileOffsetOffset)), long.MaxValue);
        return new VhdxLogEntry(at, length, tail, sequence, flushed, last, writes);
    }
}
