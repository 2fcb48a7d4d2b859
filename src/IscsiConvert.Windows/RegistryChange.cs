using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Linq;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// One registry value a plan sets, as data: the hive (SYSTEM, DRIVERS, SOFTWARE), the key below the hive's root, the
/// value name ("" for the default value), the type and the raw data before and after. The data is kept as bytes so
/// binary values (a DriverDatabase package's Version, OemInfMap) are carried exactly; <see cref="OldValue"/> and
/// <see cref="NewValue"/> render it for people.
/// </summary>
public sealed class RegistryChange : IEquatable<RegistryChange>
{
    private readonly byte[]? _oldData;
    private readonly byte[] _newData;

    private RegistryChange(RegistryOperation operation, string hive, string key, string valueName, RegistryValueType? oldType, byte[]? oldData)
    {
        Operation = operation;
        Hive = hive;
        Key = key;
        ValueName = valueName;
        Type = RegistryValueType.None;
        OldType = oldData is null ? null : oldType;
        _oldData = oldData is null ? null : (byte[])oldData.Clone();
        _newData = Array.Empty<byte>();
    }

    /// <summary>A value deleted (<c>"name"=-</c> in a .reg file); <paramref name="oldData"/> is what it held.</summary>
    internal static RegistryChange ValueDeletion(string hive, string key, string valueName, RegistryValueType oldType, byte[] oldData) =>
        new(RegistryOperation.DeleteValue, hive, key, valueName, oldType, oldData);

    /// <summary>A key deleted with everything below it (<c>[-KEY]</c> in a .reg file).</summary>
    internal static RegistryChange KeyDeletion(string hive, string key) =>
        new(RegistryOperation.DeleteKey, hive, key, string.Empty, null, null);

    /// <summary>What the change does: set a value (the usual), delete a value, or delete a key and all below it.</summary>
    public RegistryOperation Operation { get; }

    /// <summary>Creates a change; <paramref name="oldData"/> is null when the value does not exist yet.</summary>
    public RegistryChange(string hive, string key, string valueName, RegistryValueType type, RegistryValueType? oldType, byte[]? oldData, byte[] newData)
    {
        Operation = RegistryOperation.SetValue;
        Hive = hive ?? throw new ArgumentNullException(nameof(hive));
        Key = key ?? throw new ArgumentNullException(nameof(key));
        ValueName = valueName ?? throw new ArgumentNullException(nameof(valueName));
        Type = type;
        OldType = oldData is null ? null : oldType;
        _oldData = oldData is null ? null : (byte[])oldData.Clone();
        _newData = (byte[])(newData ?? throw new ArgumentNullException(nameof(newData))).Clone();
    }

    /// <summary>The hive file in System32\config: "SYSTEM", "DRIVERS" or "SOFTWARE".</summary>
    public string Hive { get; }

    /// <summary>The key, relative to the hive's root (ControlSet001\Services\netkvm).</summary>
    public string Key { get; }

    /// <summary>The value name; "" is the key's default value (and for a key deletion).</summary>
    public string ValueName { get; }

    /// <summary>The type written (<see cref="RegistryValueType.None"/> for a deletion).</summary>
    public RegistryValueType Type { get; }

    /// <summary>The type the value had, or null when it did not exist.</summary>
    public RegistryValueType? OldType { get; }

    /// <summary>The data the value had (a copy), or null when it did not exist.</summary>
    public byte[]? GetOldData() => _oldData is null ? null : (byte[])_oldData.Clone();

    /// <summary>The data written (a copy).</summary>
    public byte[] GetNewData() => (byte[])_newData.Clone();

    internal ReadOnlySpan<byte> NewData => _newData;

    /// <summary>The old data rendered as text (DWORDs in decimal, strings as they are, binary as hex), or null when the value did not exist.</summary>
    public string? OldValue => _oldData is null ? null : Render(OldType ?? Type, _oldData);

    /// <summary>The new data rendered as text.</summary>
    public string NewValue => Render(Type, _newData);

    /// <summary>False when the value already holds the new data with the same type (nothing to do).</summary>
    public bool IsChange => Operation != RegistryOperation.SetValue || _oldData is null || OldType != Type || !_oldData.AsSpan().SequenceEqual(_newData);

    /// <summary>Renders registry data for people: decimal DWORD/QWORD, strings, multi-strings joined by " | ", hex bytes.</summary>
    public static string Render(RegistryValueType type, byte[] data)
    {
        if (data is null)
        {
            throw new ArgumentNullException(nameof(data));
        }
        var value = new RegistryValue(string.Empty, type, data);
        switch (type)
        {
            case RegistryValueType.DWord when data.Length == 4:
                return value.AsDWord().ToString(CultureInfo.InvariantCulture);
            case RegistryValueType.QWord when data.Length == 8:
                return value.AsQWord().ToString(CultureInfo.InvariantCulture);
            case RegistryValueType.String:
            case RegistryValueType.ExpandString:
                return value.AsString();
            case RegistryValueType.MultiString:
                return string.Join(" | ", value.AsStrings());
            default:
                return data.Length == 0 ? "(empty)" : "hex:" + string.Join(",", data.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }
    }

    /// <inheritdoc/>
    public bool Equals(RegistryChange? other) =>
        other is not null && string.Equals(Hive, other.Hive, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(Key, other.Key, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(ValueName, other.ValueName, StringComparison.OrdinalIgnoreCase) && Type == other.Type && Operation == other.Operation &&
        _newData.AsSpan().SequenceEqual(other._newData);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as RegistryChange);

    /// <inheritdoc/>
    public override int GetHashCode() =>
        (StringComparer.OrdinalIgnoreCase.GetHashCode(Hive) * 31 + StringComparer.OrdinalIgnoreCase.GetHashCode(Key)) * 31 +
        StringComparer.OrdinalIgnoreCase.GetHashCode(ValueName);

    /// <inheritdoc/>
    public override string ToString()
    {
        string name = ValueName.Length == 0 ? "(default)" : ValueName;
        switch (Operation)
        {
            case RegistryOperation.DeleteKey:
                return $@"{Hive}\{Key} (key deleted, with everything below it)";
            case RegistryOperation.DeleteValue:
                return $@"{Hive}\{Key}\{name} deleted (was {RegistryExport.TypeName(OldType ?? RegistryValueType.None)} {OldValue})";
        }
        string was = _oldData is null ? " (new)" : $" (was {OldValue})";
        return $@"{Hive}\{Key}\{name} = {RegistryExport.TypeName(Type)} {NewValue}{was}";
    }

    internal static uint? ReadDWord(RegistryValue? v) =>
        v is { Type: RegistryValueType.DWord } && v.Data.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(v.Data.Span) : null;
}

/// <summary>What a <see cref="RegistryChange"/> does.</summary>
public enum RegistryOperation
{
    /// <summary>Sets a value (creating its key as needed).</summary>
    SetValue = 0,

    /// <summary>Deletes a value.</summary>
    DeleteValue = 1,

    /// <summary>Deletes a key with all its values and subkeys.</summary>
    DeleteKey = 2,
}
