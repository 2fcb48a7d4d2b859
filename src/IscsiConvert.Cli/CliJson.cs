using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace IscsiConvert.Cli;

/// <summary>
/// The JSON documents the commands print, with serialization metadata generated at build time (no reflection, so the
/// tool runs published as Native AOT and trimmed). Every command serializes with one of the two option sets of
/// <see cref="CliJson"/>, which use this context as their type resolver.
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
    /// Indented, camelCase, every field present (null when it does not apply: documents with a schema, such as the
    /// prepare report, errors and the reports of the commands that write), and paths, keys and hardware IDs with their
    /// <c>\</c>, <c>&amp;</c> and <c>+</c> left readable rather than escaped.
    /// </summary>
    public static readonly JsonSerializerOptions ReportOptions = new()
    {
        WriteIndented = true,
        TypeInfoResolver = CliJsonContext.Default, // source-generated metadata: no reflection (Native AOT)
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>As <see cref="ReportOptions"/>, but fields that do not apply (null) are left out: listings and
    /// inspections whose rows differ in what they carry.</summary>
    public static readonly JsonSerializerOptions OmitNullsOptions = new(ReportOptions)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize<T>(T value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(value, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
}

/// <summary>What a failing command prints on standard output with --json.</summary>
internal sealed record ErrorDocument(ErrorBody Error);

/// <summary>The failure: exit code, kind, message and what to do next.</summary>
internal sealed record ErrorBody(int ExitCode, string Kind, string Message, string? Hint);
