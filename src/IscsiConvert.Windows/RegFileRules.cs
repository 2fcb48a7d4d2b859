using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Turns a regedit file's operations into plan changes on the offline hives: <c>HKEY_LOCAL_MACHINE\SYSTEM</c> is the
/// SYSTEM hive's root, with <c>CurrentControlSet</c> standing for the control set the image boots (Select\Current),
/// and <c>HKEY_LOCAL_MACHINE\SOFTWARE</c> the SOFTWARE hive's. Other roots (the user hives, SAM, SECURITY, the
/// volatile HARDWARE key) are refused. Deletions (<c>[-KEY]</c>, <c>"name"=-</c>) are planned in file order as
/// <see cref="RegistryOperation.DeleteKey"/> / <see cref="RegistryOperation.DeleteValue"/> changes, only where the
/// hive (or the plan) has the key or value, so a second run plans nothing; deleting a hive's root is refused.
/// </summary>
internal static class RegFileRules
{
    private static readonly string[] MachinePrefixes = { @"HKEY_LOCAL_MACHINE\", @"HKLM\" };

    /// <summary>The hive ("SYSTEM" or "SOFTWARE") each key of <paramref name="file"/> lies in, checking every line first.</summary>
    public static IReadOnlyCollection<string> HivesNamed(RegFile file) =>
        file.Operations.Select(op => Map(file, op, "ControlSet001").Hive).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Plans every value the file sets; <paramref name="hives"/> gives the edits of a hive by name.</summary>
    public static void Plan(RegFile file, string controlSet, Func<string, HiveEdits> hives, List<string> warnings)
    {
        var valued = new List<(string Hive, string Key)>();
        // In file order, as regedit imports: a key deleted and then given values is deleted, then re-created.
        foreach (RegFileOperation op in file.Operations)
        {
            (string hive, string key) = Map(file, op, controlSet);
            switch (op.Kind)
            {
                case RegFileOperationKind.SetValue:
                    hives(hive).Set(key, op.ValueName!, op.Type, op.GetData());
                    valued.Add((hive, key));
                    break;
                case RegFileOperationKind.DeleteValue:
                    hives(hive).DeleteValue(key, op.ValueName!);
                    break;
                case RegFileOperationKind.DeleteKey when key.Length == 0:
                    throw new NotSupportedException($"{file.FileName} line {op.Line}: {op} would delete the whole {hive} hive; refused.");
                case RegFileOperationKind.DeleteKey:
                    hives(hive).DeleteKey(key);
                    break;
            }
        }
        foreach (RegFileOperation op in file.Operations.Where(o => o.Kind == RegFileOperationKind.CreateKey))
        {
            (string hive, string key) = Map(file, op, controlSet);
            bool getsValues = valued.Any(v => string.Equals(v.Hive, hive, StringComparison.OrdinalIgnoreCase) &&
                (string.Equals(v.Key, key, StringComparison.OrdinalIgnoreCase) || v.Key.StartsWith(key + @"\", StringComparison.OrdinalIgnoreCase)));
            if (!getsValues && hives(hive).Hive.OpenKey(key) is null)
            {
                warnings.Add($"{file.FileName} line {op.Line}: the key {hive}\\{key} has no values in the file and is not created (a plan sets values).");
            }
        }
    }

    private static (string Hive, string Key) Map(RegFile file, RegFileOperation op, string controlSet)
    {
        string path = op.KeyPath.TrimStart('\\');
        string? prefix = MachinePrefixes.FirstOrDefault(p => path.StartsWith(p, StringComparison.OrdinalIgnoreCase));
        string rest = prefix is null ? string.Empty : path.Substring(prefix.Length);
        int cut = rest.IndexOf('\\');
        string hive = (cut < 0 ? rest : rest.Substring(0, cut)).ToUpperInvariant();
        string key = cut < 0 ? string.Empty : rest.Substring(cut + 1);
        if (prefix is null || (hive != "SYSTEM" && hive != "SOFTWARE"))
        {
            throw new NotSupportedException($"{file.FileName} line {op.Line}: the key {op.KeyPath} is not under HKEY_LOCAL_MACHINE\\SYSTEM or HKEY_LOCAL_MACHINE\\SOFTWARE, the offline hives prepare edits.");
        }
        return (hive, hive == "SYSTEM" ? MapControlSet(key, controlSet) : key);
    }

    /// <summary>A SYSTEM key with <c>CurrentControlSet</c> (the volatile link Windows creates at boot) replaced by the control set the image boots.</summary>
    public static string MapControlSet(string key, string controlSet) =>
        string.Equals(key, "CurrentControlSet", StringComparison.OrdinalIgnoreCase) || key.StartsWith(@"CurrentControlSet\", StringComparison.OrdinalIgnoreCase)
            ? controlSet + key.Substring("CurrentControlSet".Length)
            : key;
}
