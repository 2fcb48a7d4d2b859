using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `prepare --json` against the documented schema (docs/schemas/prepare-report.schema.json, read from the repository,
/// not restated here): the real output of a dry run and of a real run on the Windows 7 and the Windows 10 image with a
/// supplied package (folders, files and registry values: the CDDB on 7, the DriverDatabase on 10) validates, and its changes are exactly the text report's lines, in order.
/// The expected values come from the text report, the package files on the host (size, SHA-256) and hivexget.
/// </summary>
public sealed class PrepareJsonTests : IClassFixture<MatchImages>
{
    private const string Nic = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";
    private readonly MatchImages _images;

    public PrepareJsonTests(MatchImages images)
    {
        _images = images;
    }

    private static JsonElement Schema()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "schemas", "prepare-report.schema.json")));
        return doc.RootElement.Clone();
    }

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void Json_of_a_dry_run_and_of_a_real_run_validates_against_the_schema_and_lists_the_text_reports_changes(string family)
    {
        string image = _images.Tmp.File("json-" + family + ".raw");
        File.Copy(family == "win7" ? _images.Win7 : _images.Win10, image);
        string package = PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, "json-netkvm-pkg-" + family, family == "win7" ? "x86" : "amd64");
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));

        var (code, text, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--driver", package, "--dry-run");
        Assert.True(code == 0, stderr);
        (code, string json, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--driver", package, "--dry-run", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
        JsonElement dry = Validated(json);
        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.False(dry.GetProperty("written").GetBoolean());
        Assert.Equal("ControlSet001", dry.GetProperty("installation").GetProperty("controlSet").GetString());
        Assert.Equal(WithoutImportDate(TextChanges(text, "would ")), WithoutImportDate(JsonChangesAsText(dry)));
        // Only the DriverDatabase of Windows 8 and later records when a package was imported.
        Assert.Equal(family == "win10" ? 1 : 0, JsonChangesAsText(dry).Count(l => l.Contains(@"\ImportDate = REG_BINARY", StringComparison.Ordinal)));
        var kinds = dry.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("kind").GetString()).Distinct().ToList();
        Assert.Equal(new[] { "folder", "file", "registry" }, kinds);

        // Files: size and SHA-256 of the host file named as the source.
        foreach (JsonElement f in dry.GetProperty("changes").EnumerateArray().Where(c => c.GetProperty("kind").GetString() == "file"))
        {
            byte[] bytes = File.ReadAllBytes(f.GetProperty("source").GetString()!);
            Assert.Equal(bytes.Length, f.GetProperty("size").GetInt64());
            Assert.Equal(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), f.GetProperty("sha256").GetString());
        }

        (code, json, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--driver", package, "--json");
        Assert.True(code == 0, stderr);
        JsonElement done = Validated(json);
        Assert.True(done.GetProperty("written").GetBoolean());
        Assert.Equal(WithoutImportDate(JsonChangesAsText(dry)), WithoutImportDate(JsonChangesAsText(done)));
        // What the JSON says was written is what hivexget reads: the Start value's new data, byte for byte.
        JsonElement start = done.GetProperty("changes").EnumerateArray().Single(c =>
            c.GetProperty("kind").GetString() == "registry" && c.GetProperty("key").GetString() == @"ControlSet001\Services\netkvm" && c.GetProperty("valueName").GetString() == "Start");
        Assert.Equal("REG_DWORD", start.GetProperty("type").GetString());
        Assert.Equal("00000000", start.GetProperty("newData").GetString());
        string hive = _images.Tmp.File("json-" + family + "-SYSTEM");
        Oracle.Require("ntfscat");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{image}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal("0", Oracle.RunChecked("hivexget", hive, @"ControlSet001\Services\netkvm", "Start").Trim());

        (code, json, stderr) = CliRunner.Run("prepare", image, "--nic", Nic, "--driver", package, "--json");
        Assert.True(code == 0, stderr);
        Assert.Empty(Validated(json).GetProperty("changes").EnumerateArray());
    }

    [Fact]
    public void The_example_in_the_docs_validates_against_the_schema()
    {
        // The first ```json block after the "### `prepare --json`" heading of docs/windows.md: what readers copy from.
        string doc = File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "windows.md"));
        int section = doc.IndexOf("### `prepare --json`", StringComparison.Ordinal);
        Assert.True(section >= 0, "docs/windows.md has no prepare --json section");
        int start = doc.IndexOf("```json", section, StringComparison.Ordinal) + "```json".Length;
        int end = doc.IndexOf("```", start, StringComparison.Ordinal);
        JsonElement example = Validated(doc.Substring(start, end - start));
        Assert.Equal(1, example.GetProperty("schemaVersion").GetInt32());
        Assert.NotEmpty(example.GetProperty("changes").EnumerateArray());
    }

    internal static JsonElement Validated(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        var errors = new List<string>();
        SchemaCheck.Validate(Schema(), doc.RootElement, "$", errors);
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors) + Environment.NewLine + json);
        return doc.RootElement.Clone();
    }

    // A staged package's ImportDate is the clock at each run: two runs a moment apart differ there and nowhere else.
    private static List<string> WithoutImportDate(List<string> lines) =>
        lines.Select(l => l.Contains(@"\ImportDate = REG_BINARY", StringComparison.Ordinal) ? l.Substring(0, l.IndexOf(" = ", StringComparison.Ordinal)) : l).ToList();

    // The text report's change lines ("  would mkdir X", "  copy    Y", "  set     Z"), prefix word removed.
    private static List<string> TextChanges(string text, string would) =>
        text.Split('\n').Select(l => l.TrimEnd('\r'))
            .Where(l => l.StartsWith("  " + would + "mkdir ", StringComparison.Ordinal) || l.StartsWith("  " + would + "copy ", StringComparison.Ordinal) || l.StartsWith("  " + would + "set ", StringComparison.Ordinal))
            .Select(l => l.Substring(2 + would.Length).TrimStart())
            .Select(l => l.Substring(l.IndexOf(' ', StringComparison.Ordinal)).TrimStart() is var rest ? l.Split(' ')[0] + " " + rest : l)
            .ToList();

    // The JSON changes in the text report's words, so that the two lists can be compared line for line.
    private static List<string> JsonChangesAsText(JsonElement report) =>
        report.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("kind").GetString() switch
        {
            "folder" => "mkdir " + c.GetProperty("path").GetString(),
            "file" => string.Format(CultureInfo.InvariantCulture, "copy {0} <- {1} ({2} bytes, sha256 {3}…)",
                c.GetProperty("path").GetString(), c.GetProperty("source").GetString(), c.GetProperty("size").GetInt64(), c.GetProperty("sha256").GetString()![..16]),
            _ => string.Format(CultureInfo.InvariantCulture, @"set {0}\{1}\{2} = {3} {4}{5}",
                c.GetProperty("hive").GetString(), c.GetProperty("key").GetString(),
                c.GetProperty("valueName").GetString() is { Length: > 0 } n ? n : "(default)",
                c.GetProperty("type").GetString(), c.GetProperty("newValue").GetString(),
                c.GetProperty("oldValue").ValueKind == JsonValueKind.Null ? " (new)" : $" (was {c.GetProperty("oldValue").GetString()})"),
        }).ToList();
}

/// <summary>
/// The part of JSON Schema the documented schemas use: type (one or a list, with "integer"), required, properties,
/// items, enum, const and oneOf. Enough to hold real output to the document; not a general validator.
/// </summary>
internal static class SchemaCheck
{
    public static void Validate(JsonElement schema, JsonElement value, string path, List<string> errors)
    {
        if (schema.TryGetProperty("type", out JsonElement type))
        {
            var allowed = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : new List<string> { type.GetString()! };
            if (!allowed.Any(t => Is(t, value)))
            {
                errors.Add($"{path}: {value.ValueKind} is not {string.Join(" or ", allowed)}");
                return;
            }
        }
        if (schema.TryGetProperty("const", out JsonElement constant) && !JsonEquals(constant, value))
        {
            errors.Add($"{path}: {value} is not the constant {constant}");
        }
        if (schema.TryGetProperty("enum", out JsonElement choices) && !choices.EnumerateArray().Any(c => JsonEquals(c, value)))
        {
            errors.Add($"{path}: {value} is not one of {choices}");
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out JsonElement required))
            {
                foreach (JsonElement name in required.EnumerateArray())
                {
                    if (!value.TryGetProperty(name.GetString()!, out _))
                    {
                        errors.Add($"{path}: required property '{name.GetString()}' is missing");
                    }
                }
            }
            if (schema.TryGetProperty("properties", out JsonElement properties))
            {
                foreach (JsonProperty p in properties.EnumerateObject())
                {
                    if (value.TryGetProperty(p.Name, out JsonElement v))
                    {
                        Validate(p.Value, v, path + "." + p.Name, errors);
                    }
                }
            }
        }
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out JsonElement items))
        {
            int i = 0;
            foreach (JsonElement item in value.EnumerateArray())
            {
                Validate(items, item, $"{path}[{i++}]", errors);
            }
        }
        if (schema.TryGetProperty("oneOf", out JsonElement oneOf))
        {
            int matches = oneOf.EnumerateArray().Count(branch =>
            {
                var e = new List<string>();
                Validate(branch, value, path, e);
                return e.Count == 0;
            });
            if (matches != 1)
            {
                errors.Add($"{path}: matches {matches} of the oneOf branches, not exactly one: {value}");
            }
        }
    }

    private static bool Is(string type, JsonElement v) => type switch
    {
        "object" => v.ValueKind == JsonValueKind.Object,
        "array" => v.ValueKind == JsonValueKind.Array,
        "string" => v.ValueKind == JsonValueKind.String,
        "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _),
        "number" => v.ValueKind == JsonValueKind.Number,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => v.ValueKind == JsonValueKind.Null,
        _ => throw new NotSupportedException("schema type " + type),
    };

    private static bool JsonEquals(JsonElement a, JsonElement b) => a.GetRawText() == b.GetRawText() ||
        (a.ValueKind == JsonValueKind.String && b.ValueKind == JsonValueKind.String && a.GetString() == b.GetString());
}
