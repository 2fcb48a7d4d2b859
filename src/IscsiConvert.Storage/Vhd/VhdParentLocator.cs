using System;
using System.Buffers.Binary;

namespace IscsiConvert.Storage.Vhd;

/// <summary>
/// One of the eight 24-byte parent locator entries of the dynamic header: where in the file a path to the parent is
/// stored and in which form ("W2ku" absolute and "W2ru" relative Windows paths, UTF-16LE).
/// </summary>
internal readonly struct VhdParentLocator
{
    public const int Size = 24;

    private const int PlatformCodeOffset = 0;
    private const int DataSpaceOffset = 4;
    private const int DataLengthOffset = 8;
    private const int DataOffsetOffset = 16;

    /// <summary>Absolute Windows path, UTF-16LE.</summary>
    public static readonly uint W2ku = VhdFields.FourCC("W2ku");

    /// <summary>Windows path relative to the differencing disk, UTF-16LE.</summary>
    public static readonly uint W2ru = VhdFields.FourCC("W2ru");

    public VhdParentLocator(uint platformCode, uint dataSpace, uint dataLength, ulong dataOffset)
    {
        PlatformCode = platformCode;
        DataSpace = dataSpace;
        DataLength = dataLength;
        DataOffset = dataOffset;
    }

    /// <summary>The kind of path, or 0 for an unused entry.</summary>
    public uint PlatformCode { get; }

    /// <summary>
    /// Room reserved for the path. The spec says sectors, but Windows writes bytes (diskpart: 0x1000 for a 84-byte
    /// path), so readers must not rely on it: only <see cref="DataLength"/> is used to read.
    /// </summary>
    public uint DataSpace { get; }

    /// <summary>Bytes of path data.</summary>
    public uint DataLength { get; }

    /// <summary>File offset of the path data.</summary>
    public ulong DataOffset { get; }

    public bool IsUsed => PlatformCode != 0;

    public static VhdParentLocator ReadFrom(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32BigEndian(source.Slice(PlatformCodeOffset)),
        BinaryPrimitives.ReadUInt32BigEndian(source.Slice(DataSpaceOffset)),
        BinaryPrimitives.ReadUInt32BigEndian(source.Slice(DataLengthOffset)),
        BinaryPrimitives.ReadUInt64BigEndian(source.Slice(DataOffsetOffset)));

    public void WriteTo(Span<byte> destination)
    {
        destination.Slice(0, Size).Clear();
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(PlatformCodeOffset), PlatformCode);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(DataSpaceOffset), DataSpace);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(DataLengthOffset), DataLength);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(DataOffsetOffset), DataOffset);
    }
}
