using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>$REPARSE_POINT: the tag, and for junctions (mount points) and symbolic links the target path.</summary>
internal sealed class ReparsePoint
{
    private const int TagOffset = 0x00;
    private const int DataLengthOffset = 0x04;
    private const int DataOffset = 0x08;
    private const int SubstituteNameOffset = 0x00;
    private const int SubstituteNameLength = 0x02;
    private const int PrintNameOffset = 0x04;
    private const int PrintNameLength = 0x06;
    private const int MountPointPathBuffer = 0x08;
    private const int SymlinkPathBuffer = 0x0C;

    public const uint TagMountPoint = 0xA0000003;
    public const uint TagSymlink = 0xA000000C;

    // Tags of files whose content a filter driver supplies (winnt.h IO_REPARSE_TAG_*).
    public const uint TagHsm = 0xC0000004;
    public const uint TagHsm2 = 0x80000006;
    public const uint TagWim = 0x80000008;
    public const uint TagDedup = 0x80000013;
    public const uint TagWof = 0x80000017;

    // IO_REPARSE_TAG_CLOUD and its sixteen variants CLOUD_1..CLOUD_F differ in bits 12-15.
    public const uint TagCloud = 0x9000001A;
    public const uint CloudTagMask = 0xFFFF0FFF;

    public uint Tag { get; private set; }

    /// <summary>The target as Windows prints it (print name, or the substitute name without its \??\ prefix), when the tag has one.</summary>
    public string? Target { get; private set; }

    /// <summary>
    /// For a file compressed by WOF's file provider, its algorithm (0 XPRESS4K, 1 LZX, 2 XPRESS8K, 3 XPRESS16K); null
    /// otherwise. The data: WOF_EXTERNAL_INFO (version 1, provider 2 = a file), then FILE_PROVIDER_EXTERNAL_INFO_V1
    /// (version 1, algorithm).
    /// </summary>
    public uint? WofFileAlgorithm { get; private set; }

    public static ReparsePoint? TryReadFrom(ReadOnlySpan<byte> value)
    {
        if (value.Length < DataOffset)
        {
            return null;
        }
        var point = new ReparsePoint { Tag = BinaryPrimitives.ReadUInt32LittleEndian(value.Slice(TagOffset)) };
        int dataLength = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(value.Slice(DataLengthOffset)), value.Length - DataOffset);
        ReadOnlySpan<byte> data = value.Slice(DataOffset, dataLength);
        int buffer = point.Tag == TagMountPoint ? MountPointPathBuffer : point.Tag == TagSymlink ? SymlinkPathBuffer : -1;
        if (buffer > 0 && data.Length >= buffer)
        {
            string? print = Slice(data, buffer, PrintNameOffset, PrintNameLength);
            string? substitute = Slice(data, buffer, SubstituteNameOffset, SubstituteNameLength);
            if (string.IsNullOrEmpty(print) && substitute is not null && substitute.StartsWith(@"\??\", StringComparison.Ordinal))
            {
                print = substitute.Substring(4);
            }
            point.Target = string.IsNullOrEmpty(print) ? substitute : print;
        }
        if (point.Tag == TagWof && data.Length >= 16 && BinaryPrimitives.ReadUInt32LittleEndian(data) == 1
            && BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(4)) == 2 && BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(8)) == 1)
        {
            point.WofFileAlgorithm = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(12));
        }
        return point;
    }

    private static string? Slice(ReadOnlySpan<byte> data, int buffer, int offsetField, int lengthField)
    {
        int offset = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(offsetField));
        int length = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(lengthField));
        if ((length & 1) != 0 || buffer + offset + length > data.Length)
        {
            return null;
        }
        return AttributeRecord.DecodeName(data.Slice(buffer + offset, length));
    }
}
