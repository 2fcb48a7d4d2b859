using System;
using System.Collections.Generic;

namespace IscsiConvert.Windows;

/// <summary>A package of the DriverDatabase (<c>DriverDatabase\DriverPackages\&lt;name&gt;</c>): an INF staged in the driver store.</summary>
public sealed class DriverDatabasePackage
{
    internal DriverDatabasePackage(string name, string? infName, string? provider, Guid? classGuid, string? className, DateTime? driverDate, Version? driverVersion, IReadOnlyList<string> services)
    {
        Name = name;
        InfName = infName;
        Provider = provider;
        ClassGuid = classGuid;
        ClassName = className;
        DriverDate = driverDate;
        DriverVersion = driverVersion;
        Services = services;
    }

    /// <summary>The key name, which is also the driver-store folder: "lsi_sas.inf_amd64_74bb5e3e01cfd526".</summary>
    public string Name { get; }

    /// <summary>The INF's original file name (the key's default value), e.g. "lsi_sas.inf".</summary>
    public string? InfName { get; }

    /// <summary>Provider.</summary>
    public string? Provider { get; }

    /// <summary>The device setup class GUID, from the Version value.</summary>
    public Guid? ClassGuid { get; }

    /// <summary>The class name: from the image's Control\Class when it names the GUID, else Net/SCSIAdapter/HDC; null when unknown.</summary>
    public string? ClassName { get; }

    /// <summary>The DriverVer date, from the Version value.</summary>
    public DateTime? DriverDate { get; }

    /// <summary>The DriverVer version, from the Version value.</summary>
    public Version? DriverVersion { get; }

    /// <summary>The Service values of the package's Configurations (the function drivers it installs).</summary>
    public IReadOnlyList<string> Services { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({InfName}, {ClassName ?? ClassGuid?.ToString("B")}, {Provider}, {DriverDate:yyyy-MM-dd} {DriverVersion})";
}
