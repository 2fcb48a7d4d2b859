using System;
using System.Collections.Generic;
using System.Linq;
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

    // Keys the plan deletes, in order: below them the hive's own values no longer count.
    private readonly List<string> _deletedKeys = new();

    /// <summary>The value as the plan leaves it so far: what was planned for it, else what the hive holds (unless the plan deletes its key); null when neither.</summary>
    public RegistryValue? Current(string key, string valueName)
    {
        int i = IndexOf(key, valueName);
        return i >= 0 ? new RegistryValue(valueName, _changes[i].Type, _changes[i].GetNewData()) : HiveValue(key, valueName);
    }

    // What the hive holds when the plan's changes are applied up to now: nothing below a key the plan deletes.
    private RegistryValue? HiveValue(string key, string valueName) => IsDeleted(key) ? null : _hive.OpenKey(key)?.GetValue(valueName);

    private bool IsDeleted(string key) => _deletedKeys.Exists(d => IsAtOrBelow(key, d));

    private static bool IsAtOrBelow(string key, string ancestor) =>
        string.Equals(key, ancestor, StringComparison.OrdinalIgnoreCase) || key.StartsWith(ancestor + @"\", StringComparison.OrdinalIgnoreCase);

    /// <summary>Deletes a value; nothing when neither the hive nor the plan has it. A value the plan set is no longer set.</summary>
    public void DeleteValue(string key, string valueName)
    {
        int i = IndexOf(key, valueName);
        if (i >= 0)
        {
            _changes.RemoveAt(i);
        }
        RegistryValue? old = HiveValue(key, valueName);
        if (old is not null)
        {
            _changes.Add(RegistryChange.ValueDeletion(Name, key, valueName, old.Type, old.GetBytes()));
        }
    }

    /// <summary>Deletes a key and all below it; nothing when neither the hive nor the plan has it. What the plan set below it is dropped.</summary>
    public void DeleteKey(string key)
    {
        if (key.Length == 0)
        {
            throw new NotSupportedException($"Deleting the root of the {Name} hive is not something a plan does.");
        }
        _changes.RemoveAll(c => IsAtOrBelow(c.Key, key));
        if (!IsDeleted(key) && _hive.OpenKey(key) is not null)
        {
            _changes.Add(RegistryChange.KeyDeletion(Name, key));
            _deletedKeys.Add(key);
        }
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
        RegistryValue? old = HiveValue(key, valueName);
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
        _changes.FindIndex(c => c.Operation == RegistryOperation.SetValue && string.Equals(c.Key, key, StringComparison.OrdinalIgnoreCase) && string.Equals(c.ValueName, valueName, StringComparison.OrdinalIgnoreCase));

    public void SetString(string key, string valueName, string value) => Set(key, valueName, RegistryValueType.String, RegistryValue.EncodeString(value));

    public void SetExpandString(string key, string valueName, string value) => Set(key, valueName, RegistryValueType.ExpandString, RegistryValue.EncodeString(value));

    public void SetMultiString(string key, string valueName, IEnumerable<string> values) => Set(key, valueName, RegistryValueType.MultiString, RegistryValue.EncodeMultiString(values));

    public void SetDWord(string key, string valueName, uint value) => Set(key, valueName, RegistryValueType.DWord, RegistryValue.EncodeDWord(value));

    public void SetBinary(string key, string valueName, byte[] value) => Set(key, valueName, RegistryValueType.Binary, value);

    /// <summary>
    /// Drops each key deletion that the plan follows by re-creating the key exactly as the hive holds it (a .reg file
    /// that deletes a key and writes it again, run a second time): neither the deletion nor the sets change anything,
    /// so a second run plans nothing. Called once planning is done.
    /// </summary>
    public void DropDeletionsThatChangeNothing()
    {
        for (int i = _changes.Count - 1; i >= 0; i--)
        {
            RegistryChange deletion = _changes[i];
            if (deletion.Operation != RegistryOperation.DeleteKey)
            {
                continue;
            }
            List<RegistryChange> after = _changes.Skip(i + 1).Where(c => IsAtOrBelow(c.Key, deletion.Key)).ToList();
            RegistryKey? key = _hive.OpenKey(deletion.Key);
            if (key is null || after.Any(c => c.Operation != RegistryOperation.SetValue) || !SameTree(key, deletion.Key, after, out int values) || values != after.Count)
            {
                continue;
            }
            _changes.RemoveAll(c => ReferenceEquals(c, deletion) || after.Any(a => ReferenceEquals(a, c)));
            _deletedKeys.RemoveAll(d => string.Equals(d, deletion.Key, StringComparison.OrdinalIgnoreCase));
        }
    }

    // Every value below the key is set again with the same type and data, and no key would be lost (an empty key is
    // not re-created by value sets).
    private static bool SameTree(RegistryKey key, string path, List<RegistryChange> sets, out int values)
    {
        values = 0;
        IReadOnlyList<RegistryValue> own = key.GetValues();
        IReadOnlyList<RegistryKey> subkeys = key.GetSubkeys();
        if (own.Count == 0 && subkeys.Count == 0)
        {
            return false;
        }
        foreach (RegistryValue v in own)
        {
            RegistryChange? set = sets.Find(c => string.Equals(c.Key, path, StringComparison.OrdinalIgnoreCase) && string.Equals(c.ValueName, v.Name, StringComparison.OrdinalIgnoreCase));
            if (set is null || set.Type != v.Type || !set.NewData.SequenceEqual(v.GetBytes()))
            {
                return false;
            }
            values++;
        }
        foreach (RegistryKey sub in subkeys)
        {
            if (!SameTree(sub, path + @"\" + sub.Name, sets, out int below))
            {
                return false;
            }
            values += below;
        }
        return true;
    }

    /// <summary>Applies the changes to <paramref name="hive"/> (the same hive, opened writable).</summary>
    public static void Apply(RegistryHive hive, IEnumerable<RegistryChange> changes)
    {
        foreach (RegistryChange c in changes)
        {
            switch (c.Operation)
            {
                case RegistryOperation.DeleteValue:
                    hive.OpenKey(c.Key)?.DeleteValue(c.ValueName);
                    break;
                case RegistryOperation.DeleteKey:
                    int cut = c.Key.LastIndexOf('\\');
                    RegistryKey? parent = cut < 0 ? hive.Root : hive.OpenKey(c.Key.Substring(0, cut));
                    parent?.DeleteSubkeyTree(c.Key.Substring(cut + 1));
                    break;
                default:
                    hive.Root.CreateSubkey(c.Key).SetValue(c.ValueName, c.Type, c.GetNewData());
                    break;
            }
        }
    }
}
