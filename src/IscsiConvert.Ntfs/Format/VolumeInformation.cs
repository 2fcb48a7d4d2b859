using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>$VOLUME_INFORMATION of $Volume (MFT record 3): NTFS version and volume flags.</summary>
internal sealed class VolumeInformation
{
    public const int MajorVersionOffset = 0x08;
    public const int MinorVersionOffset = 0x09;
    public const int FlagsOffset = 0x0A;
    private const int MinSize = 0x0C;

    /// <summary>The volume is dirty: chkdsk must run before it is trusted.</summary>
    public const ushort FlagDirty = 0x0001;

    public byte MajorVersion { get; private set; }

    public byte MinorVersion { get; private set; }

    public ushort Flags { get; private set; }

    public static VolumeInformation? TryReadFrom(ReadOnlySpan<byte> value) => value.Length < MinSize ? null : new VolumeInformation
    {
        MajorVersion = value[MajorVersionOffset],
        MinorVersion = value[MinorVersionOffset],
        Flags = BinaryPrimitives.ReadUInt16LittleEndian(value.Slice(FlagsOffset)),
    };

    /// <summary>Encodes a 12-byte $VOLUME_INFORMATION (8 reserved bytes, version, flags).</summary>
    public static byte[] Encode(byte majorVersion, byte minorVersion, ushort flags)
    {
        byte[] value = new byte[MinSize];
        value[MajorVersionOffset] = majorVersion;
        value[MinorVersionOffset] = minorVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(FlagsOffset), flags);
        return value;
    }
}
