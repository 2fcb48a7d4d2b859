using System;
using System.Buffers.Binary;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// The 4096-byte base block at the start of a primary hive file (and, as a 512-byte partial copy, of a transaction log).
/// Only the fields this library reads or maintains are named; every other byte is kept as it was.
/// </summary>
internal sealed class BaseBlock
{
    public const int Size = 4096;
    public const int ChecksummedLength = 508;
    public const int LogCopyLength = 512;

    public const int SignatureOffset = 0;
    public const int PrimarySequenceOffset = 4;
    public const int SecondarySequenceOffset = 8;
    public const int TimestampOffset = 12;
    public const int MajorVersionOffset = 20;
    public const int MinorVersionOffset = 24;
    public const int FileTypeOffset = 28;
    public const int FileFormatOffset = 32;
    public const int RootCellOffset = 36;
    public const int HiveBinsDataSizeOffset = 40;
    public const int ClusteringFactorOffset = 44;
    public const int FileNameOffset = 48;
    public const int FileNameLength = 64;
    public const int ChecksumOffset = 508;

    public const uint Signature = 0x66676572; // "regf" little-endian
    public const uint FileTypePrimary = 0;
    public const uint FileTypeLogOld = 1;
    public const uint FileTypeLogOldAlternate = 2;
    public const uint FileTypeLogNew = 6;

    private readonly byte[] _bytes;

    private BaseBlock(byte[] bytes)
    {
        _bytes = bytes;
    }

    public uint PrimarySequence
    {
        get => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(PrimarySequenceOffset));
        set => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(PrimarySequenceOffset), value);
    }

    public uint SecondarySequence
    {
        get => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(SecondarySequenceOffset));
        set => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(SecondarySequenceOffset), value);
    }

    public long Timestamp
    {
        get => BinaryPrimitives.ReadInt64LittleEndian(_bytes.AsSpan(TimestampOffset));
        set => BinaryPrimitives.WriteInt64LittleEndian(_bytes.AsSpan(TimestampOffset), value);
    }

    public uint MajorVersion => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(MajorVersionOffset));

    public uint MinorVersion => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(MinorVersionOffset));

    public uint FileType
    {
        get => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(FileTypeOffset));
        set => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(FileTypeOffset), value);
    }

    public uint FileFormat => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(FileFormatOffset));

    public uint RootCell
    {
        get => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(RootCellOffset));
        set => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(RootCellOffset), value);
    }

    public uint HiveBinsDataSize
    {
        get => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(HiveBinsDataSizeOffset));
        set => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(HiveBinsDataSizeOffset), value);
    }

    /// <summary>
    /// The file name kept for debugging (UTF-16LE, 64 bytes). A longer name keeps its last 31 characters, as Windows
    /// keeps the end of the path; the field always ends with a zero character.
    /// </summary>
    public string FileName
    {
        get
        {
            string s = System.Text.Encoding.Unicode.GetString(_bytes, FileNameOffset, FileNameLength);
            int nul = s.IndexOf('\0');
            return nul < 0 ? s : s.Substring(0, nul);
        }

        set
        {
            const int maxChars = (FileNameLength / 2) - 1;
            string v = value.Length > maxChars ? value.Substring(value.Length - maxChars) : value;
            if (v.Length > 0 && char.IsLowSurrogate(v[0]))
            {
                v = v.Substring(1); // never keep half of a character
            }
            Span<byte> area = _bytes.AsSpan(FileNameOffset, FileNameLength);
            area.Clear();
            System.Text.Encoding.Unicode.GetBytes(v).CopyTo(area);
        }
    }

    public uint StoredChecksum => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(ChecksumOffset));

    public bool HasSignature => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(SignatureOffset)) == Signature;

    public bool ChecksumMatches => StoredChecksum == ComputeChecksum(_bytes);

    /// <summary>Sequence numbers differ: a write to the primary file was started and not finished.</summary>
    public bool SequencesDiffer => PrimarySequence != SecondarySequence;

    /// <summary>Copies a base block (4096 bytes, or the 512-byte partial copy of a log; the rest is zero-filled).</summary>
    public static BaseBlock ReadFrom(ReadOnlySpan<byte> source)
    {
        var bytes = new byte[Size];
        source.Slice(0, Math.Min(source.Length, Size)).CopyTo(bytes);
        return new BaseBlock(bytes);
    }

    /// <summary>A blank primary base block for a new hive.</summary>
    public static BaseBlock CreatePrimary(uint minorVersion, uint rootCell)
    {
        var bytes = new byte[Size];
        var b = new BaseBlock(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(SignatureOffset), Signature);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(MajorVersionOffset), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(MinorVersionOffset), minorVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(FileFormatOffset), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(ClusteringFactorOffset), 1);
        b.RootCell = rootCell;
        return b;
    }

    public BaseBlock Clone() => new((byte[])_bytes.Clone());

    /// <summary>Writes the block with a freshly computed checksum.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(ChecksumOffset), ComputeChecksum(_bytes));
        _bytes.AsSpan().CopyTo(destination);
    }

    /// <summary>
    /// XOR of the first 127 little-endian 32-bit words. Windows never stores 0 or 0xFFFFFFFF (it maps them to 1 and
    /// 0xFFFFFFFE), so a block whose words XOR to one of those is given the mapped value.
    /// </summary>
    public static uint ComputeChecksum(ReadOnlySpan<byte> block)
    {
        uint c = 0;
        for (int i = 0; i < ChecksummedLength; i += 4)
        {
            c ^= BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(i));
        }
        if (c == 0)
        {
            return 1;
        }
        if (c == uint.MaxValue)
        {
            return uint.MaxValue - 1;
        }
        return c;
    }
}
