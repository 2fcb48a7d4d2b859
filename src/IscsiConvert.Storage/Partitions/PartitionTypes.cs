using System;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Partitions;

/// <summary>Maps MBR type bytes and GPT type GUIDs to a <see cref="PartitionKind"/> and a name a person recognises.</summary>
internal static class PartitionTypes
{
    private static readonly Dictionary<Guid, (PartitionKind Kind, string Name)> Gpt = new()
    {
        [GptPartitionTypes.EfiSystem] = (PartitionKind.EfiSystem, "EFI system"),
        [GptPartitionTypes.MicrosoftReserved] = (PartitionKind.MicrosoftReserved, "Microsoft reserved"),
        [GptPartitionTypes.BasicData] = (PartitionKind.BasicData, "Microsoft basic data"),
        [GptPartitionTypes.WindowsRecovery] = (PartitionKind.WindowsRecovery, "Windows recovery environment"),
        [new Guid("5808C8AA-7E8F-42E0-85D2-E1E90434CFB3")] = (PartitionKind.WindowsLdm, "Windows LDM metadata"),
        [new Guid("AF9B60A0-1431-4F62-BC68-3311714A69AD")] = (PartitionKind.WindowsLdm, "Windows LDM data"),
        [new Guid("E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D")] = (PartitionKind.Unknown, "Windows Storage Spaces"),
        [GptPartitionTypes.LinuxFilesystem] = (PartitionKind.LinuxFilesystem, "Linux filesystem"),
        [new Guid("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709")] = (PartitionKind.LinuxFilesystem, "Linux root (x86-64)"),
        [new Guid("933AC7E1-2EB4-4F13-B844-0E14E2AEF915")] = (PartitionKind.LinuxFilesystem, "Linux home"),
        [GptPartitionTypes.LinuxSwap] = (PartitionKind.LinuxSwap, "Linux swap"),
        [new Guid("E6D6D379-F507-44C2-A23C-238F2A3DF928")] = (PartitionKind.LinuxLvm, "Linux LVM"),
        [new Guid("A19D880F-05FC-4D3B-A006-743F0F84911E")] = (PartitionKind.LinuxRaid, "Linux RAID"),
        [GptPartitionTypes.BiosBoot] = (PartitionKind.BiosBoot, "BIOS boot"),
    };

    public static (PartitionKind Kind, string Name) Describe(Guid type)
    {
        if (type == Guid.Empty)
        {
            return (PartitionKind.Empty, "Empty");
        }
        return Gpt.TryGetValue(type, out var known) ? known : (PartitionKind.Unknown, "Unknown");
    }

    public static (PartitionKind Kind, string Name) Describe(byte type) => type switch
    {
        0x00 => (PartitionKind.Empty, "Empty"),
        0x01 => (PartitionKind.Fat, "FAT12"),
        0x04 => (PartitionKind.Fat, "FAT16 <32M"),
        0x05 => (PartitionKind.Extended, "Extended"),
        0x06 => (PartitionKind.Fat, "FAT16"),
        0x07 => (PartitionKind.Ntfs, "NTFS/exFAT/IFS"),
        0x0B => (PartitionKind.Fat, "FAT32"),
        0x0C => (PartitionKind.Fat, "FAT32 (LBA)"),
        0x0E => (PartitionKind.Fat, "FAT16 (LBA)"),
        0x0F => (PartitionKind.Extended, "Extended (LBA)"),
        0x11 or 0x14 or 0x16 or 0x1B or 0x1C or 0x1E => (PartitionKind.Fat, "Hidden FAT"),
        0x17 => (PartitionKind.Ntfs, "Hidden NTFS/exFAT/IFS"),
        0x27 => (PartitionKind.WindowsRecovery, "Windows recovery environment"),
        0x42 => (PartitionKind.WindowsLdm, "Windows dynamic disk (LDM)"),
        0x82 => (PartitionKind.LinuxSwap, "Linux swap"),
        0x83 => (PartitionKind.LinuxFilesystem, "Linux"),
        0x85 => (PartitionKind.Extended, "Linux extended"),
        0x8E => (PartitionKind.LinuxLvm, "Linux LVM"),
        0xA5 => (PartitionKind.Unknown, "FreeBSD"),
        0xA6 => (PartitionKind.Unknown, "OpenBSD"),
        0xAF => (PartitionKind.Unknown, "HFS/HFS+"),
        0xEE => (PartitionKind.GptProtective, "GPT protective"),
        0xEF => (PartitionKind.EfiSystem, "EFI system (FAT)"),
        0xFD => (PartitionKind.LinuxRaid, "Linux RAID autodetect"),
        _ => (PartitionKind.Unknown, "Unknown"),
    };

    public static bool IsExtended(byte type) => type is 0x05 or 0x0F or 0x85;

    /// <summary>The MBR type byte to write for a kind when the caller names none.</summary>
    public static byte MbrTypeFor(PartitionKind kind) => kind switch
    {
        PartitionKind.EfiSystem => 0xEF,
        PartitionKind.BasicData or PartitionKind.Ntfs => 0x07,
        PartitionKind.Fat => 0x0C,
        PartitionKind.WindowsRecovery => 0x27,
        PartitionKind.LinuxFilesystem => 0x83,
        PartitionKind.LinuxSwap => 0x82,
        PartitionKind.LinuxLvm => 0x8E,
        PartitionKind.LinuxRaid => 0xFD,
        PartitionKind.WindowsLdm => 0x42,
        _ => throw new ArgumentException($"There is no MBR type for partition kind {kind}; give an explicit MbrType."),
    };

    /// <summary>The GPT type GUID to write for a kind when the caller names none.</summary>
    public static Guid GptTypeFor(PartitionKind kind) => kind switch
    {
        PartitionKind.EfiSystem => GptPartitionTypes.EfiSystem,
        PartitionKind.MicrosoftReserved => GptPartitionTypes.MicrosoftReserved,
        PartitionKind.BasicData or PartitionKind.Ntfs or PartitionKind.Fat => GptPartitionTypes.BasicData,
        PartitionKind.WindowsRecovery => GptPartitionTypes.WindowsRecovery,
        PartitionKind.LinuxFilesystem => GptPartitionTypes.LinuxFilesystem,
        PartitionKind.LinuxSwap => GptPartitionTypes.LinuxSwap,
        PartitionKind.BiosBoot => GptPartitionTypes.BiosBoot,
        _ => throw new ArgumentException($"There is no GPT type for partition kind {kind}; give an explicit TypeGuid."),
    };
}
