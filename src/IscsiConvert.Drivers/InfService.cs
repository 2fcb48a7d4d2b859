using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>An AddService directive with its service-install section.</summary>
public sealed class InfService
{
    /// <summary>SPSVCINST_ASSOCSERVICE: this service is the device's function driver.</summary>
    public const int AssociateServiceFlag = 0x00000002;

    internal InfService(string name, int flags, string installSection, int lineNumber)
    {
        Name = name;
        Flags = flags;
        InstallSection = installSection;
        LineNumber = lineNumber;
    }

    /// <summary>The service (key) name.</summary>
    public string Name { get; }

    /// <summary>The SPSVCINST_* flags.</summary>
    public int Flags { get; }

    /// <summary>Whether SPSVCINST_ASSOCSERVICE (0x2) is set.</summary>
    public bool IsFunctionDriver => (Flags & AssociateServiceFlag) != 0;

    /// <summary>The service-install section.</summary>
    public string InstallSection { get; }

    /// <summary>The line of the AddService directive.</summary>
    public int LineNumber { get; }

    /// <summary>The event-log install section, or null.</summary>
    public string? EventLogSection { get; internal set; }

    /// <summary>DisplayName.</summary>
    public string? DisplayName { get; internal set; }

    /// <summary>Description.</summary>
    public string? Description { get; internal set; }

    /// <summary>ServiceType (1 kernel driver, 2 file system driver, 0x10 own process …), or null when missing or not a number.</summary>
    public int? ServiceType { get; internal set; }

    /// <summary>StartType (0 boot, 1 system, 2 auto, 3 demand, 4 disabled), or null.</summary>
    public int? StartType { get; internal set; }

    /// <summary>ErrorControl (0 ignore, 1 normal, 2 severe, 3 critical), or null.</summary>
    public int? ErrorControl { get; internal set; }

    /// <summary>ServiceBinary as written (after string substitution), such as %12%\viostor.sys.</summary>
    public string? ServiceBinary { get; internal set; }

    /// <summary>ServiceBinary with its dirid resolved to a path on the Windows volume (\Windows\System32\drivers\viostor.sys), or null when it cannot be.</summary>
    public string? ServiceBinaryPath { get; internal set; }

    /// <summary>LoadOrderGroup.</summary>
    public string? LoadOrderGroup { get; internal set; }

    /// <summary>Dependencies (services, or groups prefixed with '+').</summary>
    public IReadOnlyList<string> Dependencies { get; internal set; } = new List<string>();

    /// <summary>StartName (the account), or null.</summary>
    public string? StartName { get; internal set; }

    /// <summary>The registry entries of the service's AddReg/DelReg sections (HKR = the service key).</summary>
    public IReadOnlyList<InfRegistryEntry> Registry { get; internal set; } = new List<InfRegistryEntry>();

    /// <summary>The registry entries of the event-log install section (HKR = the event-log source key).</summary>
    public IReadOnlyList<InfRegistryEntry> EventLogRegistry { get; internal set; } = new List<InfRegistryEntry>();
}
