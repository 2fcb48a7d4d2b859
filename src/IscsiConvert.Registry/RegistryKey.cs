using System;
using System.Collections.Generic;
using IscsiConvert.Registry.Format;

namespace IscsiConvert.Registry;

/// <summary>
/// A key of an open hive. A key object stays valid until the key is renamed or deleted (<see cref="Rename"/> returns
/// the key's new object).
/// </summary>
public sealed class RegistryKey
{
    private readonly RegistryHive _hive;

    internal RegistryKey(RegistryHive hive, int cell, int parentCell, string path, string name)
    {
        _hive = hive;
        Cell = cell;
        ParentCell = parentCell;
        Path = path;
        Name = name;
    }

    internal int Cell { get; }

    internal int ParentCell { get; }

    /// <summary>The key's name (empty for the root key).</summary>
    public string Name { get; }

    /// <summary>The path from the root, backslash-separated, without a leading backslash ("" for the root).</summary>
    public string Path { get; }

    /// <summary>The hive the key belongs to.</summary>
    public RegistryHive Hive => _hive;

    /// <summary>The class name, if any.</summary>
    public string? ClassName => _hive.Cells.KeyClassName(Cell);

    /// <summary>The time the key was last written.</summary>
    public DateTimeOffset LastWriteTime
    {
        get
        {
            long ft = _hive.Cells.KeyLastWrite(Cell);
            return ft > 0 && ft < DateTime.MaxValue.ToFileTimeUtc() ? new DateTimeOffset(DateTime.FromFileTimeUtc(ft)) : default;
        }
    }

    /// <summary>The number of subkeys.</summary>
    public int SubkeyCount => _hive.Cells.SubkeyCount(Cell);

    /// <summary>The number of values.</summary>
    public int ValueCount => _hive.Cells.ValueCount(Cell);

    /// <summary>The subkeys, in the hive's (sorted) order.</summary>
    public IReadOnlyList<RegistryKey> GetSubkeys()
    {
        var result = new List<RegistryKey>();
        foreach (int child in _hive.Cells.SubkeyOffsets(Cell))
        {
            string name = _hive.Cells.KeyName(child);
            result.Add(new RegistryKey(_hive, child, Cell, Combine(Path, name), name));
        }
        return result;
    }

    /// <summary>The names of the subkeys.</summary>
    public IReadOnlyList<string> GetSubkeyNames()
    {
        var result = new List<string>();
        foreach (int child in _hive.Cells.SubkeyOffsets(Cell))
        {
            result.Add(_hive.Cells.KeyName(child));
        }
        return result;
    }

    /// <summary>Opens a key below this one by a relative path (case-insensitive), or returns null.</summary>
    public RegistryKey? OpenSubkey(string relativePath)
    {
        RegistryKey current = this;
        foreach (string part in SplitPath(relativePath))
        {
            int child = _hive.Editor.FindSubkey(current.Cell, part);
            if (child < 0)
            {
                return null;
            }
            string name = _hive.Cells.KeyName(child);
            current = new RegistryKey(_hive, child, current.Cell, Combine(current.Path, name), name);
        }
        return current;
    }

    /// <summary>Opens or creates a key below this one, creating missing keys along the path.</summary>
    public RegistryKey CreateSubkey(string relativePath)
    {
        _hive.EnsureWritable();
        RegistryKey current = this;
        foreach (string part in SplitPath(relativePath))
        {
            RegistryKey? next = current.OpenSubkey(part);
            if (next is null)
            {
                int cell = _hive.Editor.CreateSubkey(current.Cell, part);
                next = new RegistryKey(_hive, cell, current.Cell, Combine(current.Path, part), part);
                _hive.MarkModified();
            }
            current = next;
        }
        return current;
    }

    /// <summary>Deletes a subkey and everything below it; returns false when there is no such subkey.</summary>
    public bool DeleteSubkeyTree(string name)
    {
        _hive.EnsureWritable();
        int child = _hive.Editor.FindSubkey(Cell, name);
        if (child < 0)
        {
            return false;
        }
        _hive.Editor.DeleteTree(Cell, child);
        _hive.MarkModified();
        return true;
    }

    /// <summary>Renames this key; returns the object that stands for it from now on.</summary>
    public RegistryKey Rename(string newName)
    {
        _hive.EnsureWritable();
        if (ParentCell < 0)
        {
            throw new InvalidOperationException("The root key cannot be renamed.");
        }
        int cell = _hive.Editor.Rename(ParentCell, Cell, newName);
        _hive.MarkModified();
        int cut = Path.LastIndexOf('\\');
        string parentPath = cut < 0 ? string.Empty : Path.Substring(0, cut);
        return new RegistryKey(_hive, cell, ParentCell, Combine(parentPath, newName), newName);
    }

    /// <summary>The names of the values, in the hive's order.</summary>
    public IReadOnlyList<string> GetValueNames()
    {
        var result = new List<string>();
        foreach (int vk in _hive.Cells.ValueOffsets(Cell))
        {
            result.Add(_hive.Cells.ValueName(vk));
        }
        return result;
    }

    /// <summary>The values, in the hive's order.</summary>
    public IReadOnlyList<RegistryValue> GetValues()
    {
        var result = new List<RegistryValue>();
        foreach (int vk in _hive.Cells.ValueOffsets(Cell))
        {
            result.Add(new RegistryValue(_hive.Cells.ValueName(vk), (RegistryValueType)_hive.Cells.ValueType(vk), _hive.Cells.ValueData(vk)));
        }
        return result;
    }

    /// <summary>A value by name (case-insensitive; "" is the default value), or null.</summary>
    public RegistryValue? GetValue(string name)
    {
        int vk = _hive.Editor.FindValue(Cell, name);
        return vk < 0 ? null : new RegistryValue(_hive.Cells.ValueName(vk), (RegistryValueType)_hive.Cells.ValueType(vk), _hive.Cells.ValueData(vk));
    }

    /// <summary>
    /// Creates or replaces a value. Returns false, and changes nothing (the hive stays unmodified, the key's last-write
    /// time stays), when the value already has this type and data: a repeated edit is a no-op.
    /// </summary>
    public bool SetValue(string name, RegistryValueType type, byte[] data)
    {
        if (name is null)
        {
            throw new ArgumentNullException(nameof(name));
        }
        if (data is null)
        {
            throw new ArgumentNullException(nameof(data));
        }
        _hive.EnsureWritable();
        if (!_hive.Editor.SetValue(Cell, name, (uint)type, data))
        {
            return false;
        }
        _hive.MarkModified();
        return true;
    }

    /// <summary>Deletes a value; returns false when there is none by that name.</summary>
    public bool DeleteValue(string name)
    {
        _hive.EnsureWritable();
        bool done = _hive.Editor.DeleteValue(Cell, name);
        if (done)
        {
            _hive.MarkModified();
        }
        return done;
    }

    /// <inheritdoc />
    public override string ToString() => "\\" + Path;

    internal static string Combine(string parent, string name) => parent.Length == 0 ? name : parent + "\\" + name;

    internal static string[] SplitPath(string path)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        return path.Split(new[] { '\\' }, StringSplitOptions.RemoveEmptyEntries);
    }
}
