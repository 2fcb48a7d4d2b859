using System;

namespace IscsiConvert.Storage.Partitions;

/// <summary>Well-known GPT partition type GUIDs (UEFI specification and the operating systems that define them).</summary>
public static class GptPartitionTypes
{
    /// <summary>EFI system partition.</summary>
    public static readonly Guid EfiSystem = new("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");

    /// <summary>Microsoft reserved partition (MSR).</summary>
    public static readonly Guid MicrosoftReserved = new("E3C9E316-0B5C-4DB8-817D-F92DF00215AE");

    /// <summary>Microsoft basic data partition.</summary>
    public static readonly Guid BasicData = new("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7");

    /// <summary>Windows recovery environment.</summary>
    public static readonly Guid WindowsRecovery = new("DE94BBA4-06D1-4D40-A16A-BFD50179D6AC");

    /// <summary>Linux file system data.</summary>
    public static readonly Guid LinuxFilesystem = new("0FC63DAF-8483-4772-8E79-3D69D8477DE4");

    /// <summary>Linux swap.</summary>
    public static readonly Guid LinuxSwap = new("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F");

    /// <summary>BIOS boot partition (GRUB on GPT).</summary>
    public static readonly Guid BiosBoot = new("21686148-6449-6E6F-744E-656564454649");
}
