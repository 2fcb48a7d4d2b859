using System;
using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>
/// One AddReg or DelReg line: <c>root, [subkey], [value-name], [flags], [value, …]</c>. Roots are HKR (the device's
/// or service's own key), HKLM, HKCU, HKCR and HKU.
/// </summary>
public sealed class InfRegistryEntry
{
    // FLG_ADDREG_* bits (INF AddReg directive).
    internal const int FlagBinaryValueType = 0x00000001;
    internal const int FlagNoClobber = 0x00000002;
    internal const int FlagDeleteValue = 0x00000004;
    internal const int FlagAppend = 0x00000008;
    internal const int FlagKeyOnly = 0x00000010;
    internal const int FlagOverwriteOnly = 0x00000020;

    internal InfRegistryEntry(string section, int lineNumber, bool isDelete, string root, string subKey, string valueName, bool hasValueName, int flags, IReadOnlyList<string> data)
    {
        Section = section;
        LineNumber = lineNumber;
        IsDelete = isDelete;
        Root = root;
        SubKey = subKey;
        ValueName = valueName;
        HasValueName = hasValueName;
        Flags = flags;
        Data = data;
    }

    /// <summary>The AddReg/DelReg section this line is in.</summary>
    public string Section { get; }

    /// <summary>The line in the INF.</summary>
    public int LineNumber { get; }

    /// <summary>True for a DelReg line.</summary>
    public bool IsDelete { get; }

    /// <summary>HKR, HKLM, HKCU, HKCR or HKU (upper case).</summary>
    public string Root { get; }

    /// <summary>The subkey below the root, "" for the root itself.</summary>
    public string SubKey { get; }

    /// <summary>The value name, "" for the default value.</summary>
    public string ValueName { get; }

    /// <summary>False when the line names no value at all (a key-only line).</summary>
    public bool HasValueName { get; }

    /// <summary>The FLG_ADDREG_* / FLG_DELREG_* flags.</summary>
    public int Flags { get; }

    /// <summary>The value fields after the flags (several for REG_MULTI_SZ and REG_BINARY bytes).</summary>
    public IReadOnlyList<string> Data { get; }

    /// <summary>FLG_ADDREG_NOCLOBBER: keep an existing value.</summary>
    public bool NoClobber => !IsDelete && (Flags & FlagNoClobber) != 0;

    /// <summary>FLG_ADDREG_APPEND: append to an existing REG_MULTI_SZ.</summary>
    public bool Append => !IsDelete && (Flags & FlagAppend) != 0;

    /// <summary>FLG_ADDREG_KEYONLY: create the key, no value.</summary>
    public bool KeyOnly => !IsDelete && (Flags & FlagKeyOnly) != 0;

    /// <summary>
    /// The registry type written: REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_BINARY, REG_NONE, REG_QWORD or
    /// REG_TYPE_n for a binary value with another type in the flags' high word. Null for DelReg and key-only lines.
    /// </summary>
    public string? ValueType
    {
        get
        {
            if (IsDelete || KeyOnly || (Flags & FlagDeleteValue) != 0)
            {
                return null;
            }
            int high = (int)((uint)Flags >> 16);
            if ((Flags & FlagBinaryValueType) == 0)
            {
                return high switch
                {
                    0 => "REG_SZ",
                    1 => "REG_MULTI_SZ",
                    2 => "REG_EXPAND_SZ",
                    _ => "REG_SZ",
                };
            }
            // FLG_ADDREG_TYPE_DWORD (0x00010001) and FLG_ADDREG_TYPE_NONE (0x00020001) are special cases; otherwise
            // the high word is the registry type itself (0x000B0001 = REG_QWORD).
            return high switch
            {
                0 => "REG_BINARY",
                1 => "REG_DWORD",
                2 => "REG_NONE",
                3 => "REG_BINARY",
                4 => "REG_DWORD",
                7 => "REG_MULTI_SZ",
                11 => "REG_QWORD",
                _ => "REG_TYPE_" + high.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
        }
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        string key = SubKey.Length == 0 ? Root : Root + "\\" + SubKey;
        if (IsDelete)
        {
            return HasValueName ? $"delete {key} : {ValueName}" : $"delete {key}";
        }
        if (ValueType is null)
        {
            return $"{key} (key)";
        }
        return $"{key} : {(ValueName.Length == 0 ? "@" : ValueName)} = {ValueType} {string.Join(",", Data)}";
    }

    internal static bool IsKnownRoot(string root) =>
        root.Equals("HKR", StringComparison.OrdinalIgnoreCase) || root.Equals("HKLM", StringComparison.OrdinalIgnoreCase) ||
        root.Equals("HKCU", StringComparison.OrdinalIgnoreCase) || root.Equals("HKCR", StringComparison.OrdinalIgnoreCase) ||
        root.Equals("HKU", StringComparison.OrdinalIgnoreCase);
}
