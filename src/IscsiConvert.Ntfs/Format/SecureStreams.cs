using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// The contents of $Secure (MFT record 9) for a set of descriptors: the $SDS stream (entries of hash, security id,
/// own offset and length, then the descriptor, 16-byte aligned, in a 256 KiB block followed by its mirror copy) and
/// the entries of its two indexes: $SII by security id and $SDH by hash then id. Sources: the Linux-NTFS
/// documentation ("File - $Secure") and libyal's NTFS document.
/// </summary>
internal static class SecureStreams
{
    public const int BlockSize = 256 * 1024;

    /// <summary>The first security id NTFS hands out.</summary>
    public const uint FirstSecurityId = 0x100;

    /// <summary>$SII collates its 32-bit keys as unsigned numbers.</summary>
    public const uint CollationUInt32 = 0x10;

    /// <summary>$SDH collates by hash, then security id.</summary>
    public const uint CollationSecurityHash = 0x12;

    /// <summary>
    /// Lays the descriptors (security ids from <see cref="FirstSecurityId"/> on) out in $SDS. The stream's length is
    /// the block and its mirror up to the end of the last entry, as Windows sizes it. Entry headers, the hash and the
    /// index entries come from <see cref="SecurityDescriptorHeader"/>, which the writer uses too.
    /// </summary>
    public static (byte[] Sds, List<IndexEntry> Sii, List<IndexEntry> Sdh) Build(IReadOnlyList<byte[]> descriptors)
    {
        var headers = new List<SecurityDescriptorHeader>();
        byte[] block = new byte[BlockSize];
        int pos = 0;
        int lastEnd = 0;
        for (int i = 0; i < descriptors.Count; i++)
        {
            byte[] sd = descriptors[i];
            int length = SecurityDescriptorHeader.Size + sd.Length;
            if (pos + length > BlockSize)
            {
                throw new ArgumentException("The descriptors do not fit one $SDS block.", nameof(descriptors));
            }
            var header = new SecurityDescriptorHeader(SecurityDescriptorHeader.ComputeHash(sd), FirstSecurityId + (uint)i, pos, length);
            header.WriteTo(block.AsSpan(pos));
            sd.CopyTo(block, pos + SecurityDescriptorHeader.Size);
            headers.Add(header);
            lastEnd = pos + length;
            pos += (length + 15) & ~15;
        }
        byte[] sds = new byte[BlockSize + lastEnd];
        block.AsSpan(0, lastEnd).CopyTo(sds);
        block.AsSpan(0, lastEnd).CopyTo(sds.AsSpan(BlockSize));

        var sii = new List<IndexEntry>();
        foreach (SecurityDescriptorHeader header in headers)
        {
            sii.Add(header.ToSiiEntry());
        }
        var sdh = new List<IndexEntry>();
        foreach (SecurityDescriptorHeader header in headers.OrderBy(h => h.Hash).ThenBy(h => h.SecurityId))
        {
            sdh.Add(header.ToSdhEntry());
        }
        return (sds, sii, sdh);
    }
}
