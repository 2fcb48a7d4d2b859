namespace IscsiConvert.Storage.Partitions;

/// <summary>What a partition is for, derived from its MBR type byte or GPT type GUID.</summary>
public enum PartitionKind
{
    /// <summary>A type this library does not name.</summary>
    Unknown = 0,

    /// <summary>An unused entry (type 0 or the zero GUID).</summary>
    Empty,

    /// <summary>The EFI system partition (GPT C12A7328-…, MBR 0xEF).</summary>
    EfiSystem,

    /// <summary>The Microsoft reserved partition (MSR, GPT only).</summary>
    MicrosoftReserved,

    /// <summary>A Windows basic data partition (GPT EBD0A0A2-…): NTFS, FAT or exFAT.</summary>
    BasicData,

    /// <summary>The Windows recovery environment (GPT DE94BBA4-…, MBR 0x27).</summary>
    WindowsRecovery,

    /// <summary>MBR type 0x07: NTFS, exFAT or another installable file system.</summary>
    Ntfs,

    /// <summary>An MBR FAT12/FAT16/FAT32 type (0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E and their hidden variants).</summary>
    Fat,

    /// <summary>An extended partition (MBR 0x05, 0x0F, 0x85) holding logical partitions.</summary>
    Extended,

    /// <summary>A Linux file system (GPT 0FC63DAF-…, MBR 0x83).</summary>
    LinuxFilesystem,

    /// <summary>Linux swap (GPT 0657FD6D-…, MBR 0x82).</summary>
    LinuxSwap,

    /// <summary>Linux LVM physical volume (GPT E6D6D379-…, MBR 0x8E).</summary>
    LinuxLvm,

    /// <summary>Linux software RAID (GPT A19D880F-…, MBR 0xFD).</summary>
    LinuxRaid,

    /// <summary>BIOS boot partition for GRUB on GPT (21686148-…).</summary>
    BiosBoot,

    /// <summary>Windows dynamic disk (LDM) metadata or data (GPT 5808C8AA-… / AF9B60A0-…, MBR 0x42).</summary>
    WindowsLdm,

    /// <summary>The MBR entry (0xEE) that protects a GPT disk from tools that only know MBR.</summary>
    GptProtective,
}
