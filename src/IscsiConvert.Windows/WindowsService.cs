namespace IscsiConvert.Windows;

/// <summary>A service or driver from <c>SYSTEM\ControlSetNNN\Services</c>; absent values are null.</summary>
public sealed class WindowsService
{
    /// <summary>Creates a service description.</summary>
    public WindowsService(string name, uint? type, uint? start, string? group, string? imagePath, uint? bootFlags)
    {
        Name = name;
        Type = type;
        Start = start;
        Group = group;
        ImagePath = imagePath;
        BootFlags = bootFlags;
    }

    /// <summary>The service key name.</summary>
    public string Name { get; }

    /// <summary>Type (1 kernel driver, 2 file-system driver, 0x10/0x20 Win32 services).</summary>
    public uint? Type { get; }

    /// <summary>Start (0 boot, 1 system, 2 automatic, 3 on demand, 4 disabled).</summary>
    public uint? Start { get; }

    /// <summary>The load order group.</summary>
    public string? Group { get; }

    /// <summary>The image path as stored (unexpanded).</summary>
    public string? ImagePath { get; }

    /// <summary>BootFlags (1: needed for network boot, 2: iSCSI boot…), when the key has them.</summary>
    public uint? BootFlags { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} type={Type} start={Start} group={Group} image={ImagePath}";
}
