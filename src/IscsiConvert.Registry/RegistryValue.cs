using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace IscsiConvert.Registry;

/// <summary>A value as read from a hive: its name, type and raw data (a copy; changing it does not change the hive).</summary>
public sealed class RegistryValue
{
    private readonly byte[] _data;

    /// <summary>Creates a value.</summary>
    public RegistryValue(string name, RegistryValueType type, byte[] data)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Type = type;
        _data = data ?? throw new ArgumentNullException(nameof(data));
    }

    /// <summary>The name; empty for the key's default value.</summary>
    public string Name { get; }

    /// <summary>The data type (any number; unknown types are kept).</summary>
    public RegistryValueType Type { get; }

    /// <summary>The raw data.</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>A copy of the raw data.</summary>
    public byte[] GetBytes() => (byte[])_data.Clone();

    /// <summary>The data as a UTF-16LE string, cut at the first NUL.</summary>
    public string AsString()
    {
        string s = Encoding.Unicode.GetString(_data, 0, _data.Length & ~1);
        int nul = s.IndexOf('\0');
        return nul >= 0 ? s.Substring(0, nul) : s;
    }

    /// <summary>The data as REG_MULTI_SZ strings (empty strings at the end dropped).</summary>
    public IReadOnlyList<string> AsStrings()
    {
        string s = Encoding.Unicode.GetString(_data, 0, _data.Length & ~1);
        var parts = new List<string>(s.Split('\0'));
        while (parts.Count > 0 && parts[parts.Count - 1].Length == 0)
        {
            parts.RemoveAt(parts.Count - 1);
        }
        return parts;
    }

    /// <summary>The data as a 32-bit number (big-endian for <see cref="RegistryValueType.DWordBigEndian"/>).</summary>
    public uint AsDWord()
    {
        if (_data.Length < 4)
        {
            throw new InvalidOperationException($"Value '{Name}' has {_data.Length} bytes, a DWORD needs 4.");
        }
        return Type == RegistryValueType.DWordBigEndian
            ? BinaryPrimitives.ReadUInt32BigEndian(_data)
            : BinaryPrimitives.ReadUInt32LittleEndian(_data);
    }

    /// <summary>The data as a 64-bit little-endian number.</summary>
    public ulong AsQWord()
    {
        if (_data.Length < 8)
        {
            throw new InvalidOperationException($"Value '{Name}' has {_data.Length} bytes, a QWORD needs 8.");
        }
        return BinaryPrimitives.ReadUInt64LittleEndian(_data);
    }

    /// <summary>Encodes a string as REG_SZ data (UTF-16LE with a terminating NUL).</summary>
    public static byte[] EncodeString(string value) => Encoding.Unicode.GetBytes(value + "\0");

    /// <summary>Encodes strings as REG_MULTI_SZ data.</summary>
    public static byte[] EncodeMultiString(IEnumerable<string> values)
    {
        var sb = new StringBuilder();
        foreach (string v in values)
        {
            sb.Append(v).Append('\0');
        }
        sb.Append('\0');
        return Encoding.Unicode.GetBytes(sb.ToString());
    }

    /// <summary>Encodes a 32-bit number as REG_DWORD data.</summary>
    public static byte[] EncodeDWord(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    /// <summary>Encodes a 64-bit number as REG_QWORD data.</summary>
    public static byte[] EncodeQWord(ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return b;
    }
}
