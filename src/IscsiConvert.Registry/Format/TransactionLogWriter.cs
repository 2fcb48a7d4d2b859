using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// Builds the transaction log that makes an in-place save recoverable (the layouts <see cref="TransactionLogRecovery"/>
/// reads, from the public regf specification): the first 512 bytes of the new base block, marked as a log, with both
/// sequence numbers set to the save's sequence number, followed by the dirty pages of the hive bins data — as one
/// "HvLE" entry (new format) or as a "DIRT" bitmap and 512-byte pages (old format). A recovering reader replays them
/// over a primary whose base block says a write was started (primary sequence number ahead of the secondary).
/// </summary>
internal static class TransactionLogWriter
{
    public const uint EntrySignature = 0x454C7648; // "HvLE"
    public const uint DirtSignature = 0x54524944;  // "DIRT"
    public const int EntryHeaderSize = 40;
    public const int LogSector = 512;

    // Windows ends each log entry on a 4 KiB boundary of the log file (the first entry, after the 512-byte base block
    // copy, is 512 bytes short of a page); we do the same, so that the entry's pages sit page-aligned in the log.
    private const int EntryAlignment = 4096;

    /// <summary>The whole log file: base block copy, then the entry (new format) or dirty vector and pages (old).</summary>
    public static byte[] Build(TransactionLogFormat format, BaseBlock newBase, ReadOnlySpan<byte> bins, IReadOnlyList<(int Offset, int Length)> runs)
    {
        BaseBlock logBase = newBase.Clone();
        logBase.FileType = format == TransactionLogFormat.New ? BaseBlock.FileTypeLogNew : BaseBlock.FileTypeLogOld;
        var block = new byte[BaseBlock.Size];
        logBase.WriteTo(block);
        byte[] body = format == TransactionLogFormat.New
            ? NewFormatEntry(newBase.PrimarySequence, (int)newBase.HiveBinsDataSize, bins, runs)
            : OldFormatBody((int)newBase.HiveBinsDataSize, bins, runs);
        var log = new byte[LogSector + body.Length];
        block.AsSpan(0, LogSector).CopyTo(log);
        body.CopyTo(log, LogSector);
        return log;
    }

    /// <summary>One "HvLE" entry: header, page references, pages, zero padding to the next 4 KiB of the log file.</summary>
    public static byte[] NewFormatEntry(uint sequence, int hiveBinsSize, ReadOnlySpan<byte> bins, IReadOnlyList<(int Offset, int Length)> runs)
    {
        long content = EntryHeaderSize + (runs.Count * 8L);
        foreach ((_, int length) in runs)
        {
            content += length;
        }
        long size = ((LogSector + content + EntryAlignment - 1) / EntryAlignment * EntryAlignment) - LogSector;
        if (size > HiveStorage.MaxLength)
        {
            throw new InvalidOperationException($"a log entry of {size} bytes is larger than any log Windows reads");
        }
        var entry = new byte[size];
        Span<byte> e = entry;
        BinaryPrimitives.WriteUInt32LittleEndian(e, EntrySignature);
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(4), (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(8), 0); // flags: meaning unknown; Windows writes 0 or 1
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(12), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(16), (uint)hiveBinsSize);
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(20), (uint)runs.Count);
        int pos = EntryHeaderSize + (runs.Count * 8);
        for (int i = 0; i < runs.Count; i++)
        {
            (int offset, int length) = runs[i];
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(EntryHeaderSize + (i * 8)), (uint)offset);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(EntryHeaderSize + (i * 8) + 4), (uint)length);
            bins.Slice(offset, length).CopyTo(e.Slice(pos));
            pos += length;
        }
        // Hash-1 covers everything after the header; Hash-2 the first 32 bytes, Hash-1 included: so it is computed last.
        BinaryPrimitives.WriteUInt64LittleEndian(e.Slice(24), Marvin32.Compute(e.Slice(EntryHeaderSize), Marvin32.RegistrySeed));
        BinaryPrimitives.WriteUInt64LittleEndian(e.Slice(32), Marvin32.Compute(e.Slice(0, 32), Marvin32.RegistrySeed));
        return entry;
    }

    /// <summary>The old format after the base block copy: "DIRT", one bit per 512-byte page of the hive bins data
    /// (a dirty 4 KiB page sets 8 bits, as Windows does), padding to a sector, then every dirty 512-byte page.</summary>
    public static byte[] OldFormatBody(int hiveBinsSize, ReadOnlySpan<byte> bins, IReadOnlyList<(int Offset, int Length)> runs)
    {
        int bits = hiveBinsSize / LogSector;
        int bitmapBytes = (bits + 7) / 8;
        int vector = (4 + bitmapBytes + LogSector - 1) / LogSector * LogSector;
        long pagesBytes = 0;
        foreach ((_, int length) in runs)
        {
            pagesBytes += length;
        }
        if (vector + pagesBytes > HiveStorage.MaxLength)
        {
            throw new InvalidOperationException($"an old-format log of {vector + pagesBytes} bytes is larger than any log Windows reads");
        }
        var body = new byte[vector + pagesBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(body, DirtSignature);
        int pos = vector;
        foreach ((int offset, int length) in runs)
        {
            for (int sector = offset / LogSector; sector < (offset + length) / LogSector; sector++)
            {
                body[4 + (sector / 8)] |= (byte)(1 << (sector % 8));
            }
            bins.Slice(offset, length).CopyTo(body.AsSpan(pos));
            pos += length;
        }
        return body;
    }
}
