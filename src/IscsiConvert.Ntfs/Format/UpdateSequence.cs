using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// The update sequence array ("fixups") of multi-sector structures (MFT records, INDX records, $LogFile pages): the
/// last two bytes of every 512-byte stride are replaced on disk by the update sequence number and the originals kept
/// in the array, so that a torn write shows up as a mismatch.
/// </summary>
internal static class UpdateSequence
{
    public const int Stride = 512;
    private const int ArrayOffsetField = 0x04;
    private const int ArrayCountField = 0x06;

    /// <summary>Checks and undoes the fixups in place. <paramref name="structure"/> and <paramref name="baseOffset"/>
    /// (the structure's byte offset in the volume) name the structure in errors.</summary>
    public static void Apply(Span<byte> record, string structure, long baseOffset, string? filePath)
    {
        int arrayOffset = BinaryPrimitives.ReadUInt16LittleEndian(record.Slice(ArrayOffsetField));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(record.Slice(ArrayCountField));
        int strides = record.Length / Stride;
        if (count != strides + 1)
        {
            throw new CorruptDataException("NTFS", structure, baseOffset + ArrayCountField,
                $"the update sequence array has {count} entries; a {record.Length}-byte record needs {strides + 1}", filePath);
        }
        if (arrayOffset < 8 || (arrayOffset & 1) != 0 || arrayOffset + (2 * count) > Stride - 2)
        {
            throw new CorruptDataException("NTFS", structure, baseOffset + ArrayOffsetField,
                $"the update sequence array offset {arrayOffset} does not fit in the first sector", filePath);
        }
        ushort usn = BinaryPrimitives.ReadUInt16LittleEndian(record.Slice(arrayOffset));
        for (int i = 0; i < strides; i++)
        {
            int tail = ((i + 1) * Stride) - 2;
            ushort found = BinaryPrimitives.ReadUInt16LittleEndian(record.Slice(tail));
            if (found != usn)
            {
                throw new CorruptDataException("NTFS", structure, baseOffset + tail,
                    $"update sequence mismatch in sector {i}: expected 0x{usn:X4}, found 0x{found:X4} (torn or damaged write)", filePath);
            }
            record[tail] = record[arrayOffset + (2 * (i + 1))];
            record[tail + 1] = record[arrayOffset + (2 * (i + 1)) + 1];
        }
    }

    /// <summary>
    /// The inverse of <see cref="Apply"/> before a write: stores <paramref name="sequenceNumber"/> in the array, saves
    /// the last two bytes of every stride into it and stamps the number over them. The array offset and count must
    /// already be in the header.
    /// </summary>
    public static void Protect(Span<byte> record, ushort sequenceNumber)
    {
        int arrayOffset = BinaryPrimitives.ReadUInt16LittleEndian(record.Slice(ArrayOffsetField));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(record.Slice(ArrayCountField));
        int strides = record.Length / Stride;
        if (count != strides + 1 || arrayOffset < 8 || arrayOffset + (2 * count) > Stride - 2)
        {
            throw new ArgumentException($"The record's update sequence array ({count} entries at {arrayOffset}) does not fit a {record.Length}-byte record.", nameof(record));
        }
        BinaryPrimitives.WriteUInt16LittleEndian(record.Slice(arrayOffset), sequenceNumber);
        for (int i = 0; i < strides; i++)
        {
            int tail = ((i + 1) * Stride) - 2;
            record[arrayOffset + (2 * (i + 1))] = record[tail];
            record[arrayOffset + (2 * (i + 1)) + 1] = record[tail + 1];
            BinaryPrimitives.WriteUInt16LittleEndian(record.Slice(tail), sequenceNumber);
        }
    }
}
