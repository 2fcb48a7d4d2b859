using System;
using System.Collections.Generic;

namespace IscsiConvert.Windows;

/// <summary>
/// A network or storage driver the image has: an INF of class Net, SCSIAdapter or HDC in \Windows\INF or the driver
/// store, or a DriverDatabase package of such a class. One entry per INF name, with every place it was seen.
/// </summary>
public sealed class InstalledDriver
{
    private readonly List<string> _sources = new();
    private readonly List<string> _services = new();

    internal InstalledDriver(string infName, string className)
    {
        InfName = infName;
        ClassName = className;
    }

    /// <summary>The INF file name (inbox name, oemNN.inf, or the original name a DriverDatabase package records).</summary>
    public string InfName { get; }

    /// <summary>Net, SCSIAdapter or HDC.</summary>
    public string ClassName { get; }

    /// <summary>True for the Net class.</summary>
    public bool IsNetwork => DeviceSetupClasses.IsNetworkClass(ClassName);

    /// <summary>Provider, from the first place that names one.</summary>
    public string? Provider { get; internal set; }

    /// <summary>DriverVer date, from the first place that has one.</summary>
    public DateTime? DriverDate { get; internal set; }

    /// <summary>DriverVer version, from the first place that has one.</summary>
    public Version? DriverVersion { get; internal set; }

    /// <summary>Where it was seen: volume paths of INFs, and "DriverDatabase (SYSTEM): package" / "DriverDatabase (DRIVERS): package".</summary>
    public IReadOnlyList<string> Sources => _sources;

    /// <summary>The services the INF installs (AddService names) or the package's configurations name.</summary>
    public IReadOnlyList<string> Services => _services;

    internal void AddSource(string source) => _sources.Add(source);

    internal void AddService(string service)
    {
        if (!_services.Exists(s => string.Equals(s, service, StringComparison.OrdinalIgnoreCase)))
        {
            _services.Add(service);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{InfName} ({ClassName}, {Provider}) services {string.Join(", ", Services)}";
}
