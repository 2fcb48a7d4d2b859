using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// File-level edits: create files and directories (record, names, index entries in the parent, security id), delete
/// them (index entries, clusters, record), and keep the directory copy of a file's $FILE_NAME (sizes, times) in step
/// after its data changed.
/// </summary>
internal sealed class VolumeEditor
{
    private const uint FileAttributeArchive = 0x20;
    private const uint FileAttributeCompressed = 0x800;

    // $FILE_NAME's copy of the attributes marks directories with this bit (FILE_ATTRIBUTE_DIRECTORY lives only there).
    private const uint FileNameAttributeDirectory = 0x10000000;

    private readonly VolumeWriter _writer;
    private readonly DirectoryEditor _directories;
    private readonly DataEditor _data;
    private readonly UpCaseTable _upcase;
    private readonly SecurityAssigner _security;
    private readonly TimeProvider _time;
    private readonly NtfsBootSector _boot;

    // Whether each directory keeps 8.3 names, from a scan of all its entries. Without this every create scanned the
    // whole parent directory (quadratic: 26,000 files into one directory took 5.5 minutes, three quarters of it here).
    // Our creations never change the answer (they add short names exactly where the directory has them), so it is
    // kept until entries are removed or edits are undone, either of which could change it.
    private readonly Dictionary<long, bool> _keepsShortNames = new();

    public VolumeEditor(VolumeWriter writer, UpCaseTable upcase, SecurityAssigner security, TimeProvider time, NtfsBootSector boot)
    {
        _writer = writer;
        _upcase = upcase;
        _security = security;
        _time = time;
        _boot = boot;
        _directories = new DirectoryEditor(writer, upcase);
        _data = new DataEditor(writer);
        writer.StagedStateDropped += _keepsShortNames.Clear;
    }

    public DataEditor Data => _data;

    public DirectoryEditor Directories => _directories;

    private long Now => _time.GetUtcNow().UtcDateTime.ToFileTimeUtc();

    /// <summary>Creates an empty file or directory named <paramref name="name"/> in <paramref name="parent"/>.</summary>
    public long Create(NtfsFile parent, string name, bool directory, DirectoryIndex parentIndex, DirectoryIndex rootIndex)
    {
        ValidateName(name);
        long now = Now;
        FileRecord record = _writer.AllocateRecord(directory ? FileRecord.FlagDirectory : (ushort)0);
        ulong parentReference = Reference(parent.Record);
        ulong reference = ((ulong)record.SequenceNumber << 48) | (ulong)record.RecordNumber;
        uint attributes = directory ? 0 : FileAttributeArchive;
        uint nameAttributes = directory ? FileNameAttributeDirectory : FileAttributeArchive;

        // In a compressed folder new files and folders are compressed too (as Windows and ntfs-3g make them): the
        // attribute in $STANDARD_INFORMATION and the names, and a file's $DATA flagged so that it is stored LZNT1-compressed
        // once it leaves the record. NTFS compresses only with clusters of at most 4 KiB.
        bool compressed = (parent.StandardInformation?.FileAttributes & FileAttributeCompressed) != 0 && _boot.ClusterSize <= 4096;
        if (compressed)
        {
            attributes |= FileAttributeCompressed;
            nameAttributes |= FileAttributeCompressed;
        }

        (uint securityId, byte[]? privateDescriptor) = _security.ForNewChild(parent, directory);
        ushort id = 0;
        record.Attributes.Add(AttributeRecord.CreateResident(AttributeType.StandardInformation, string.Empty, id++,
            StandardInformation.Encode(now, now, now, now, attributes, securityId)));

        // Names: one Win32+DOS name when the name is itself a valid 8.3 name; a Win32 name and a generated DOS alias on
        // volumes that keep short names; else one POSIX-namespace name (Windows 8 and later make no short names on data volumes).
        var names = new List<(string Name, byte Namespace)>();
        bool keepsShortNames = KeepsShortNames(parent.RecordNumber, parentIndex) ?? UsesShortNames(rootIndex) ?? false;
        if (keepsShortNames && ShortNames.IsValidShortName(name))
        {
            names.Add((name, FileNameAttribute.NamespaceWin32AndDos));
        }
        else if (keepsShortNames)
        {
            // A name that is 8.3 but for its case ("readme.txt") gets its upper-case form as the short name.
            string upper = name.ToUpperInvariant();
            string shortName = ShortNames.IsValidShortName(upper) && parentIndex.Find(upper) is null ? upper : FreeShortName(name, parentIndex);
            names.Add((name, FileNameAttribute.NamespaceWin32));
            names.Add((shortName, FileNameAttribute.NamespaceDos));
        }
        else
        {
            // Without 8.3 names Windows 10 files its long names in the POSIX namespace (seen on the Windows-formatted
            // corpus volumes); a Win32 name without its DOS partner is something ntfs-3g cannot even delete.
            names.Add((name, FileNameAttribute.NamespacePosix));
        }
        var keys = new List<byte[]>();
        foreach ((string n, byte ns) in names)
        {
            byte[] value = FileNameAttribute.Encode(parentReference, n, ns, now, now, now, now, 0, 0, nameAttributes);
            keys.Add(value);
            record.Attributes.Add(AttributeRecord.CreateResident(AttributeType.FileName, string.Empty, id++, value, AttributeRecord.ResidentFlagIndexed));
        }
        if (privateDescriptor is not null)
        {
            record.Attributes.Add(AttributeRecord.CreateResident(AttributeType.SecurityDescriptor, string.Empty, id++, privateDescriptor));
        }
        if (directory)
        {
            byte[] root = IndexRoot.Encode(AttributeType.FileName, IndexRoot.CollationFileName, _boot.IndexRecordSize, IndexRoot.ClustersPerIndexRecord(_boot.IndexRecordSize, _boot.ClusterSize),
                new[] { IndexEntry.Last() });
            record.Attributes.Add(AttributeRecord.CreateResident(AttributeType.IndexRoot, "$I30", id++, root,
                flags: compressed ? AttributeRecord.FlagCompressed : (ushort)0));
        }
        else
        {
            record.Attributes.Add(AttributeRecord.CreateResident(AttributeType.Data, string.Empty, id++, Array.Empty<byte>(),
                flags: compressed ? AttributeRecord.FlagCompressed : (ushort)0));
        }
        record.NextAttributeId = id;
        record.LinkCount = (ushort)names.Count;
        _writer.WriteRecord(record);
        foreach (byte[] key in keys)
        {
            _directories.Insert(parent.RecordNumber, IndexEntry.ForFileName(reference, key));
        }
        TouchDirectory(parent.RecordNumber, now);
        return record.RecordNumber;
    }

    /// <summary>
    /// Deletes the link named <paramref name="name"/> in directory <paramref name="parent"/>: of a file with other hard
    /// links only that name goes (<see cref="RemoveLink"/>); a file's last link, or an empty directory, goes whole.
    /// </summary>
    public void Delete(NtfsFile file, DirectoryIndex? ownIndex, long parent, string name)
    {
        if (file.RecordNumber >= 24 && !file.Record.IsDirectory && file.FileNames.Count(n => n.Namespace != FileNameAttribute.NamespaceDos) > 1)
        {
            RemoveLink(file, parent, name);
            return;
        }
        Delete(file, ownIndex);
    }

    /// <summary>
    /// Removes one hard link of a file that has others: the $FILE_NAME of that name in that directory (with its DOS
    /// twin when the name is a Win32 name whose 8.3 alias no other Win32 name in the directory shares), the directory's
    /// index entries for them, and as many from the record's link count. The data and the other links stay.
    /// </summary>
    private void RemoveLink(NtfsFile file, long parent, string name)
    {
        _keepsShortNames.Clear();
        List<FileNameAttribute> names = file.FileNames.ToList();
        FileNameAttribute link = names.FirstOrDefault(n => n.ParentRecordNumber == parent && n.Namespace != FileNameAttribute.NamespaceDos && n.Name == name)
            ?? throw new CorruptDataException("NTFS", $"MFT record {file.RecordNumber}", -1, $"the file has no $FILE_NAME \"{name}\" in directory {parent}", _writer.FilePath);
        bool dropsAlias = link.Namespace == FileNameAttribute.NamespaceWin32 &&
            !names.Any(n => n != link && n.ParentRecordNumber == parent && n.Namespace == FileNameAttribute.NamespaceWin32);

        FileRecords records = FileRecords.Load(_writer, file.RecordNumber);
        var removedValues = new List<byte[]>();
        int removed = records.RemoveResident(a =>
        {
            bool goes = a.Type == AttributeType.FileName && FileNameAttribute.TryReadFrom(a.Value) is { } n && n.ParentRecordNumber == parent &&
                ((n.Namespace == link.Namespace && n.Name == link.Name) || (dropsAlias && n.Namespace == FileNameAttribute.NamespaceDos));
            if (goes)
            {
                removedValues.Add(a.Value);
            }
            return goes;
        });

        // Windows and ntfs-3g count every $FILE_NAME (a Win32 name and its DOS alias are two); a count that was kept per
        // link instead loses one.
        ushort count = records.Base.LinkCount;
        records.Base.LinkCount = count == names.Count ? (ushort)(count - removed) : (ushort)Math.Max(1, count - 1);
        records.Save();

        long now = Now;
        foreach (byte[] value in removedValues)
        {
            if (!_directories.Remove(parent, IndexEntry.ForFileName(0, value)))
            {
                throw new CorruptDataException("NTFS", $"MFT record {parent} $I30", -1,
                    $"the directory has no entry for \"{FileNameAttribute.TryReadFrom(value)!.Name}\" (MFT record {file.RecordNumber})", _writer.FilePath);
            }
        }
        TouchDirectory(parent, now);
    }

    /// <summary>Deletes a file or an empty directory: its names from their directories, its clusters, its records.</summary>
    public void Delete(NtfsFile file, DirectoryIndex? ownIndex)
    {
        if (file.RecordNumber < 24)
        {
            throw new IOException($"MFT record {file.RecordNumber} is an NTFS system file; it cannot be deleted.");
        }
        _keepsShortNames.Clear();
        if (file.Record.IsDirectory && ownIndex is not null && ownIndex.Enumerate().Any())
        {
            throw new IOException("The directory is not empty.");
        }
        List<FileNameAttribute> names = file.FileNames.ToList();
        if (names.Count(n => n.Namespace != FileNameAttribute.NamespaceDos) > 1)
        {
            throw new IOException("The directory has several names; NTFS directories have one.");
        }
        long now = Now;
        foreach (AttributeRecord a in file.FindAll(AttributeType.FileName))
        {
            FileNameAttribute name = FileNameAttribute.TryReadFrom(a.Value)!;
            if (!_directories.Remove(name.ParentRecordNumber, IndexEntry.ForFileName(0, a.Value)))
            {
                throw new CorruptDataException("NTFS", $"MFT record {name.ParentRecordNumber} $I30", -1,
                    $"the directory has no entry for \"{name.Name}\" (MFT record {file.RecordNumber})", _writer.FilePath);
            }
            TouchDirectory(name.ParentRecordNumber, now);
        }
        foreach (AttributeRecord a in file.Attributes.Where(a => !a.IsResident))
        {
            _writer.FreeRuns(a.Runs);
        }
        AttributeRecord? list = file.Record.Attributes.FirstOrDefault(a => a.Type == AttributeType.AttributeList);
        if (list is not null)
        {
            if (!list.IsResident)
            {
                _writer.FreeRuns(list.Runs);
            }

            // Every record the list names (an attribute in several extents lives in several of them).
            foreach (FileRecord extension in FileRecords.Load(_writer, file.RecordNumber).ExtensionRecords)
            {
                _writer.FreeRecord(extension);
            }
        }
        _writer.FreeRecord(_writer.ReadRecord(file.RecordNumber));
    }

    /// <summary>
    /// Refreshes a file's $FILE_NAME copies (in its record and in its directory's index) with its current data size,
    /// allocation and times, as Windows does when a handle that changed the file is closed.
    /// </summary>
    public void RefreshNames(long fileRecord)
    {
        long now = Now;
        NtfsFile file = _writer.Mft.GetFile(fileRecord);
        AttributeRecord? data = file.Find(AttributeType.Data);
        long size = data?.DataSize ?? 0;
        // A sparse or compressed file's names carry the clusters it stores (its compressed size), as Windows and ntfs-3g write them.
        long allocated = data is null || data.IsResident ? 0 : AttributeRecord.HasCompressedSize(data.Flags) ? data.CompressedSize : data.AllocatedSize;
        FileRecord record = _writer.ReadRecord(fileRecord);
        var updates = new List<(byte[] Value, long Parent)>();
        for (int i = 0; i < record.Attributes.Count; i++)
        {
            AttributeRecord a = record.Attributes[i];
            if (a.Type == AttributeType.StandardInformation && a.IsResident && a.Value.Length >= StandardInformation.MinimumSize)
            {
                record.Attributes[i] = WithModificationTimes(a, now);
            }
            else if (a.Type == AttributeType.FileName && a.IsResident && FileNameAttribute.TryReadFrom(a.Value) is { } fn)
            {
                byte[] value = FileNameAttribute.Encode(BinaryPrimitives.ReadUInt64LittleEndian(a.Value), fn.Name, fn.Namespace, fn.CreationTime, now, now, now,
                    allocated, size, fn.FileAttributes);
                record.Attributes[i] = AttributeRecord.CreateResident(a.Type, a.Name, a.Id, value, a.ResidentFlags);
                updates.Add((value, fn.ParentRecordNumber));
            }
        }
        _writer.WriteRecord(record);
        ulong reference = Reference(record);
        foreach ((byte[] value, long parent) in updates)
        {
            _directories.Update(parent, IndexEntry.ForFileName(reference, value));
        }
    }

    // A directory's modification and MFT-change times follow changes to its entries.
    private void TouchDirectory(long directory, long now)
    {
        FileRecord record = _writer.ReadRecord(directory);
        int i = record.Attributes.FindIndex(a => a.Type == AttributeType.StandardInformation && a.IsResident);
        if (i < 0 || record.Attributes[i].Value.Length < StandardInformation.MinimumSize)
        {
            return;
        }
        record.Attributes[i] = WithModificationTimes(record.Attributes[i], now);
        _writer.WriteRecord(record);
    }

    // $STANDARD_INFORMATION with its modification and MFT-change times set to now (creation and access kept).
    private static AttributeRecord WithModificationTimes(AttributeRecord standardInformation, long now)
    {
        byte[] value = (byte[])standardInformation.Value.Clone();
        StandardInformation.SetModificationTimes(value, now);
        return AttributeRecord.CreateResident(standardInformation.Type, standardInformation.Name, standardInformation.Id, value, standardInformation.ResidentFlags);
    }

    private bool? KeepsShortNames(long directory, DirectoryIndex index)
    {
        if (_keepsShortNames.TryGetValue(directory, out bool known))
        {
            return known;
        }
        bool? found = UsesShortNames(index);
        if (found is { } value)
        {
            _keepsShortNames[directory] = value;
        }
        return found;
    }

    // Short names are kept where the directory's entries have them (DOS or Win32+DOS names: Windows system volumes);
    // null when the directory is empty and cannot tell (the caller then asks the root directory).
    private static bool? UsesShortNames(DirectoryIndex index)
    {
        bool any = false;
        foreach (IndexEntry e in index.Enumerate())
        {
            if (e.Key!.Namespace is FileNameAttribute.NamespaceDos or FileNameAttribute.NamespaceWin32AndDos && !e.Key.Name.StartsWith("$", StringComparison.Ordinal) && e.Key.Name != ".")
            {
                return true;
            }
            any = true;
        }
        return any ? false : null;
    }

    private string FreeShortName(string name, DirectoryIndex parentIndex)
    {
        for (int n = 1; n < 1_000_000; n++)
        {
            string candidate = ShortNames.Make(name, n);
            if (parentIndex.Find(candidate) is null)
            {
                return candidate;
            }
        }
        throw new IOException($"No free 8.3 name is left for '{name}'.");
    }

    private static ulong Reference(FileRecord record) => ((ulong)record.SequenceNumber << 48) | (ulong)record.RecordNumber;

    private static readonly char[] InvalidNameChars = { '\\', '/', ':', '*', '?', '"', '<', '>', '|', '\0' };

    /// <summary>Throws for a name Windows would refuse.</summary>
    public static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 255 || name == "." || name == ".." || name.IndexOfAny(InvalidNameChars) >= 0 || name.Any(c => c < 0x20))
        {
            throw new ArgumentException($"'{name}' is not a valid NTFS file name (1 to 255 characters, none of \\ / : * ? \" < > | or control characters).", nameof(name));
        }
    }
}
