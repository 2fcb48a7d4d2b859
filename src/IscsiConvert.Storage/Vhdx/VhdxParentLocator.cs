using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// The parent locator metadata item of a differencing disk: a locator type GUID and UTF-16LE key/value pairs
/// (parent_linkage, parent_linkage2, relative_path, volume_path, absolute_win32_path).
/// </summary>
internal sealed class VhdxParentLocator
{
    private const int LocatorTypeOffset = 0;
    private const int KeyValueCountOffset = 18;
    private const int EntriesOffset = 20;
    private const int EntrySize = 12;

    public const string ParentLinkage = "parent_linkage";
    public const string ParentLinkage2 = "parent_linkage2";
    public const string RelativePath = "relative_path";
    public const string VolumePath = "volume_path";
    public const string AbsoluteWin32Path = "absolute_win32_path";

    public VhdxParentLocator(Guid locatorType, IReadOnlyDictionary<string, string> entries)
    {
        LocatorType = locatorType;
        Entries = entries;
    }

    public Guid LocatorType { get; }

    public IReadOnlyDictionary<string, string> Entries { get; }

    public string? this[string key] => Entries.TryGetValue(key, out string? v) ? v : null;

    /// <summary>Parses the item; <paramref name="fileOffset"/> is where it lies in the file (for messages).</summary>
    public static VhdxParentLocator ReadFrom(ReadOnlySpan<byte> item, long fileOffset, string? path)
    {
        if (item.Length < EntriesOffset)
        {
            throw new CorruptDataException(VhdxFormat.Name, "parent locator", fileOffset, $"the item is {item.Length} bytes, less than its {EntriesOffset}-byte header", path);
        }
        Guid type = VhdxFormat.ReadGuid(item.Slice(LocatorTypeOffset));
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(item.Slice(KeyValueCountOffset));
        if ((long)EntriesOffset + (long)count * EntrySize > item.Length)
        {
            throw new CorruptDataException(VhdxFormat.Name, "parent locator", fileOffset, $"{count} key/value entries do not fit in the {item.Length}-byte item", path);
        }
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> e = item.Slice(EntriesOffset + i * EntrySize);
            uint keyOffset = BinaryPrimitives.ReadUInt32LittleEndian(e);
            uint valueOffset = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(4));
            ushort keyLength = BinaryPrimitives.ReadUInt16LittleEndian(e.Slice(8));
            ushort valueLength = BinaryPrimitives.ReadUInt16LittleEndian(e.Slice(10));
            if ((long)keyOffset + keyLength > item.Length || (long)valueOffset + valueLength > item.Length || keyLength == 0)
            {
                throw new CorruptDataException(VhdxFormat.Name, $"parent locator entry {i}", fileOffset + EntriesOffset + i * EntrySize,
                    $"key (0x{keyOffset:X}, {keyLength} bytes) or value (0x{valueOffset:X}, {valueLength} bytes) lies outside the {item.Length}-byte item", path);
            }
            string key = Encoding.Unicode.GetString(item.Slice((int)keyOffset, keyLength).ToArray());
            string value = Encoding.Unicode.GetString(item.Slice((int)valueOffset, valueLength).ToArray());
            entries[key] = value;
        }
        return new VhdxParentLocator(type, entries);
    }

    /// <summary>Serialises the item: header, entry table, then the strings.</summary>
    public byte[] ToBytes()
    {
        var keys = new List<string>(Entries.Keys);
        int stringsStart = EntriesOffset + keys.Count * EntrySize;
        int total = stringsStart;
        foreach (string k in keys)
        {
            total += Encoding.Unicode.GetByteCount(k) + Encoding.Unicode.GetByteCount(Entries[k]);
        }
        byte[] bytes = new byte[total];
        VhdxFormat.WriteGuid(LocatorType, bytes.AsSpan(LocatorTypeOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(KeyValueCountOffset), (ushort)keys.Count);
        int at = stringsStart;
        for (int i = 0; i < keys.Count; i++)
        {
            byte[] key = Encoding.Unicode.GetBytes(keys[i]);
            byte[] value = Encoding.Unicode.GetBytes(Entries[keys[i]]);
            Span<byte> e = bytes.AsSpan(EntriesOffset + i * EntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)at);
            key.CopyTo(bytes, at);
            at += key.Length;
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(4), (uint)at);
            value.CopyTo(bytes, at);
            at += value.Length;
            BinaryPrimitives.WriteUInt16LittleEndian(e.Slice(8), (ushort)key.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(e.Slice(10), (ushort)value.Length);
        }
        return bytes;
    }
}
