using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// A restart page of $LogFile (the first two log pages): "RSTR" header, then the restart area whose flags and client
/// list say whether the log was left clean. Sources: libfsntfs "NTFS" documentation ($LogFile restart page header and
/// restart area) and the Linux NTFS driver's notes on the same layout.
/// </summary>
internal sealed class LogFileRestartPage
{
    // Restart page header.
    private const int SystemPageSizeOffset = 0x10;
    private const int LogPageSizeOffset = 0x14;
    private const int RestartAreaOffsetField = 0x18;
    private const int MinorVersionOffset = 0x1A;
    private const int MajorVersionOffset = 0x1C;

    // Restart area, relative to its start.
    private const int CurrentLsnOffset = 0x00;
    private const int ClientInUseListOffset = 0x0C;
    private const int FlagsOffset = 0x0E;
    private const int RestartAreaMinSize = 0x30;

    /// <summary>Restart area flag set when the volume was dismounted cleanly (NTFS 3.1 logs).</summary>
    public const ushort FlagVolumeIsClean = 0x0002;

    /// <summary>client_in_use_list value meaning no log client is active.</summary>
    public const ushort NoClient = 0xFFFF;

    public static readonly byte[] RestartSignature = { (byte)'R', (byte)'S', (byte)'T', (byte)'R' };
    public static readonly byte[] CheckDiskSignature = { (byte)'C', (byte)'H', (byte)'K', (byte)'D' };

    public int SystemPageSize { get; private set; }

    public int LogPageSize { get; private set; }

    public int MajorVersion { get; private set; }

    public int MinorVersion { get; private set; }

    public ulong CurrentLsn { get; private set; }

    public ushort ClientInUseList { get; private set; }

    public ushort Flags { get; private set; }

    /// <summary>Clean: no client has the log open, or the clean-dismount flag is set.</summary>
    public bool IsClean => ClientInUseList == NoClient || (Flags & FlagVolumeIsClean) != 0;

    /// <summary>Parses a restart page whose signature is "RSTR"; applies its fixups to <paramref name="page"/> (a
    /// copy of the first system page) in place.</summary>
    public static LogFileRestartPage ReadFrom(Span<byte> page, long volumeOffset, string? filePath)
    {
        const string Structure = "$LogFile restart page";
        int systemPageSize = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(page.Slice(SystemPageSizeOffset)));
        int logPageSize = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(page.Slice(LogPageSizeOffset)));
        if (systemPageSize < 512 || systemPageSize > 65536 || (systemPageSize & (systemPageSize - 1)) != 0 || systemPageSize > page.Length)
        {
            throw new CorruptDataException("NTFS", Structure, volumeOffset + SystemPageSizeOffset, $"system page size {systemPageSize} is not a power of two from 512 to 65536 (or exceeds the {page.Length} bytes read)", filePath);
        }
        if (logPageSize < 512 || logPageSize > 65536 || (logPageSize & (logPageSize - 1)) != 0)
        {
            throw new CorruptDataException("NTFS", Structure, volumeOffset + LogPageSizeOffset, $"log page size {logPageSize} is not a power of two from 512 to 65536", filePath);
        }
        Span<byte> restart = page.Slice(0, systemPageSize);
        UpdateSequence.Apply(restart, Structure, volumeOffset, filePath);
        int area = BinaryPrimitives.ReadUInt16LittleEndian(restart.Slice(RestartAreaOffsetField));
        if (area < 0x1E || (area & 7) != 0 || area > restart.Length - RestartAreaMinSize)
        {
            throw new CorruptDataException("NTFS", Structure, volumeOffset + RestartAreaOffsetField, $"restart area offset {area} is outside the page", filePath);
        }
        return new LogFileRestartPage
        {
            SystemPageSize = systemPageSize,
            LogPageSize = logPageSize,
            MinorVersion = BinaryPrimitives.ReadInt16LittleEndian(restart.Slice(MinorVersionOffset)),
            MajorVersion = BinaryPrimitives.ReadInt16LittleEndian(restart.Slice(MajorVersionOffset)),
            CurrentLsn = BinaryPrimitives.ReadUInt64LittleEndian(restart.Slice(area + CurrentLsnOffset)),
            ClientInUseList = BinaryPrimitives.ReadUInt16LittleEndian(restart.Slice(area + ClientInUseListOffset)),
            Flags = BinaryPrimitives.ReadUInt16LittleEndian(restart.Slice(area + FlagsOffset)),
        };
    }
}
