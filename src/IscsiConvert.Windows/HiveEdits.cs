using System;
using System.Collections.Generic;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// The values a plan sets in one hive, each recorded with what the hive holds now, so that a value that already holds
/// the data is no change and a second run plans nothing. Reads the hive; never writes it.
/// </summary>
internal sealed class HiveEdits
{
    private readonly RegistryHive _hive;
    private readonly List<RegistryChange> _changes = new();

    public HiveEdits(string name, RegistryHive hive)
    {
        Name = name;
        _hive = hive;
    }

    /// <summary>"SYSTEM" or "DRIVERS".</summary>
    public string Name { get; }

    public RegistryHive Hive => _hive;

    /// <summary>Every value set, changed or not, in order.</summary>
    public IReadOnlyList<RegistryChange> All => _changes;

    /// <summary>The value as the plan leaves it so far: what was planned for it, else what the hive holds; null when neither.</summary>
    public RegistryValue? Current(string key, string valueName)
    {
        int i = IndexOf(key, valueName);
        return i >= 0 ? new RegistryValue(valueName, _changes[i].Type, _changes[i].GetNewData()) : _hive.OpenKey(key)?.GetValue(valueName);
    }

    /// <summary>
    /// Sets a value; a value planned before gets the new data (its old data stays the hive's). With
    /// <paramref name="keepExisting"/> a value that exists is left as it is (INF FLG_ADDREG_NOCLOBBER; a package's ImportDate).
    /// </summary>
    public void Set(string key, string valueName, RegistryValueType type, byte[] data, bool keepExisting = false)
    {
        if (keepExisting && Current(key, valueName) is not null)
        {
            return;
        }
        int i = IndexOf(key, valueName);
        RegistryValue? old = _hive.OpenKey(key)?.GetValue(valueName);
        var change = new RegistryChange(Name, key, valueName, type, old?.Type, old?.GetBytes(), data);
        if (i >= 0)
        {
            _changes[i] = change;
        }
        else
        {
            _changes.Add(change);
        }
    }

    private int IndexOf(string key, string valueName) =>
        _changes.FindIndex(c => string.Equals(c.Key, key, StringComparison.OrdinalIgnoreCase) && string.Equals(c.ValueName, valueName, StringComparison.OrdinalIgnoreCase));

    public void SetString(string key, string valueName, string value) => Set(key, valueName, RegistryValueType.String, RegistryValue.EncodeString(value));

    public void SetExpandString(string key, string valueName, string value) => Set(key, valueName, RegistryValueType.ExpandString, RegistryValue.EncodeString(value));

    public void SetMultiString(string key, string valueName, IEnumerable<string> values) => Set(key, valueName, RegistryValueType.MultiString, RegistryValue.EncodeMultiString(values));

    public void SetDWord(string key, string valueName, uint value) => Set(key, valueName, RegistryValueType.DWord, RegistryValue.EncodeDWord(value));

    public void SetBinary(string key, string valueName, byte[] value) => Set(key, valueName, RegistryValueType.Binary, value);

    /// <summary>Applies the changes to <paramref name="hive"/> (the same hive, opened writable).</summary>
    public static void Apply(RegistryHive hive, IEnumerable<RegistryChange> changes)
    {
        foreach (RegistryChange c in changes)
        {
            RegistryKey key = hive.Root.CreateSubkey(c.Key);
            key.SetValue(c.ValueName, c.Type, c.GetNewData());
        }
    }
}
