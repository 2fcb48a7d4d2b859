using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;
using IscsiConvert.Registry;
using IscsiConvert.Storage;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>
/// The document `prepare --json` prints: the plan (with --dry-run) or what was written, in the stable form described
/// by docs/schemas/prepare-report.schema.json. Changes are typed and listed in the order they are written: folders,
/// files, then registry values. Registry data is carried both as exact bytes (lower-case hex) and rendered for people.
/// Bump <see cref="CurrentSchemaVersion"/> for any change that is not a new optional field.
/// </summary>
internal sealed record PrepareReport(
    int SchemaVersion,
    string Image,
    string? Output,
    string? OutputFormat,
    bool DryRun,
    bool Written,
    PrepareReport.InstallationInfo Installation,
    IReadOnlyList<string> Drivers,
    IReadOnlyList<object> Changes,
    IReadOnlyList<string> Warnings)
{
    public const int CurrentSchemaVersion = 1;

    public static PrepareReport From(IscsiBootPlan plan, string image, string? output, DiskFormat? outputFormat, bool written)
    {
        var changes = new List<object>();
        changes.AddRange(plan.Folders.Select(f => new FolderChange("folder", f)));
        changes.AddRange(plan.Files.Select(f => new FileChange("file", f.Destination, f.Size, f.Sha256, f.Source)));
        changes.AddRange(plan.Changes.Select(c => c.Operation switch
        {
            RegistryOperation.DeleteKey => new RegistryKeyDeletion("registryDeleteKey", c.Hive, c.Key),
            RegistryOperation.DeleteValue => new RegistryValueDeletion("registryDeleteValue", c.Hive, c.Key, c.ValueName,
                RegistryExport.TypeName(c.OldType ?? RegistryValueType.None), Hex(c.GetOldData() ?? Array.Empty<byte>()), c.OldValue),
            _ => (object)new RegistryValueChange(
                "registry", c.Hive, c.Key, c.ValueName, RegistryExport.TypeName(c.Type),
                c.OldType is { } t ? RegistryExport.TypeName(t) : null,
                c.GetOldData() is { } old ? Hex(old) : null, Hex(c.GetNewData()), c.OldValue, c.NewValue),
        }));
        return new PrepareReport(CurrentSchemaVersion, image, output, outputFormat?.ToString().ToLowerInvariant(), !written, written,
            new InstallationInfo(plan.PartitionIndex, plan.ControlSet, plan.Target?.ToString()), plan.Drivers, changes, plan.Warnings);
    }

    public string ToJson() => CliJson.Serialize(this, CliJson.ReportOptions);

    private static string Hex(byte[] data) => Convert.ToHexString(data).ToLowerInvariant();

    /// <summary>Where the Windows is: its partition (null for a bare volume), the control set edited, the Windows the INFs were matched for.</summary>
    internal sealed record InstallationInfo(int? Partition, string ControlSet, string? Target);

    /// <summary>A folder created on the Windows volume.</summary>
    internal sealed record FolderChange(string Kind, string Path);

    /// <summary>A file written onto the Windows volume: its path there, size, SHA-256 and the host file it comes from.</summary>
    internal sealed record FileChange(string Kind, string Path, long Size, string Sha256, string Source);

    /// <summary>A registry value set: hive, key below the hive root, value name ("" = default), type, old and new data.</summary>
    internal sealed record RegistryValueChange(string Kind, string Hive, string Key, string ValueName, string Type, string? OldType,
        string? OldData, string NewData, string? OldValue, string NewValue);

    /// <summary>A registry value deleted (<c>"name"=-</c> in a .reg file): what it held.</summary>
    internal sealed record RegistryValueDeletion(string Kind, string Hive, string Key, string ValueName, string OldType, string OldData, string? OldValue);

    /// <summary>A registry key deleted with everything below it (<c>[-KEY]</c> in a .reg file).</summary>
    internal sealed record RegistryKeyDeletion(string Kind, string Hive, string Key);
}
