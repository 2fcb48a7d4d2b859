using System;
using System.Globalization;

namespace IscsiConvert.Registry;

/// <summary>What one line of a .reg file asks for.</summary>
public enum RegFileOperationKind
{
    /// <summary>"[KEY]": create the key (and missing keys above it); values that follow belong to it.</summary>
    CreateKey,

    /// <summary>"[-KEY]": delete the key and everything below it.</summary>
    DeleteKey,

    /// <summary>"name"=data or @=data: create or replace a value.</summary>
    SetValue,

    /// <summary>"name"=- or @=-: delete a value.</summary>
    DeleteValue,
}

/// <summary>
/// One typed operation read from a .reg file: the key path relative to the hive root (the root prefix removed), and
/// for value operations the value name ("" for @), type and data exactly as they will be stored.
/// </summary>
public sealed class RegFileOperation
{
    private readonly byte[]? _data;

    internal RegFileOperation(RegFileOperationKind kind, string keyPath, string? valueName, RegistryValueType type, byte[]? data, int line)
    {
        Kind = kind;
        KeyPath = keyPath;
        ValueName = valueName;
        Type = type;
        _data = data;
        Line = line;
    }

    /// <summary>What the line asks for.</summary>
    public RegFileOperationKind Kind { get; }

    /// <summary>The key, relative to the hive root, backslash-separated ("" for the root).</summary>
    public string KeyPath { get; }

    /// <summary>The value name for value operations ("" for the default value), null for key operations.</summary>
    public string? ValueName { get; }

    /// <summary>The value type of a <see cref="RegFileOperationKind.SetValue"/>.</summary>
    public RegistryValueType Type { get; }

    /// <summary>The 1-based line of the .reg file the operation comes from.</summary>
    public int Line { get; }

    /// <summary>The data of a <see cref="RegFileOperationKind.SetValue"/> (a copy), empty for other operations.</summary>
    public byte[] GetData() => _data is null ? Array.Empty<byte>() : (byte[])_data.Clone();

    internal byte[] Data => _data ?? Array.Empty<byte>();

    /// <inheritdoc/>
    public override string ToString()
    {
        string key = "\\" + KeyPath;
        string name = ValueName is null ? string.Empty : (ValueName.Length == 0 ? "@" : ValueName);
        return Kind switch
        {
            RegFileOperationKind.CreateKey => "create key " + key,
            RegFileOperationKind.DeleteKey => "delete key " + key,
            RegFileOperationKind.DeleteValue => $"delete value {key} : {name}",
            _ => string.Format(CultureInfo.InvariantCulture, "set {0} : {1} = {2}, {3} bytes", key, name, RegistryExport.TypeName(Type), Data.Length),
        };
    }
}
