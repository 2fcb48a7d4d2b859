using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Registry;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert reg export|set|delete|import|check` on a hive file, and (all but check) on a hive inside a disk image (--hive).</summary>
internal static class RegCommands
{
    public static Command Build(CliConsole console)
    {
        var reg = new Command("reg", "Read and edit Windows registry hives (SYSTEM, SOFTWARE, DRIVERS, …): a hive file, or a hive inside a disk image (IMAGE --hive NAME [--partition N]), " +
            "edited there through the same plan and safe write path as prepare. Dirty hives are recovered from their .LOG1/.LOG2 files.");
        reg.Subcommands.Add(BuildExport(console));
        reg.Subcommands.Add(BuildSet(console));
        reg.Subcommands.Add(BuildDelete(console));
        reg.Subcommands.Add(BuildImport(console));
        reg.Subcommands.Add(BuildCheck(console));
        return reg;
    }

    private static Argument<string> HiveArgument() => new("HIVE") { Description = "The hive file, or a disk image (raw, VHD, VHDX, VMDK, QCOW2) with --hive NAME." };

    private static Option<bool> AllowDirtyOption() => new("--allow-dirty-hive")
    {
        Description = "Edit a dirty hive whose transaction logs exist but cannot be applied, as it is (what the logs hold is lost).",
    };

    /// <summary>
    /// Opens a hive for an edit under the same rule as prepare: a dirty hive whose logs apply is recovered and saved
    /// clean; a dirty hive without (non-empty) logs — what Windows loads as it is — is edited and saved clean with a
    /// warning; a dirty hive whose logs exist but cannot be applied is refused (exit 3, nothing written) unless allowed.
    /// </summary>
    private static RegistryHive OpenForEdit(CliConsole console, string path, bool allowDirty)
    {
        bool hasLogs = RegistryHive.FindLogs(path).Count > 0;
        RegistryHive hive = RegistryHive.Open(path, new RegistryOpenOptions
        {
            Writable = true,
            SaveDirtyWithoutRecovery = !hasLogs || allowDirty,
            Logger = console.Logger,
        });
        if (!hive.IsDirtyWithoutRecovery)
        {
            return hive;
        }
        if (hasLogs && !allowDirty)
        {
            hive.Dispose();
            throw new UnsafeToWriteException("The hive is dirty and its transaction logs cannot be applied; saving it would lose what they hold. Nothing was written; pass --allow-dirty-hive to edit the hive as it is.", path);
        }
        console.Error.WriteLine(hasLogs
            ? "warning: the hive is dirty and its logs cannot be applied; editing it as it is (--allow-dirty-hive) and saving it clean."
            : "warning: the hive is dirty and has no transaction logs; editing it as Windows would load it and saving it clean.");
        return hive;
    }

    private static Command BuildExport(CliConsole console)
    {
        var hive = HiveArgument();
        var key = new Argument<string>("KEY") { Description = "The key to export (default: the whole hive).", Arity = ArgumentArity.ZeroOrOne };
        var format = new Option<string>("--format") { Description = "reg (regedit 5.00 text, the default) or json.", DefaultValueFactory = _ => "reg" };
        format.AcceptOnlyFromAmong("reg", "json");
        var prefix = new Option<string>("--prefix")
        {
            Description = "Text standing for the hive root in .reg key lines. Default: where Windows loads the hive, so that regedit imports the file " +
                "(HKEY_LOCAL_MACHINE\\SYSTEM for SYSTEM, HKEY_USERS\\.DEFAULT for DEFAULT, HKEY_CURRENT_USER for NTUSER.DAT, …); \"\" for none, as hivexregedit. " +
                "Not with JSON output (a usage error): its key paths are from the hive root.",
        };
        var imageHive = ImageHive.HiveOption();
        var partition = ImageHive.PartitionOption();
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file instead of standard output." };
        var json = new Option<bool>("--json") { Description = "Export as JSON (the same as --format json); errors too are then a JSON object on standard output." };
        var command = new Command("export", "Print a key and everything below it as .reg text or JSON (from a hive file, or read-only from a hive inside a disk image).")
        {
            hive, key, format, prefix, imageHive, partition, output, json,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(json) && parse.GetResult(format) is { Implicit: false } && parse.GetValue(format) != "json")
            {
                throw new UsageException("--json exports as JSON; leave out --format reg, or --json.");
            }
            if ((parse.GetValue(json) || parse.GetValue(format) == "json") && parse.GetValue(prefix) is not null)
            {
                // JSON gives each key's path from the hive root, the same whatever the hive is loaded as: a prefix
                // there would make scripts parse it back out, and ignoring it would hide that it does nothing.
                throw new UsageException("--prefix sets the root of the key lines of .reg output; JSON output gives each key's path from the hive root. Leave out --prefix, or export as .reg.");
            }
            string path = parse.GetValue(hive)!;
            if (ImageHive.IsImage(console, path, parse.GetValue(imageHive), out string hiveName))
            {
                return ImageHive.Read(console, path, hiveName, parse.GetValue(partition), h => Export(parse, h, hiveName));
            }
            using RegistryHive fileHive = RegistryHive.Open(path, null);
            return Export(parse, fileHive, path);
        });
        return command;

        int Export(ParseResult parse, RegistryHive h, string hivePath)
        {
            RegistryKey k = OpenKey(h, parse.GetValue(key));
            string? file = parse.GetValue(output);
            bool asJson = parse.GetValue(json) || parse.GetValue(format) == "json";
            using TextWriter? toFile = file is null ? null : new StreamWriter(file, false,
                asJson ? new System.Text.UTF8Encoding(false) : new System.Text.UnicodeEncoding(false, true));
            TextWriter writer = toFile ?? console.Output;
            if (asJson)
            {
                RegistryExport.WriteJson(k, writer);
            }
            else
            {
                RegistryExport.WriteReg(k, writer, parse.GetValue(prefix) ?? RegeditRoot(h, hivePath));
            }
            return 0;
        }
    }

    private static Command BuildSet(CliConsole console)
    {
        var hive = HiveArgument();
        var key = new Argument<string>("KEY") { Description = "The key; missing keys along the path are created." };
        var name = new Argument<string>("NAME") { Description = "The value name (\"\" or @ for the default value)." };
        var type = new Option<string>("--type", "-t")
        {
            Description = "REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_NONE, or a type number.",
            Required = true,
        };
        var data = new Option<string[]>("--data", "-d")
        {
            Description = "The data: text, a number (decimal or 0x hex), hex bytes (01,02,ff or 0102ff); repeat for REG_MULTI_SZ.",
            AllowMultipleArgumentsPerToken = false,
        };
        var allowDirty = AllowDirtyOption();
        var imageHive = ImageHive.HiveOption();
        var partition = ImageHive.PartitionOption();
        var dryRun = DryRunOption();
        var json = JsonOption();
        var command = new Command("set", "Create or replace a value, then save the hive (atomically); in a disk image (SYSTEM, SOFTWARE or DRIVERS) through the plan and apply of prepare.")
        {
            hive, key, name, type, data, allowDirty, imageHive, partition, dryRun, json,
        };
        command.SetAction(parse =>
        {
            (RegistryValueType t, byte[] bytes) = ParseData(parse.GetValue(type)!, parse.GetValue(data) ?? Array.Empty<string>());
            string valueName = parse.GetValue(name)!;
            if (valueName == "@")
            {
                valueName = string.Empty;
            }
            string path = parse.GetValue(hive)!;
            if (ImageHive.IsImage(console, path, parse.GetValue(imageHive), out string hiveName))
            {
                RequireWritable(hiveName, "SYSTEM", "SOFTWARE", "DRIVERS");
                return ImageHive.Edit(console, path, parse.GetValue(partition), parse.GetValue(dryRun), parse.GetValue(allowDirty),
                    new[] { new SetRegistryValueStep(hiveName, parse.GetValue(key)!, valueName, t, bytes) }, parse.GetValue(json));
            }
            bool dry = parse.GetValue(dryRun);
            using RegistryHive h = OpenForEdit(console, parse.GetValue(hive)!, parse.GetValue(allowDirty));
            RegistryKey k = h.Root.CreateSubkey(parse.GetValue(key)!);
            k.SetValue(valueName, t, bytes);
            if (!dry)
            {
                h.Save();
            }
            string line = $"{(dry ? "Would set" : "Set")} \\{k.Path} : {(valueName.Length == 0 ? "@" : valueName)} ({RegistryExport.TypeName(t)}, {bytes.Length} bytes)";
            return WriteFileReport(console, parse.GetValue(json), path, dry, new[] { line }, 0);
        });
        return command;
    }

    private static Command BuildDelete(CliConsole console)
    {
        var hive = HiveArgument();
        var key = new Argument<string>("KEY") { Description = "The key." };
        var name = new Argument<string>("NAME") { Description = "A value to delete; without it the key and all below it are deleted.", Arity = ArgumentArity.ZeroOrOne };
        var allowDirty = AllowDirtyOption();
        var imageHive = ImageHive.HiveOption();
        var partition = ImageHive.PartitionOption();
        var dryRun = DryRunOption();
        var json = JsonOption();
        var command = new Command("delete", "Delete a value, or a key with everything below it, then save the hive; in a disk image (SYSTEM or SOFTWARE) through the plan and apply of prepare.")
        {
            hive, key, name, allowDirty, imageHive, partition, dryRun, json,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(hive)!;
            if (ImageHive.IsImage(console, path, parse.GetValue(imageHive), out string hiveName))
            {
                return DeleteInImage(console, path, hiveName, parse.GetValue(key)!, parse.GetValue(name), parse.GetValue(partition), parse.GetValue(dryRun), parse.GetValue(allowDirty), parse.GetValue(json));
            }
            bool dry = parse.GetValue(dryRun);
            using RegistryHive h = OpenForEdit(console, parse.GetValue(hive)!, parse.GetValue(allowDirty));
            string keyPath = parse.GetValue(key)!;
            string? valueName = parse.GetValue(name);
            RegistryKey k = OpenKey(h, keyPath);
            if (valueName is not null)
            {
                if (valueName == "@")
                {
                    valueName = string.Empty;
                }
                if (!k.DeleteValue(valueName))
                {
                    return console.Fail(CliApp.DataError, "data", $"\\{k.Path} has no value '{valueName}'; nothing was written.", "'iscsi-convert reg export HIVE KEY' lists the key's values.");
                }
                if (!dry)
                {
                    h.Save();
                }
                return WriteFileReport(console, parse.GetValue(json), path, dry, new[] { $"{(dry ? "Would delete" : "Deleted")} value \\{k.Path} : {valueName}" }, 0);
            }
            if (k.Path.Length == 0)
            {
                throw new UsageException("The root key cannot be deleted; name a key below it.");
            }
            string parentPath = k.Path.Contains('\\', StringComparison.Ordinal) ? k.Path.Substring(0, k.Path.LastIndexOf('\\')) : string.Empty;
            OpenKey(h, parentPath).DeleteSubkeyTree(k.Name);
            if (!dry)
            {
                h.Save();
            }
            return WriteFileReport(console, parse.GetValue(json), path, dry, new[] { $"{(dry ? "Would delete" : "Deleted")} key \\{k.Path}" }, 0);
        });
        return command;
    }

    private static Command BuildImport(CliConsole console)
    {
        var hive = HiveArgument();
        var file = new Argument<string>("FILE") { Description = "The .reg file (regedit 5.00 UTF-16, or REGEDIT4)." };
        var prefix = new Option<string>("--prefix")
        {
            Description = "Text standing for the hive root in the file's key lines, such as HKEY_LOCAL_MACHINE\\SYSTEM (default: none; key lines are paths from the root, as hivexregedit writes them).",
        };
        var dryRun = DryRunOption();
        var allowDirty = AllowDirtyOption();
        var imageHive = ImageHive.HiveOption();
        var partition = ImageHive.PartitionOption();
        var json = JsonOption();
        var command = new Command("import", "Apply a .reg file to the hive (like regedit /s or hivexregedit --merge), then save it; a file that changes nothing writes nothing. " +
            "In a disk image (SYSTEM or SOFTWARE) the file's key lines name the hive as regedit does (HKEY_LOCAL_MACHINE\\SYSTEM\\…, CurrentControlSet the control set the image boots) and it goes through the plan and apply of prepare.")
        {
            hive, file, prefix, dryRun, allowDirty, imageHive, partition, json,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(hive)!;
            if (ImageHive.IsImage(console, path, parse.GetValue(imageHive), out string hiveName))
            {
                RequireWritable(hiveName, "SYSTEM", "SOFTWARE");
                if (parse.GetValue(prefix) is not null)
                {
                    throw new UsageException("--prefix is for hive files; in a disk image the file's key lines name the hive (HKEY_LOCAL_MACHINE\\" + hiveName + "\\…).");
                }
                RegFile regFile = RegFile.Load(parse.GetValue(file)!);
                RequireUnder(regFile, hiveName);
                return ImageHive.Edit(console, path, parse.GetValue(partition), parse.GetValue(dryRun), parse.GetValue(allowDirty), new[] { new RegFileStep(regFile) }, parse.GetValue(json));
            }
            // The whole file is read and checked before the hive is opened: a bad file changes nothing.
            RegFile reg = RegFile.Load(parse.GetValue(file)!, new RegFileOptions { RootPrefix = parse.GetValue(prefix) });
            bool dry = parse.GetValue(dryRun);
            using RegistryHive h = OpenForEdit(console, parse.GetValue(hive)!, parse.GetValue(allowDirty));
            RegFileApplyResult result = reg.ApplyTo(h);
            if (!dry)
            {
                h.Save();
            }
            if (parse.GetValue(json))
            {
                return WriteFileReport(console, true, path, dry, result.Changed.Select(op => op.ToString()).ToList(), result.Unchanged);
            }
            foreach (RegFileOperation op in result.Changed)
            {
                console.Output.WriteLine((dry ? "would " : string.Empty) + op);
            }
            console.Output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0} change(s){1}, {2} operation(s) already in place.",
                result.Changed.Count, dry ? " (dry run: nothing written)" : string.Empty, result.Unchanged));
            return 0;
        });
        return command;
    }

    private static Option<bool> JsonOption() => new("--json")
    {
        Description = "Print the report as JSON: on a disk image prepare's report (docs/schemas/prepare-report.schema.json), on a hive file " +
            "{hive, dryRun, written, changes, unchanged}; errors as a JSON object.",
    };

    /// <summary>What set, delete and import on a hive file report: the lines of the text report, or with --json a <see cref="RegFileEditReport"/>.</summary>
    private static int WriteFileReport(CliConsole console, bool json, string hivePath, bool dryRun, IReadOnlyList<string> changes, int unchanged)
    {
        if (json)
        {
            console.Output.WriteLine(CliJson.Serialize(new RegFileEditReport(Path.GetFullPath(hivePath), dryRun, !dryRun, changes, unchanged), CliJson.ReportOptions));
            return CliApp.Success;
        }
        foreach (string line in changes)
        {
            console.Output.WriteLine(line);
        }
        return CliApp.Success;
    }

    private static Option<bool> DryRunOption() => new("--dry-run", "-n") { Description = "Report what would change; write nothing." };

    private static void RequireWritable(string hiveName, params string[] writable)
    {
        if (!writable.Contains(hiveName))
        {
            throw new UsageException($"--hive {hiveName}: this command edits {string.Join(", ", writable)} inside an image (the hives the plan of prepare writes); export reads any of them.");
        }
    }

    // Every key line of an imported file must name the hive --hive chose (HKEY_LOCAL_MACHINE\HIVE\…), so that the file does not edit another.
    private static void RequireUnder(RegFile file, string hiveName)
    {
        foreach (RegFileOperation op in file.Operations)
        {
            string[] parts = op.KeyPath.TrimStart('\\').Split('\\');
            if (parts.Length < 2 || !string.Equals(parts[1], hiveName, StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException($"{file.FileName} line {op.Line}: the key {op.KeyPath} is not in the {hiveName} hive --hive chose (HKEY_LOCAL_MACHINE\\{hiveName}\\…).");
            }
        }
    }

    /// <summary>
    /// Deletes a value or a key in an image's hive as a plan: the deletion is written as a regedit file
    /// (<c>"name"=-</c> or <c>[-KEY]</c>) and planned as a <see cref="RegFileStep"/>, so that it has the same path
    /// and guarantees as prepare --reg. Deleting what is not there is an error (1), as on a hive file, and writes nothing.
    /// </summary>
    private static int DeleteInImage(CliConsole console, string imagePath, string hiveName, string keyPath, string? valueName,
        int? partition, bool dryRun, bool allowDirty, bool json)
    {
        RequireWritable(hiveName, "SYSTEM", "SOFTWARE");
        string key = keyPath.Trim('\\');
        if (key.Length == 0 && valueName is null)
        {
            throw new UsageException("The root key cannot be deleted.");
        }
        string root = @"HKEY_LOCAL_MACHINE\" + hiveName + (key.Length == 0 ? string.Empty : "\\" + key);
        string name = valueName == "@" ? "@" : valueName is null ? string.Empty : "\"" + valueName.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        string text = "Windows Registry Editor Version 5.00\r\n\r\n" + (valueName is null ? $"[-{root}]\r\n" : $"[{root}]\r\n{name}=-\r\n");
        var step = new RegFileStep(RegFile.Parse(text, "reg delete"));
        return ImageHive.Edit(console, imagePath, partition, dryRun, allowDirty, new[] { step }, json, plan =>
        {
            if (plan.Changes.Count > 0)
            {
                return null;
            }
            return console.Fail(CliApp.DataError, "data", valueName is null
                ? $"{imagePath}: {hiveName} has no key '{key}'; nothing was written."
                : $"{imagePath}: {hiveName}\\{key} has no value '{valueName}'; nothing was written.",
                $"'iscsi-convert reg export {imagePath} --hive {hiveName} KEY' lists what is there.");
        });
    }

    private static Command BuildCheck(CliConsole console)
    {
        var hive = HiveArgument();
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (version, keys, recovery, problems, exitCode)." };
        var command = new Command("check", "Check a hive's structure; exit code 1 when problems are found.") { hive, json };
        command.SetAction(parse =>
        {
            using RegistryHive h = RegistryHive.Open(parse.GetValue(hive)!, null);
            if (parse.GetValue(json))
            {
                IReadOnlyList<RegistryProblem> found = h.Verify();
                int code = found.Count == 0 ? 0 : CliApp.DataError;
                var report = new RegCheckReport(Path.GetFullPath(parse.GetValue(hive)!), $"1.{h.MinorVersion}", RegistryExport.Walk(h.Root).Count(),
                    h.RecoveredWith, h.RecoveredWith is null ? 0 : h.RecoveredEntries, h.IsDirtyWithoutRecovery, found.Select(p => p.ToString()).ToList(), code);
                console.Output.WriteLine(CliJson.Serialize(report, CliJson.ReportOptions));
                return code;
            }
            if (h.RecoveredWith is not null)
            {
                console.Output.WriteLine($"Dirty hive, recovered in memory from {h.RecoveredWith} ({h.RecoveredEntries} entries).");
            }
            if (h.IsDirtyWithoutRecovery)
            {
                console.Output.WriteLine("Dirty hive: no transaction log applies; checked as it is on disk.");
            }
            IReadOnlyList<RegistryProblem> problems = h.Verify();
            foreach (RegistryProblem p in problems)
            {
                console.Output.WriteLine(p.ToString());
            }
            int keys = RegistryExport.Walk(h.Root).Count();
            console.Output.WriteLine(problems.Count == 0
                ? $"OK: regf 1.{h.MinorVersion}, {keys} keys, no problems found."
                : $"{problems.Count} problem(s) found.");
            return problems.Count == 0 ? 0 : CliApp.DataError;
        });
        return command;
    }

    private static RegistryKey OpenKey(RegistryHive hive, string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "\\")
        {
            return hive.Root;
        }
        return hive.OpenKey(path!) ?? throw new ArgumentException($"The hive has no key '{path}'.");
    }

    /// <summary>
    /// Where Windows loads a hive, as regedit names it in a .reg file's key lines: from the name Windows keeps in the
    /// hive (or else the file's name). A hive of another name is taken to be loaded under HKEY_LOCAL_MACHINE by that name.
    /// </summary>
    internal static string RegeditRoot(RegistryHive hive, string hivePath)
    {
        string stored = hive.StoredFileName;
        string name = stored.Length > 0 ? stored.Substring(stored.LastIndexOfAny(['\\', '/']) + 1) : Path.GetFileName(hivePath);
        return name.ToUpperInvariant() switch
        {
            "NTUSER.DAT" => "HKEY_CURRENT_USER",
            "USRCLASS.DAT" => @"HKEY_CURRENT_USER\Software\Classes",
            "DEFAULT" => @"HKEY_USERS\.DEFAULT",
            "BCD" => @"HKEY_LOCAL_MACHINE\BCD00000000",
            _ => @"HKEY_LOCAL_MACHINE\" + name,
        };
    }

    internal static (RegistryValueType Type, byte[] Data) ParseData(string typeText, IReadOnlyList<string> data)
    {
        string t = typeText.ToUpperInvariant();
        if (t.StartsWith("REG_", StringComparison.Ordinal))
        {
            t = t.Substring(4);
        }
        if (data.Count > 1 && t != "MULTI_SZ")
        {
            // Only a REG_MULTI_SZ takes several strings; the others would silently drop all but the first.
            throw new UsageException($"--data: given {data.Count} times; only REG_MULTI_SZ takes one --data per string.");
        }
        string one = data.Count == 0 ? string.Empty : data[0];
        switch (t)
        {
            case "SZ":
                return (RegistryValueType.String, RegistryValue.EncodeString(one));
            case "EXPAND_SZ":
                return (RegistryValueType.ExpandString, RegistryValue.EncodeString(one));
            case "MULTI_SZ":
                return (RegistryValueType.MultiString, RegistryValue.EncodeMultiString(data));
            case "DWORD":
                return (RegistryValueType.DWord, RegistryValue.EncodeDWord(ParseNumber(one) is var d && d <= uint.MaxValue ? (uint)d : throw new UsageException($"--data: '{one}' does not fit in a REG_DWORD (at most 0xffffffff); use REG_QWORD.")));
            case "QWORD":
                return (RegistryValueType.QWord, RegistryValue.EncodeQWord(ParseNumber(one)));
            case "BINARY":
                return (RegistryValueType.Binary, ParseHex(one));
            case "NONE":
                return (RegistryValueType.None, ParseHex(one));
            default:
                if (uint.TryParse(t.StartsWith("0X", StringComparison.Ordinal) ? t.Substring(2) : t,
                        t.StartsWith("0X", StringComparison.Ordinal) ? NumberStyles.HexNumber : NumberStyles.None, CultureInfo.InvariantCulture, out uint n))
                {
                    return ((RegistryValueType)n, ParseHex(one));
                }
                throw new UsageException($"--type: unknown type '{typeText}'.");
        }
    }

    private static ulong ParseNumber(string text)
    {
        bool hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        if (ulong.TryParse(hex ? text.Substring(2) : text, hex ? NumberStyles.HexNumber : NumberStyles.None, CultureInfo.InvariantCulture, out ulong v))
        {
            return v;
        }
        throw new UsageException($"--data: '{text}' is not a number (decimal, or hex with 0x).");
    }

    private static byte[] ParseHex(string text)
    {
        string digits = text.Replace(",", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        try
        {
            return Convert.FromHexString(digits);
        }
        catch (FormatException)
        {
            throw new UsageException($"--data: '{text}' is not hex bytes (such as 01,02,ff).");
        }
    }
}

/// <summary>What `reg set|delete|import --json` prints for a hive file: the changes made (or, with --dry-run, that would be) and the operations already in place.</summary>
internal sealed record RegFileEditReport(string Hive, bool DryRun, bool Written, IReadOnlyList<string> Changes, int Unchanged);

/// <summary>What `reg check --json` prints: the regf version, the number of keys, the log recovery made in memory, the problems found and the exit code.</summary>
internal sealed record RegCheckReport(string Hive, string Version, int Keys, string? RecoveredWith, int RecoveredEntries, bool DirtyWithoutRecovery,
    IReadOnlyList<string> Problems, int ExitCode);
