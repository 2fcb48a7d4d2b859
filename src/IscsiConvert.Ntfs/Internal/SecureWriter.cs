using System;
using System.Collections.Generic;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Adds a security descriptor to $Secure (MFT record 9) the way NTFS does: the entry (header and descriptor) is appended
/// to $SDS 16-byte aligned, in the current 256 KiB block or, when it would cross the block's end, at the start of the
/// next primary block; its copy goes 256 KiB further (every primary block is followed by its mirror). It gets the next
/// security id (the highest in $SII plus one) and an entry in $SII (by id) and $SDH (by hash, then id). Every write is
/// staged in the <see cref="VolumeWriter"/>; what this class remembers (next id, end of $SDS) is forgotten when the
/// staged state is dropped.
/// </summary>
internal sealed class SecureWriter
{
    public const long SecureRecord = 9;
    private const string SdsName = "$SDS";
    private const long BlockSize = 256 * 1024;
    private const int EntryAlignment = 16;

    // Windows and mkntfs number descriptors from 0x100.
    private const uint FirstSecurityId = 0x100;

    private readonly VolumeWriter _writer;
    private readonly DataEditor _data;
    private readonly DirectoryEditor _indexes;
    private uint _nextId;
    private long _end = -1;

    public SecureWriter(VolumeWriter writer, DataEditor data, DirectoryEditor indexes)
    {
        _writer = writer;
        _data = data;
        _indexes = indexes;
    }

    /// <summary>Whether the volume has $Secure with $SDS, $SII and $SDH (NTFS 3.0 and later).</summary>
    public bool IsAvailable
    {
        get
        {
            NtfsFile secure = _writer.Mft.GetFile(SecureRecord);
            return secure.Find(AttributeType.Data, SdsName) is { IsResident: false }
                && secure.Find(AttributeType.IndexRoot, ViewIndex.SecurityIds.Name) is not null
                && secure.Find(AttributeType.IndexRoot, ViewIndex.SecurityHashes.Name) is not null;
        }
    }

    /// <summary>Forgets the next id and the end of $SDS (the staged state they came from was dropped).</summary>
    public void Forget() => _end = -1;

    /// <summary>Stores <paramref name="descriptor"/> (self-relative) as a new shared descriptor; returns its security id.</summary>
    public uint Add(byte[] descriptor)
    {
        if (_end < 0)
        {
            Load();
        }
        int length = SecurityDescriptorHeader.Size + descriptor.Length;
        if (length > BlockSize)
        {
            throw new ArgumentException("A security descriptor cannot exceed a $SDS block.", nameof(descriptor));
        }
        long position = (_end + EntryAlignment - 1) & ~(long)(EntryAlignment - 1);
        long blockStart = position / (2 * BlockSize) * (2 * BlockSize);
        if (position - blockStart + length > BlockSize)
        {
            position = blockStart + (2 * BlockSize);
        }
        var header = new SecurityDescriptorHeader(SecurityDescriptorHeader.ComputeHash(descriptor), _nextId, position, length);
        // The entry is followed by zeros up to its 16-byte boundary and one zero header (within the block): readers
        // walking $SDS stop there instead of reading past the stream's end (ntfssecaudit's mirror audit does).
        long blockEnd = (position / BlockSize * BlockSize) + BlockSize;
        int written = (int)Math.Min(blockEnd - position, ((length + EntryAlignment - 1) & ~(EntryAlignment - 1)) + SecurityDescriptorHeader.Size);
        byte[] entry = new byte[written];
        header.WriteTo(entry);
        descriptor.CopyTo(entry, SecurityDescriptorHeader.Size);
        _data.Write(SecureRecord, SdsName, position, entry);
        _data.Write(SecureRecord, SdsName, position + BlockSize, entry);
        _indexes.InsertView(SecureRecord, ViewIndex.SecurityIds, header.ToSiiEntry());
        _indexes.InsertView(SecureRecord, ViewIndex.SecurityHashes, header.ToSdhEntry());
        _nextId++;
        _end = position + length;
        return header.SecurityId;
    }

    // The next id and the end of the last entry come from $SII (entries no index points to are unreachable; their
    // space is reused, as is the zero padding written after the last entry).
    private void Load()
    {
        IReadOnlyList<IndexEntry> entries = _indexes.EnumerateView(SecureRecord, ViewIndex.SecurityIds);
        uint maxId = FirstSecurityId - 1;
        long end = 0;
        foreach (IndexEntry e in entries)
        {
            if (e.KeyLength < 4 || e.Body.Length < e.KeyLength + SecurityDescriptorHeader.Size)
            {
                throw new CorruptDataException("NTFS", "MFT record 9 ($Secure) $SII", -1, $"an entry has a {e.KeyLength}-byte key and {e.Body.Length} bytes of body", _writer.FilePath);
            }
            SecurityDescriptorHeader h = SecurityDescriptorHeader.ReadFrom(e.Body.AsSpan(e.KeyLength));
            maxId = Math.Max(maxId, h.SecurityId);
            if (h.Offset >= 0 && h.Length > 0 && h.Offset <= long.MaxValue - h.Length)
            {
                end = Math.Max(end, h.Offset + h.Length);
            }
        }
        if (maxId == uint.MaxValue)
        {
            throw new UnsupportedFormatException("$Secure has used every security id; no descriptor can be added.", _writer.FilePath);
        }
        _nextId = maxId + 1;
        _end = end;
    }
}
