namespace IscsiConvert.Windows;

/// <summary>An entry of <c>Control\CriticalDeviceDatabase</c>: a device ID bound to a class and a service before Plug and Play runs.</summary>
public sealed class CriticalDeviceEntry
{
    /// <summary>Creates an entry.</summary>
    public CriticalDeviceEntry(string id, string? classGuid, string? service)
    {
        Id = id;
        ClassGuid = classGuid;
        Service = service;
    }

    /// <summary>The key name: the device ID with '#' for '\' (e.g. pci#ven_8086&amp;dev_100e).</summary>
    public string Id { get; }

    /// <summary>ClassGUID, when present.</summary>
    public string? ClassGuid { get; }

    /// <summary>Service, when present.</summary>
    public string? Service { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Id} class={ClassGuid} service={Service}";
}
