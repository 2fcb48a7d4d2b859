using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace IscsiConvert.Cli;

/// <summary>
/// The JSON documents the commands print, with serialization metadata generated at build time (no reflection, so the
/// tool runs published as Native AOT and trimmed). Each command keeps its own <see cref="JsonSerializerOptions"/>
/// (naming, escaping, nulls) with this context as its type resolver.
/// </summary>
[JsonSerializable(typeof(ErrorDocument))]
[JsonSerializable(typeof(DiskInfoReport))]
[JsonSerializable(typeof(DiskConvertReport))]
[JsonSerializable(typeof(List<FsCommands.EntryReport>))]
[JsonSerializable(typeof(InfReport))]
[JsonSerializable(typeof(InspectCommand.InspectDocument))]
[JsonSerializable(typeof(MatchOutput))]
[JsonSerializable(typeof(PrepareReport))]
[JsonSerializable(typeof(RegFileEditReport))]
[JsonSerializable(typeof(RegCheckReport))]
[JsonSerializable(typeof(FsCheckReport))]
[JsonSerializable(typeof(FsEditReport))]
[JsonSerializable(typeof(DiskCreateReport))]
[JsonSerializable(typeof(DiskFormatReport))]
[JsonSerializable(typeof(DiskRecoverReport))]
// PrepareReport.Changes holds these as object: their metadata is looked up by the runtime type.
[JsonSerializable(typeof(PrepareReport.FolderChange))]
[JsonSerializable(typeof(PrepareReport.FileChange))]
[JsonSerializable(typeof(PrepareReport.RegistryValueChange))]
[JsonSerializable(typeof(PrepareReport.RegistryValueDeletion))]
[JsonSerializable(typeof(PrepareReport.RegistryKeyDeletion))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
}

/// <summary>Serializes through the metadata of the options' resolver (<see cref="CliJsonContext"/>).</summary>
internal static class CliJson
{
    /// <summary>
    /// The options of the reports of the commands that write (fs put|mkdir|rm, disk create|format|recover): indented,
    /// camelCase, every field present (null when it does not apply), paths with their backslashes unescaped.
    /// </summary>
    public static readonly JsonSerializerOptions ReportOptions = new()
    {
        WriteIndented = true,
        TypeInfoResolver = CliJsonContext.Default,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize<T>(T value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(value, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
}

/// <summary>What a failing command prints on standard output with --json.</summary>
internal sealed record ErrorDocument(ErrorBody Error);

/// <summary>The failure: exit code, kind, message and what to do next.</summary>
internal sealed record ErrorBody(int ExitCode, string Kind, string Message, string? Hint);
