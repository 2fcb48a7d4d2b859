using System;

namespace IscsiConvert.Storage.Partitions;

/// <summary>GUIDs in the mixed-endian byte order that GPT uses (the same as <see cref="Guid.ToByteArray"/>).</summary>
internal static class GuidBytes
{
    public static Guid Read(ReadOnlySpan<byte> source)
    {
#if NET
        return new Guid(source.Slice(0, 16));
#else
        return new Guid(source.Slice(0, 16).ToArray());
#endif
    }

    public static void Write(Guid value, Span<byte> destination)
    {
#if NET
        if (!value.TryWriteBytes(destination))
        {
            throw new ArgumentException("A GUID needs 16 bytes.", nameof(destination));
        }
#else
        value.ToByteArray().CopyTo(destination);
#endif
    }
}
