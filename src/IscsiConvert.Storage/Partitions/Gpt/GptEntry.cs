using System;
using System.Buffers.Binary;
using System.Text;

namespace IscsiConvert.Storage.Partitions.Gpt;

/// <summary>One GPT partition entry (the first 128 bytes of each slot of the entry array).</summary>
internal sealed class GptEntry
{
    public const int Size = 128;

    /// <summary>The name field holds 36 UTF-16 code units.</summary>
    public const int MaxNameChars = 36;

    private const int TypeGuidOffset = 0;
    private const int UniqueGuidOffset = 16;
    private const int FirstLbaOffset = 32;
    private const int LastLbaOffset = 40;
    private const int AttributesOffset = 48;
    private const int NameOffset = 56;
    private const int NameBytes = MaxNameChars * 2;

    public Guid TypeGuid { get; set; }

    public Guid UniqueGuid { get; set; }

    public long FirstLba { get; set; }

    public long LastLba { get; set; }

    public ulong Attributes { get; set; }

    public string Name { get; set; } = string.Empty;

    public bool IsUnused => TypeGuid == Guid.Empty;

    public static GptEntry ReadFrom(ReadOnlySpan<byte> source)
    {
        ReadOnlySpan<byte> name = source.Slice(NameOffset, NameBytes);
        int length = 0;
        while (length < NameBytes && (name[length] != 0 || name[length + 1] != 0))
        {
            length += 2;
        }
        return new GptEntry
        {
            TypeGuid = GuidBytes.Read(source.Slice(TypeGuidOffset)),
            UniqueGuid = GuidBytes.Read(source.Slice(UniqueGuidOffset)),
            FirstLba = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(FirstLbaOffset)),
            LastLba = BinaryPrimitives.ReadInt64LittleEndian(source.Slice(LastLbaOffset)),
            Attributes = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(AttributesOffset)),
            Name = Encoding.Unicode.GetString(name.Slice(0, length).ToArray()),
        };
    }

    public void WriteTo(Span<byte> destination)
    {
        destination.Slice(0, Size).Clear();
        GuidBytes.Write(TypeGuid, destination.Slice(TypeGuidOffset));
        GuidBytes.Write(UniqueGuid, destination.Slice(UniqueGuidOffset));
        BinaryPrimitives.WriteInt64LittleEndian(destination.Slice(FirstLbaOffset), FirstLba);
        BinaryPrimitives.WriteInt64LittleEndian(destination.Slice(LastLbaOffset), LastLba);
        BinaryPrimitives.WriteUInt64LittleEndian(destination.Slice(AttributesOffset), Attributes);
        byte[] name = Encoding.Unicode.GetBytes(Name);
        if (name.Length > NameBytes)
        {
            throw new ArgumentException($"A GPT partition name holds at most {MaxNameChars} UTF-16 code units.");
        }
        name.CopyTo(destination.Slice(NameOffset));
    }
}
