using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Shared;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Writes the metadata of a new volume laid out by <see cref="FormatLayout"/>: builds every system file's MFT record
/// from the encoders in <c>Format/</c>, then writes records, mirror, bitmaps, tables and the boot sectors.
/// </summary>
internal sealed class VolumeBuilder
{
    // MFT record numbers of the system files.
    private const int MftRecord = 0;
    private const int MftMirrRecord = 1;
    private const int LogFileRecord = 2;
    private const int VolumeRecord = 3;
    private const int AttrDefRecord = 4;
    private const int RootRecord = 5;
    private const int BitmapRecord = 6;
    private const int BootRecord = 7;
    private const int BadClusRecord = 8;
    private const int SecureRecord = 9;
    private const int UpCaseRecord = 10;
    private const int ExtendRecord = 11;
    private const int FirstReservedRecord = 12;
    private const int FirstUserRecord = 16;
    private const int QuotaRecord = 24;
    private const int ObjIdRecord = 25;
    private const int ReparseRecord = 26;

    // MFT record header flags.
    private const ushort InUse = FileRecord.FlagInUse;
    private const ushort Directory = FileRecord.FlagDirectory;
    private const ushort InExtend = 0x0004;
    private const ushort ViewIndex = 0x0008;

    // DOS file attributes of $STANDARD_INFORMATION and $FILE_NAME.
    private const uint Hidden = 0x0002;
    private const uint SystemAttribute = 0x0004;
    private const uint Archive = 0x0020;
    private const uint DupDirectory = 0x10000000;
    private const uint DupViewIndex = 0x20000000;

    // Security ids of the default descriptors, in the order they are stored in $SDS.
    private const uint MetadataFileSecurity = SecureStreams.FirstSecurityId;
    private const uint MetadataDirectorySecurity = SecureStreams.FirstSecurityId + 1;
    private const uint RootSecurity = SecureStreams.FirstSecurityId + 2;

    private const uint CollationBinary = 0x00;
    private const uint CollationSid = 0x11;
    private const uint CollationUInt32s = 0x13;
    private const ushort UpdateSequenceNumber = 1;

    // $Quota: owner id 1 holds the defaults, 0x100 is the first real owner; entries are version 2, 48 bytes before the SID.
    private const uint DefaultsOwnerId = 1;
    private const uint AdministratorsOwnerId = 0x100;
    private const uint QuotaVersion = 2;
    private const uint QuotaFlagDefaultLimits = 0x0001;
    private const int QuotaControlSize = 0x30;
    private const int WriteChunk = 1024 * 1024;

    private static readonly IReadOnlyList<byte[]> Descriptors = new[]
    {
        SecurityDescriptors.MetadataFile(),
        SecurityDescriptors.MetadataDirectory(),
        SecurityDescriptors.RootDirectory(),
    };

    private readonly Stream _volume;
    private readonly FormatLayout _layout;
    private readonly NtfsFormatOptions _options;
    private readonly ulong _serial;
    private readonly long _now;
    private readonly byte[] _upcaseBytes = UpCaseGenerator.Build();
    private readonly UpCaseTable _upcase;
    private readonly FileRecord?[] _records;
    private readonly (byte[] Sds, List<IndexEntry> Sii, List<IndexEntry> Sdh) _secure = SecureStreams.Build(Descriptors);

    public VolumeBuilder(Stream volume, FormatLayout layout, NtfsFormatOptions options, ulong serial)
    {
        _volume = volume;
        _layout = layout;
        _options = options;
        _serial = serial;
        _now = options.TimeProvider.GetUtcNow().ToFileTime();
        _upcase = new UpCaseTable(_upcaseBytes);
        _records = new FileRecord?[layout.MftRecords];
    }

    /// <summary>Bytes of $Secure:$SDS holding the default descriptors (the layout reserves room for it).</summary>
    public static long SdsBytes { get; } = SecureStreams.Build(Descriptors).Sds.Length;

    private long ClusterSize => _layout.ClusterSize;

    private int RecordSize => _layout.MftRecordSize;

    public void Write()
    {
        // Everything is encoded before the first byte is written, so that a structure that does not fit fails the
        // format with the volume untouched.
        BuildRecords();
        byte[] boot = BootRegion();
        byte[] mft = EncodeMft(_layout.MftRecords);
        byte[] mftBitmap = MftBitmap();
        byte[] mirror = mft.AsSpan(0, _layout.MirrorRecords * RecordSize).ToArray();
        byte[] attrDef = AttributeDefinitions.Encode();
        byte[] rootIndex = IndexRecord.Encode(FormatLayout.IndexRecordSize, 0, WithEnd(RootEntries()), UpdateSequenceNumber);
        (byte[] bitmapHead, long tailFirstByte, byte[] bitmapTail) = ClusterBitmap();

        WriteExtent(_layout.Boot, boot);
        WriteExtent(_layout.Mft, mft);
        WriteExtent(_layout.MftBitmap, mftBitmap);
        WriteExtent(_layout.Mirror, mirror);
        WriteExtent(_layout.AttrDef, attrDef);
        WriteExtent(_layout.RootIndex, rootIndex);
        WriteExtent(_layout.Bitmap, bitmapHead);
        _volume.WriteAt((_layout.Bitmap.Lcn * ClusterSize) + tailFirstByte, bitmapTail);
        WriteExtent(_layout.UpCase, _upcaseBytes);
        WriteExtent(_layout.Sds, _secure.Sds);
        WriteLogFile();

        // The backup boot sector: the last sector of the volume (after the sectors the boot sector counts).
        long backup = ((_volume.Length / _layout.BytesPerSector) - 1) * _layout.BytesPerSector;
        _volume.WriteAt(backup, BootSector());
        _volume.Flush();
    }

    private void BuildRecords()
    {
        FormatLayout l = _layout;
        long mftAllocated = l.Mft.Clusters * ClusterSize;
        long mftData = (long)l.MftRecords * RecordSize;
        Add(SystemFile(MftRecord, "$MFT", MetadataFileSecurity, mftAllocated, mftData)
            .With(NonResident(AttributeType.Data, string.Empty, l.Mft, mftData))
            .With(NonResident(AttributeType.Bitmap, string.Empty, l.MftBitmap, l.MftBitmapBytes)));
        long mirrorData = (long)l.MirrorRecords * RecordSize;
        Add(SystemFile(MftMirrRecord, "$MFTMirr", MetadataFileSecurity, l.Mirror.Clusters * ClusterSize, mirrorData)
            .With(NonResident(AttributeType.Data, string.Empty, l.Mirror, mirrorData)));
        Add(SystemFile(LogFileRecord, "$LogFile", MetadataFileSecurity, l.LogFileBytes, l.LogFileBytes)
            .With(NonResident(AttributeType.Data, string.Empty, l.LogFile, l.LogFileBytes)));
        Add(SystemFile(VolumeRecord, "$Volume", MetadataFileSecurity, 0, 0)
            .With(Resident(AttributeType.VolumeName, string.Empty, Utf16(_options.Label)))
            .With(Resident(AttributeType.VolumeInformation, string.Empty, VolumeInformation.Encode(3, 1, 0)))
            .With(Resident(AttributeType.Data, string.Empty, Array.Empty<byte>())));
        Add(SystemFile(AttrDefRecord, "$AttrDef", MetadataFileSecurity, l.AttrDef.Clusters * ClusterSize, FormatLayout.AttrDefBytes)
            .With(NonResident(AttributeType.Data, string.Empty, l.AttrDef, FormatLayout.AttrDefBytes)));
        Add(RootDirectory());
        Add(SystemFile(BitmapRecord, "$Bitmap", MetadataFileSecurity, l.Bitmap.Clusters * ClusterSize, l.BitmapBytes)
            .With(NonResident(AttributeType.Data, string.Empty, l.Bitmap, l.BitmapBytes)));
        Add(SystemFile(BootRecord, "$Boot", MetadataFileSecurity, l.Boot.Clusters * ClusterSize, FormatLayout.BootBytes)
            .With(NonResident(AttributeType.Data, string.Empty, l.Boot, FormatLayout.BootBytes)));

        // $BadClus:$Bad spans the whole volume as one hole; a bad cluster would become a real run in it.
        long volumeBytes = l.TotalClusters * ClusterSize;
        Add(SystemFile(BadClusRecord, "$BadClus", MetadataFileSecurity, 0, 0)
            .With(Resident(AttributeType.Data, string.Empty, Array.Empty<byte>()))
            .With(AttributeRecord.CreateNonResident(AttributeType.Data, "$Bad", 0, 0, new[] { new DataRun(0, -1, l.TotalClusters) }, volumeBytes, volumeBytes, 0)));
        Add(SecureFile());
        Add(SystemFile(UpCaseRecord, "$UpCase", MetadataFileSecurity, l.UpCase.Clusters * ClusterSize, FormatLayout.UpCaseBytes)
            .With(NonResident(AttributeType.Data, string.Empty, l.UpCase, FormatLayout.UpCaseBytes)));
        Add(ExtendDirectory());
        for (int r = FirstReservedRecord; r < FirstUserRecord; r++)
        {
            // Reserved for future system files: in use, nameless, empty.
            var reserved = new RecordDraft(r, (ushort)r, InUse, 0);
            reserved.With(Resident(AttributeType.StandardInformation, string.Empty, StandardInformation(Hidden | SystemAttribute, MetadataFileSecurity)));
            reserved.With(Resident(AttributeType.Data, string.Empty, Array.Empty<byte>()));
            Add(reserved);
        }
        // Attribute ids as Windows numbers them: $Q 2, $O 3 (stored in name order: $O first).
        Add(ExtendFile(QuotaRecord, "$Quota", ("$Q", SecureStreams.CollationUInt32, QuotaEntries()), ("$O", CollationSid, QuotaOwners())));
        Add(ExtendFile(ObjIdRecord, "$ObjId", ("$O", CollationUInt32s, Array.Empty<IndexEntry>())));
        Add(ExtendFile(ReparseRecord, "$Reparse", ("$R", CollationUInt32s, Array.Empty<IndexEntry>())));
        for (int r = 0; r < _records.Length; r++)
        {
            _records[r] ??= FileRecord.Create(r, r < FirstUserRecord ? (ushort)r : (ushort)1, 0);
        }
    }

    private RecordDraft RootDirectory()
    {
        RecordDraft root = SystemFile(RootRecord, ".", RootSecurity, 0, 0, InUse | Directory, Hidden | SystemAttribute, DupDirectory);
        root.With(Resident(AttributeType.IndexRoot, "$I30", IndexRoot.Encode(AttributeType.FileName, IndexRoot.CollationFileName,
            FormatLayout.IndexRecordSize, ClustersPerIndexRecord(), new[] { IndexEntry.Last(0) })));
        root.With(NonResident(AttributeType.IndexAllocation, "$I30", _layout.RootIndex, FormatLayout.IndexRecordSize));
        root.With(Resident(AttributeType.Bitmap, "$I30", new byte[] { 0x01, 0, 0, 0, 0, 0, 0, 0 }));
        return root;
    }

    private RecordDraft SecureFile()
    {
        RecordDraft secure = SystemFile(SecureRecord, "$Secure", MetadataDirectorySecurity, 0, 0, InUse | ViewIndex, Hidden | SystemAttribute, DupViewIndex);
        long sds = _secure.Sds.Length;
        secure.With(NonResident(AttributeType.Data, "$SDS", _layout.Sds, sds));
        secure.With(ViewRoot("$SDH", SecureStreams.CollationSecurityHash, _secure.Sdh));
        secure.With(ViewRoot("$SII", SecureStreams.CollationUInt32, _secure.Sii));
        return secure;
    }

    private RecordDraft ExtendDirectory()
    {
        RecordDraft extend = SystemFile(ExtendRecord, "$Extend", MetadataDirectorySecurity, 0, 0, InUse | Directory, Hidden | SystemAttribute, DupDirectory);
        var entries = new List<(string Name, IndexEntry Entry)>();
        foreach ((int record, string name) in new[] { (QuotaRecord, "$Quota"), (ObjIdRecord, "$ObjId"), (ReparseRecord, "$Reparse") })
        {
            byte[] fileName = FileName(Reference(ExtendRecord), name, 0, 0, Hidden | SystemAttribute | DupViewIndex);
            entries.Add((name, IndexEntry.ForFileName(Reference(record), fileName)));
        }
        extend.With(Resident(AttributeType.IndexRoot, "$I30", IndexRoot.Encode(AttributeType.FileName, IndexRoot.CollationFileName,
            FormatLayout.IndexRecordSize, ClustersPerIndexRecord(), WithEnd(Sorted(entries)))));
        return extend;
    }

    // $Quota:$O maps owner SIDs to owner ids: Administrators own id 0x100, the first one handed out.
    private static IndexEntry[] QuotaOwners()
    {
        byte[] sid = SecurityDescriptors.EncodeSid(SecurityDescriptors.Administrators);

        // The owner id, then 4 padding bytes that Windows fills with 0x20 (seen on every Windows-formatted volume).
        byte[] data = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(data, AdministratorsOwnerId);
        data[4] = 0x20;
        IndexEntry entry = IndexEntry.ForView(sid, data);
        return new[] { new IndexEntry { Reference = (entry.Reference & 0xFFFF) | (4UL << 16), Body = entry.Body, KeyLength = entry.KeyLength } };
    }

    // $Quota:$Q holds a quota control entry per owner id: id 1 carries the volume's default limits (none), id 0x100
    // is Administrators' (with its SID). Quotas stay disabled; these are the entries Windows creates with the volume.
    private IndexEntry[] QuotaEntries() => new[]
    {
        IndexEntry.ForView(UInt32Key(DefaultsOwnerId), QuotaControl(Array.Empty<byte>())),
        IndexEntry.ForView(UInt32Key(AdministratorsOwnerId), QuotaControl(SecurityDescriptors.EncodeSid(SecurityDescriptors.Administrators))),
    };

    // QUOTA_CONTROL_ENTRY: version, flags, bytes used, change time, warning and hard limits (-1: none), exceeded time, SID.
    private byte[] QuotaControl(byte[] sid)
    {
        byte[] entry = new byte[QuotaControlSize + sid.Length];
        Span<byte> e = entry;
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(0x00), QuotaVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(0x04), QuotaFlagDefaultLimits);
        BinaryPrimitives.WriteInt64LittleEndian(e.Slice(0x10), _now);
        BinaryPrimitives.WriteInt64LittleEndian(e.Slice(0x18), -1);
        BinaryPrimitives.WriteInt64LittleEndian(e.Slice(0x20), -1);
        sid.CopyTo(e.Slice(QuotaControlSize));
        return entry;
    }

    private static byte[] UInt32Key(uint value)
    {
        byte[] key = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, value);
        return key;
    }

    private RecordDraft ExtendFile(int record, string name, params (string Index, uint Collation, IndexEntry[] Entries)[] indexes)
    {
        var file = new RecordDraft(record, 1, InUse | InExtend | ViewIndex, 1);
        file.With(Resident(AttributeType.StandardInformation, string.Empty, StandardInformation(Hidden | SystemAttribute, MetadataDirectorySecurity)));
        file.With(Resident(AttributeType.FileName, string.Empty, FileName(Reference(ExtendRecord), name, 0, 0, Hidden | SystemAttribute | DupViewIndex),
            AttributeRecord.ResidentFlagIndexed));
        foreach ((string index, uint collation, IndexEntry[] entries) in indexes)
        {
            file.With(ViewRoot(index, collation, entries));
        }
        return file;
    }

    private AttributeRecord ViewRoot(string name, uint collation, IReadOnlyList<IndexEntry> entries) =>
        Resident(AttributeType.IndexRoot, name, IndexRoot.Encode(CollationBinary, collation, FormatLayout.IndexRecordSize, ClustersPerIndexRecord(), WithEnd(entries)));

    // The root's entries: every system file it holds, itself (".") included, in $UpCase order.
    private List<IndexEntry> RootEntries()
    {
        var entries = new List<(string Name, IndexEntry Entry)>();
        for (int r = 0; r <= ExtendRecord; r++)
        {
            FileRecord record = _records[r]!;
            byte[] fileName = record.Attributes.First(a => a.Type == AttributeType.FileName).Value;
            entries.Add((FileNameAttribute.TryReadFrom(fileName)!.Name, IndexEntry.ForFileName(Reference(r), fileName)));
        }
        return Sorted(entries);
    }

    private List<IndexEntry> Sorted(List<(string Name, IndexEntry Entry)> entries)
    {
        entries.Sort((a, b) => _upcase.Compare(a.Name, b.Name));
        return entries.Select(e => e.Entry).ToList();
    }

    private static List<IndexEntry> WithEnd(IReadOnlyList<IndexEntry> entries)
    {
        var all = new List<IndexEntry>(entries) { IndexEntry.Last() };
        return all;
    }

    private sbyte ClustersPerIndexRecord() => IndexRoot.ClustersPerIndexRecord(FormatLayout.IndexRecordSize, ClusterSize);

    private RecordDraft SystemFile(int record, string name, uint securityId, long allocatedSize, long dataSize,
        ushort flags = InUse, uint attributes = Hidden | SystemAttribute, uint nameFlags = 0)
    {
        var draft = new RecordDraft(record, record == MftRecord ? (ushort)1 : (ushort)record, flags, 1);
        draft.With(Resident(AttributeType.StandardInformation, string.Empty, StandardInformation(attributes, securityId)));
        draft.With(Resident(AttributeType.FileName, string.Empty, FileName(Reference(RootRecord), name, allocatedSize, dataSize, attributes | nameFlags),
            AttributeRecord.ResidentFlagIndexed));
        return draft;
    }

    private byte[] StandardInformation(uint attributes, uint securityId) =>
        Format.StandardInformation.Encode(_now, _now, _now, _now, attributes, securityId);

    private byte[] FileName(ulong parent, string name, long allocatedSize, long dataSize, uint attributes) =>
        FileNameAttribute.Encode(parent, name, FileNameAttribute.NamespaceWin32AndDos, _now, _now, _now, _now, allocatedSize, dataSize, attributes);

    // A file's reference: record number and sequence number (system records keep their number as sequence; $MFT 1).
    private static ulong Reference(int record)
    {
        ulong sequence = record == MftRecord || record >= FirstUserRecord ? 1UL : (ulong)record;
        return (uint)record | (sequence << 48);
    }

    private static AttributeRecord Resident(uint type, string name, byte[] value, byte flags = 0) =>
        AttributeRecord.CreateResident(type, name, 0, value, flags);

    private AttributeRecord NonResident(uint type, string name, FormatLayout.Extent extent, long dataSize) =>
        AttributeRecord.CreateNonResident(type, name, 0, 0, new[] { new DataRun(0, extent.Lcn, extent.Clusters) },
            extent.Clusters * ClusterSize, dataSize, dataSize);

    private void Add(RecordDraft draft) => _records[draft.Number] = draft.Build();

    private byte[] EncodeMft(int records)
    {
        byte[] data = new byte[(long)records * RecordSize];
        for (int r = 0; r < records; r++)
        {
            _records[r]!.Encode(RecordSize, UpdateSequenceNumber).CopyTo(data, (long)r * RecordSize);
        }
        return data;
    }

    private byte[] MftBitmap()
    {
        byte[] bitmap = new byte[_layout.MftBitmapBytes];
        for (int r = 0; r < _records.Length; r++)
        {
            if (_records[r]!.InUse)
            {
                bitmap[r / 8] |= (byte)(1 << (r % 8));
            }
        }
        return bitmap;
    }

    // Clusters the metadata uses are set; so are the bits past the last cluster, which no cluster can ever take. Only
    // the head (the metadata's bits) and the tail (the last word) are built: in between, a large volume's bitmap is
    // zeros, written by WriteExtent without holding it in memory.
    private (byte[] Head, long TailOffset, byte[] Tail) ClusterBitmap()
    {
        byte[] head = new byte[(_layout.UsedClusters + 7) / 8];
        SetBits(head, 0, _layout.UsedClusters);
        SetBits(head, _layout.TotalClusters, Math.Max(0, (head.LongLength * 8) - _layout.TotalClusters));
        long tailOffset = Math.Max(head.Length, (_layout.TotalClusters / 8) & ~7L);
        byte[] tail = new byte[_layout.BitmapBytes - tailOffset];
        for (long bit = tailOffset * 8; bit < _layout.BitmapBytes * 8; bit++)
        {
            if (bit >= _layout.TotalClusters || bit < _layout.UsedClusters)
            {
                tail[(bit / 8) - tailOffset] |= (byte)(1 << (int)(bit % 8));
            }
        }
        return (head, tailOffset, tail);
    }

    private static void SetBits(byte[] bitmap, long first, long count)
    {
        for (long c = first; c < first + count; c++)
        {
            bitmap[c / 8] |= (byte)(1 << (int)(c % 8));
        }
    }

    private byte[] BootSector()
    {
        byte[] sector = new byte[_layout.BytesPerSector];
        NtfsBootSector.Encode(_layout.BytesPerSector, ClusterSize, _layout.TotalSectors, _layout.Mft.Lcn, _layout.Mirror.Lcn,
            RecordSize, FormatLayout.IndexRecordSize, _serial, (uint)_options.HiddenSectors).CopyTo(sector, 0);
        return sector;
    }

    private byte[] BootRegion()
    {
        byte[] region = new byte[FormatLayout.BootBytes];
        BootSector().CopyTo(region, 0);
        return region;
    }

    // Writes data at the extent and zeros to its end, so that nothing of an earlier file system is left in it.
    private void WriteExtent(FormatLayout.Extent extent, byte[] data)
    {
        long start = extent.Lcn * ClusterSize;
        long length = extent.Clusters * ClusterSize;
        _volume.WriteAt(start, data);
        Fill(start + data.Length, length - data.Length, 0);
    }

    // An empty log: all 0xFF, which NTFS takes as a log that was never used and initialises on the first mount.
    private void WriteLogFile() => Fill(_layout.LogFile.Lcn * ClusterSize, _layout.LogFile.Clusters * ClusterSize, 0xFF);

    private void Fill(long start, long length, byte value)
    {
        byte[] chunk = new byte[(int)Math.Min(WriteChunk, Math.Max(0, length))];
        if (value != 0)
        {
            chunk.AsSpan().Fill(value);
        }
        for (long done = 0; done < length; done += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, length - done);
            _volume.WriteAt(start + done, chunk.AsSpan(0, n));
        }
    }

    private static byte[] Utf16(string text)
    {
        byte[] bytes = new byte[text.Length * 2];
        for (int i = 0; i < text.Length; i++)
        {
            bytes[2 * i] = (byte)text[i];
            bytes[(2 * i) + 1] = (byte)(text[i] >> 8);
        }
        return bytes;
    }

    /// <summary>An MFT record being assembled: attributes get ids in the order added and are stored by type, then name.</summary>
    private sealed class RecordDraft
    {
        private readonly List<AttributeRecord> _attributes = new();
        private readonly ushort _sequence;
        private readonly ushort _flags;
        private readonly ushort _links;

        public RecordDraft(int number, ushort sequence, ushort flags, ushort links)
        {
            Number = number;
            _sequence = sequence;
            _flags = flags;
            _links = links;
        }

        public int Number { get; }

        public RecordDraft With(AttributeRecord attribute)
        {
            _attributes.Add(attribute.WithId((ushort)_attributes.Count));
            return this;
        }

        public FileRecord Build()
        {
            FileRecord record = FileRecord.Create(Number, _sequence, _flags);
            record.LinkCount = _links;
            record.Attributes.AddRange(_attributes.OrderBy(a => a.Type).ThenBy(a => a.Name, StringComparer.Ordinal));
            record.NextAttributeId = (ushort)_attributes.Count;
            return record;
        }
    }
}
