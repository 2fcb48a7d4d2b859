using System;
using System.Buffers.Binary;
using IscsiConvert.Shared;

namespace IscsiConvert.Fuzzing;

/// <summary>
/// Checksum repairs, written from the format specifications (not taken from the readers): each recomputes a checksum over
/// the mutated bytes and patches it in, so that mutations get past the checksum test to the checks behind it.
/// </summary>
public static class Checksums
{
    /// <summary>VHD footer / dynamic header: one's complement of the byte sum, big-endian, the field counted as zero.</summary>
    public static void VhdSum(Mutation m, int file, long offset, int length, int field)
    {
        byte[] b = m.ReadBytes(file, offset, length);
        if (b.Length < length)
        {
            return;
        }
        uint sum = 0;
        for (int i = 0; i < length; i++)
        {
            sum += i >= field && i < field + 4 ? 0u : b[i];
        }
        byte[] value = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(value, ~sum);
        m.Write(file, offset + field, value, $"repair VHD checksum at 0x{offset + field:X}");
    }

    /// <summary>VHDX headers, region tables, log entries: CRC-32C over the structure with the field counted as zero.</summary>
    public static void Crc32C(Mutation m, int file, long offset, int length, int field)
    {
        byte[] b = m.ReadBytes(file, offset, length);
        if (b.Length < length || length < field + 4)
        {
            return;
        }
        b.AsSpan(field, 4).Clear();
        byte[] value = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(value, IscsiConvert.Shared.Crc32C.Compute(b));
        m.Write(file, offset + field, value, $"repair CRC-32C at 0x{offset + field:X}");
    }

    /// <summary>GPT header and entry array: CRC-32 (IEEE) with the field counted as zero.</summary>
    public static void Crc32(Mutation m, int file, long offset, int length, int field)
    {
        if (length <= 0 || length > (16 << 20))
        {
            return;
        }
        byte[] b = m.ReadBytes(file, offset, length);
        if (b.Length < length)
        {
            return;
        }
        if (field >= 0)
        {
            b.AsSpan(field, 4).Clear();
        }
        byte[] value = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(value, Crc32Ieee(b));
        m.Write(file, offset + Math.Max(field, 0), value, $"repair CRC-32 at 0x{offset + Math.Max(field, 0):X}");
    }

    /// <summary>GPT: the entry array's CRC lives in the header (at 0x58), over count × size bytes at the array's LBA.</summary>
    public static void GptHeader(Mutation m, int file, long header, int sectorSize)
    {
        byte[] h = m.ReadBytes(file, header, 92);
        if (h.Length < 92 || !h.AsSpan(0, 8).SequenceEqual("EFI PART"u8))
        {
            return;
        }
        long entries = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(72)) * sectorSize;
        long bytes = (long)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(80)) * BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(84));
        if (entries > 0 && bytes > 0 && bytes <= (1 << 20))
        {
            byte[] array = m.ReadBytes(file, entries, (int)bytes);
            if (array.Length == bytes)
            {
                byte[] value = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(value, Crc32Ieee(array));
                m.Write(file, header + 88, value, $"repair GPT entry-array CRC at 0x{header + 88:X}");
            }
        }
        int size = (int)Math.Min(512u, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(12)));
        Crc32(m, file, header, Math.Max(size, 20), 16);
    }

    /// <summary>regf base block: XOR of the first 508 bytes as 32-bit words, at 508.</summary>
    public static void RegfBaseBlock(Mutation m, int file)
    {
        byte[] b = m.ReadBytes(file, 0, 512);
        if (b.Length < 512)
        {
            return;
        }
        uint x = 0;
        for (int i = 0; i < 508; i += 4)
        {
            x ^= BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i));
        }
        x = x == 0xFFFFFFFF ? 0xFFFFFFFE : x == 0 ? 1 : x;
        byte[] value = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(value, x);
        m.Write(file, 508, value, "repair regf base block checksum");
    }

    /// <summary>
    /// NTFS multi-sector records (FILE, INDX): puts the update sequence number back at the end of every 512-byte stride
    /// of a record the mutation touched, so damage inside the record is parsed rather than refused by the fixup check.
    /// </summary>
    public static void NtfsFixups(Mutation m, int file, long record, int recordSize)
    {
        byte[] head = m.ReadBytes(file, record, 8);
        if (head.Length < 8)
        {
            return;
        }
        int usaOffset = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(4));
        int usaCount = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(6));
        if (usaOffset + 2 > recordSize || usaCount < 2 || usaCount - 1 > recordSize / 512)
        {
            return;
        }
        byte[] usn = m.ReadBytes(file, record + usaOffset, 2);
        for (int i = 1; i < usaCount; i++)
        {
            long end = record + (i * 512) - 2;
            byte[] current = m.ReadBytes(file, end, 2);
            if (current.Length == 2 && !current.AsSpan().SequenceEqual(usn))
            {
                m.Write(file, end, usn, $"repair NTFS fixup at 0x{end:X}");
            }
        }
    }

    private static readonly uint[] Crc32Table = BuildTable();

    public static uint Crc32Ieee(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc = Crc32Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            t[i] = c;
        }
        return t;
    }
}
