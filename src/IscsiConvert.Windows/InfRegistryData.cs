using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Turns an INF AddReg line into the value setup writes (type and bytes), per the INF AddReg directive's documented
/// flags: strings as REG_SZ/REG_EXPAND_SZ, REG_MULTI_SZ from every field (FLG_ADDREG_APPEND adds to what is there),
/// numbers for REG_DWORD/REG_QWORD, hex byte fields for REG_BINARY and REG_NONE.
/// </summary>
internal static class InfRegistryData
{
    /// <summary>Plans the HKR lines of <paramref name="entries"/> below <paramref name="baseKey"/>; lines it cannot write go to <paramref name="skipped"/> with why.</summary>
    public static void Plan(HiveEdits edits, string baseKey, IEnumerable<InfRegistryEntry> entries, List<string> skipped)
    {
        foreach (InfRegistryEntry e in entries)
        {
            if (e.IsDelete)
            {
                skipped.Add($"{e}: DelReg is not applied to a new installation (nothing of the driver is there to delete)");
                continue;
            }
            if (e.Root != "HKR")
            {
                skipped.Add($"{e}: only HKR (the service's own key) is written; {e.Root} lines are not part of making the driver boot");
                continue;
            }
            if (e.KeyOnly)
            {
                skipped.Add($"{e}: an empty key is not written (the values below it create it)");
                continue;
            }
            string key = e.SubKey.Length == 0 ? baseKey : baseKey + "\\" + e.SubKey;
            if (Encode(e, edits.Current(key, e.ValueName)) is not (RegistryValueType type, byte[] data))
            {
                skipped.Add($"{e}: value type {e.ValueType ?? "(none)"} with data '{string.Join(",", e.Data)}' is not understood");
                continue;
            }
            edits.Set(key, e.ValueName, type, data, keepExisting: e.NoClobber);
        }
    }

    /// <summary>The type and data of an AddReg line, or null when it cannot be encoded.</summary>
    public static (RegistryValueType Type, byte[] Data)? Encode(InfRegistryEntry e, RegistryValue? existing)
    {
        switch (e.ValueType)
        {
            case "REG_SZ":
                return (RegistryValueType.String, RegistryValue.EncodeString(string.Join(",", e.Data)));
            case "REG_EXPAND_SZ":
                return (RegistryValueType.ExpandString, RegistryValue.EncodeString(string.Join(",", e.Data)));
            case "REG_MULTI_SZ":
            {
                var values = new List<string>();
                if (e.Append && existing is { Type: RegistryValueType.MultiString })
                {
                    values.AddRange(existing.AsStrings());
                }
                foreach (string d in e.Data)
                {
                    if (d.Length > 0 && !(e.Append && values.Contains(d, StringComparer.OrdinalIgnoreCase)))
                    {
                        values.Add(d);
                    }
                }
                return (RegistryValueType.MultiString, RegistryValue.EncodeMultiString(values));
            }
            case "REG_DWORD":
                return Number(e.Data, 4) is byte[] dw ? (RegistryValueType.DWord, dw) : null;
            case "REG_QWORD":
                return Number(e.Data, 8) is byte[] qw ? (RegistryValueType.QWord, qw) : null;
            case "REG_BINARY":
                return Bytes(e.Data) is byte[] bin ? (RegistryValueType.Binary, bin) : null;
            case "REG_NONE":
                return Bytes(e.Data) is byte[] none ? (RegistryValueType.None, none) : null;
            default:
                return null;
        }
    }

    // One field is a number (decimal or 0x hex); several fields are the value's bytes, least significant first.
    private static byte[]? Number(IReadOnlyList<string> data, int size)
    {
        if (data.Count <= 1)
        {
            string t = data.Count == 0 ? "0" : data[0].Trim();
            ulong value;
            bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? ulong.TryParse(t.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
                : ulong.TryParse(t.Length == 0 ? "0" : t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
            if (!ok || (size == 4 && value > uint.MaxValue))
            {
                return null;
            }
            return size == 4 ? RegistryValue.EncodeDWord((uint)value) : RegistryValue.EncodeQWord(value);
        }
        byte[]? bytes = Bytes(data);
        if (bytes is null || bytes.Length > size)
        {
            return null;
        }
        Array.Resize(ref bytes, size);
        return bytes;
    }

    private static byte[]? Bytes(IReadOnlyList<string> data)
    {
        var bytes = new List<byte>();
        foreach (string d in data)
        {
            string t = d.Trim();
            if (t.Length == 0)
            {
                continue;
            }
            if (!byte.TryParse(t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t.Substring(2) : t, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                return null;
            }
            bytes.Add(b);
        }
        return bytes.ToArray();
    }
}
