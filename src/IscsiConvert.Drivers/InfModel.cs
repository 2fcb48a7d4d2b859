using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>One device a models section can install: its description, install section and IDs.</summary>
public sealed class InfModel
{
    internal InfModel(string manufacturer, string modelsSection, string description, string installSection, string hardwareId, IReadOnlyList<string> compatibleIds, int lineNumber,
        string rawManufacturer, string rawDescription)
    {
        RawManufacturer = rawManufacturer;
        RawDescription = rawDescription;
        Manufacturer = manufacturer;
        ModelsSection = modelsSection;
        Description = description;
        InstallSection = installSection;
        HardwareId = hardwareId;
        CompatibleIds = compatibleIds;
        LineNumber = lineNumber;
    }

    /// <summary>The manufacturer name from [Manufacturer].</summary>
    public string Manufacturer { get; }

    /// <summary>The (decorated) models section this line is in.</summary>
    public string ModelsSection { get; }

    /// <summary>The manufacturer name as [Manufacturer] writes it, before string substitution (<c>%Vendor%</c>).</summary>
    public string RawManufacturer { get; }

    /// <summary>The device description as the models line writes it, before string substitution (<c>%Desc%</c>).</summary>
    public string RawDescription { get; }

    /// <summary>The device description.</summary>
    public string Description { get; }

    /// <summary>The undecorated install (DDInstall) section name.</summary>
    public string InstallSection { get; }

    /// <summary>The hardware ID.</summary>
    public string HardwareId { get; }

    /// <summary>Compatible IDs listed after the hardware ID.</summary>
    public IReadOnlyList<string> CompatibleIds { get; }

    /// <summary>The line in the INF.</summary>
    public int LineNumber { get; }
}

/// <summary>A [Manufacturer] entry with the models section chosen for a target.</summary>
public sealed class InfManufacturer
{
    internal InfManufacturer(string name, string modelsSection, IReadOnlyList<string> decorations, string? chosenSection, IReadOnlyList<InfModel> models)
    {
        Name = name;
        ModelsSection = modelsSection;
        Decorations = decorations;
        ChosenSection = chosenSection;
        Models = models;
    }

    /// <summary>The manufacturer name.</summary>
    public string Name { get; }

    /// <summary>The undecorated models section name.</summary>
    public string ModelsSection { get; }

    /// <summary>The TargetOSVersion decorations listed, as written.</summary>
    public IReadOnlyList<string> Decorations { get; }

    /// <summary>The models section used on the target, or null when none applies.</summary>
    public string? ChosenSection { get; }

    /// <summary>The models of the chosen section.</summary>
    public IReadOnlyList<InfModel> Models { get; }
}
