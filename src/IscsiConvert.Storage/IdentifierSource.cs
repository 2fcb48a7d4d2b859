using System;
using System.Security.Cryptography;

namespace IscsiConvert.Storage;

/// <summary>Sources of new unique identifiers for images and partition tables.</summary>
public static class IdentifierSource
{
    /// <summary>A random (version 4) GUID from the system's cryptographic random number generator.</summary>
    public static Guid Random()
    {
        byte[] bytes = new byte[16];
        using (var rng = RandomNumberGenerator.Create())
        {
            rng.GetBytes(bytes);
        }
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 (byte 7 holds the high byte of Data3 in Guid's layout)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes);
    }

    /// <summary>A deterministic sequence of GUIDs derived from <paramref name="seed"/>, for tests and reproducible builds.</summary>
    public static Func<Guid> Sequential(int seed)
    {
        int counter = 0;
        return () =>
        {
            counter++;
            byte[] bytes = new byte[16];
            BitConverter.GetBytes(seed).CopyTo(bytes, 0);
            BitConverter.GetBytes(counter).CopyTo(bytes, 12);
            bytes[7] = 0x40;
            bytes[8] = 0x80;
            return new Guid(bytes);
        };
    }
}
