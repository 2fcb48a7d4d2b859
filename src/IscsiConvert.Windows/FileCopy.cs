using System;
using System.IO;
using System.Security.Cryptography;

namespace IscsiConvert.Windows;

/// <summary>
/// A file the plan writes onto the Windows volume, as data: the destination path on the volume, its size and SHA-256,
/// and where the bytes come from (a file of a supplied driver package on the host).
/// </summary>
public sealed record FileCopy(string Source, string Destination, long Size, string Sha256)
{
    /// <summary>Describes copying the host file <paramref name="source"/> to <paramref name="destination"/> (reads it once to hash it).</summary>
    public static FileCopy FromHostFile(string source, string destination)
    {
        if (source is null || destination is null)
        {
            throw new ArgumentNullException(source is null ? nameof(source) : nameof(destination));
        }
        using FileStream s = File.OpenRead(source);
        using var sha = SHA256.Create();
        string hash = ToHex(sha.ComputeHash(s));
        return new FileCopy(source, destination, s.Length, hash);
    }

    internal static string ToHex(byte[] hash)
    {
        var chars = new char[hash.Length * 2];
        for (int i = 0; i < hash.Length; i++)
        {
            chars[2 * i] = "0123456789abcdef"[hash[i] >> 4];
            chars[2 * i + 1] = "0123456789abcdef"[hash[i] & 0xF];
        }
        return new string(chars);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Destination} <- {Source} ({Size} bytes, sha256 {Sha256.Substring(0, Math.Min(16, Sha256.Length))}…)";
}
