using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// A VHDX image ([MS-VHDX]): fixed, dynamic or differencing. Opening validates every structure before using it, replays
/// a pending log (in memory when read-only, on disk when read-write), and opens the parent chain.
/// </summary>
public sealed class VhdxDisk : VirtualDisk
{
    /// <summary>Logs larger than this are not replayed (Hyper-V and qemu write 1 MiB logs); it bounds replay memory.</summary>
    internal const long MaxReplayLogLength = 64 * VhdxFormat.MiB;

    private readonly VhdxFile _file;
    private readonly VhdxContent _content;
    private readonly VirtualDisk? _parent;
    private readonly Func<Guid> _newIdentifier;
    private VhdxHeader _header;
    private long _headerSlot;
    private bool _writeSessionStarted;

    private VhdxDisk(string? path, DiskAccess access, VhdxFile file, VhdxHeader header, long headerSlot, VhdxMetadata metadata,
        VhdxContent content, VirtualDisk? parent, Func<Guid> newIdentifier)
        : base(path, access)
    {
        _file = file;
        _header = header;
        _headerSlot = headerSlot;
        Metadata = metadata;
        _content = content;
        _parent = parent;
        _newIdentifier = newIdentifier;
    }

    /// <inheritdoc/>
    public override DiskFormat Format => DiskFormat.Vhdx;

    /// <inheritdoc/>
    public override string Subformat => Metadata.HasParent ? "differencing" : Metadata.LeaveBlockAllocated ? "fixed" : "dynamic";

    /// <inheritdoc/>
    public override SparseStream Content => _content;

    /// <inheritdoc/>
    public override VirtualDisk? Parent => _parent;

    /// <inheritdoc/>
    public override int LogicalSectorSize => Metadata.LogicalSectorSize;

    /// <inheritdoc/>
    public override long StoredBytes => _content.StoredBytes;

    /// <summary>The identifier of the user-visible data; a differencing child records it as parent_linkage.</summary>
    internal Guid DataWriteGuid => _header.DataWriteGuid;

    internal VhdxHeader CurrentHeader => _header;

    internal VhdxMetadata Metadata { get; }

    /// <inheritdoc/>
    public override bool LogReplayedInMemory => _file.HasOverlay;

    private string? MissingParent { get; init; }

    /// <inheritdoc/>
    public override string? MissingParentPath => MissingParent;

    internal static VhdxDisk Open(string path, DiskAccess access, OpenContext context) =>
        Open(ImageFile.Open(path, access), path, access, context, IdentifierSource.Random, createdNow: false);

    /// <summary>Opens over any stream (tests wrap the file to simulate crashes). Takes ownership of <paramref name="stream"/>.</summary>
    internal static VhdxDisk Open(Stream stream, string? path, DiskAccess access, OpenContext context, Func<Guid> newIdentifier, bool createdNow)
    {
        var file = new VhdxFile(stream, path, access == DiskAccess.ReadWrite);
        VirtualDisk? parent = null;
        try
        {
            return OpenCore(file, path, access, context, newIdentifier, createdNow, ref parent);
        }
        catch
        {
            parent?.Dispose();
            file.Dispose();
            throw;
        }
    }

    private static VhdxDisk OpenCore(VhdxFile file, string? path, DiskAccess access, OpenContext context, Func<Guid> newIdentifier, bool createdNow, ref VirtualDisk? parent)
    {
        if (file.PhysicalLength < VhdxFormat.HeaderSectionSize)
        {
            throw new CorruptDataException(VhdxFormat.Name, "header section", 0,
                $"the file is {file.PhysicalLength} bytes, shorter than the {VhdxFormat.HeaderSectionSize}-byte header section; it is truncated", path);
        }
        byte[] buffer = new byte[VhdxRegionTable.Size];
        file.ReadExactly(0, buffer.AsSpan(0, VhdxFileIdentifier.Size), "file type identifier");
        VhdxFileIdentifier.ReadFrom(buffer, path);

        (VhdxHeader header, long slot) = ReadCurrentHeader(file, buffer);
        if (header.Version != VhdxHeader.CurrentVersion)
        {
            throw new UnsupportedFormatException($"VHDX header version {header.Version} is not supported (only version 1 is defined)", path);
        }
        long logOffset = header.LogOffset;
        long logLength = header.LogLength;
        if (logLength == 0 || logLength % VhdxFormat.MiB != 0 || logOffset < VhdxFormat.HeaderSectionSize || logOffset % VhdxFormat.MiB != 0
            || logOffset > file.PhysicalLength - logLength)
        {
            throw new CorruptDataException(VhdxFormat.Name, "current header (log location)", slot,
                $"log at 0x{logOffset:X} with length 0x{logLength:X} must be whole MiB after the header section and inside the {file.PhysicalLength}-byte file", path);
        }

        if (header.LogGuid != Guid.Empty)
        {
            header = ReplayLog(file, header, ref slot, access, context, newIdentifier);
        }

        VhdxRegionTable regions = ReadRegionTable(file, buffer);
        (VhdxRegionEntry bat, VhdxRegionEntry meta) = ValidateRegions(file, regions, logOffset, logLength);
        VhdxMetadata metadata = VhdxMetadata.Read(file, meta);
        var geometry = new VhdxBatGeometry(metadata.VirtualDiskSize, metadata.BlockSize, metadata.LogicalSectorSize, metadata.HasParent);
        if (geometry.ByteLength > bat.Length)
        {
            throw new CorruptDataException(VhdxFormat.Name, "BAT region", bat.FileOffset,
                $"the region is {bat.Length} bytes but {geometry.TotalEntries} entries need {geometry.ByteLength}", path);
        }
        ulong[] entries = ReadBat(file, bat, geometry);
        var reserved = new List<(long Start, long End, string What)>
        {
            (0, VhdxFormat.HeaderSectionSize, "the header section"),
            (logOffset, logOffset + logLength, "the log"),
            (bat.FileOffset, bat.End, "the BAT region"),
            (meta.FileOffset, meta.End, "the metadata region"),
        };
        long fileEnd = ValidateBat(file, entries, geometry, metadata, reserved);

        string? missingParent = null;
        if (metadata.HasParent && context.AllowMissingParent && access == DiskAccess.ReadOnly && path is not null)
        {
            // Reporting only: a parent that cannot be found leaves the child without one (reads of its blocks are zeros).
            var tried = new List<string>();
            VirtualDisk? found = DiskImage.TryOpenParent(path, ParentCandidates(metadata.ParentLocator!), context, tried);
            if (found is null)
            {
                // The absolute path first, as Hyper-V's Get-VHD shows ParentPath; the relative one when it is blank.
                missingParent = metadata.ParentLocator![VhdxParentLocator.AbsoluteWin32Path] is { Length: > 0 } absolute ? absolute
                    : metadata.ParentLocator[VhdxParentLocator.RelativePath] ?? string.Empty;
                context.Logger.LogWarning("The parent '{ParentPath}' of {ImagePath} was not found (tried: {Tried}); the image is reported without it",
                    missingParent, path, string.Join(", ", tried));
            }
            else
            {
                parent = found;
                CheckVhdxParent(path, metadata.ParentLocator!, metadata, parent);
            }
        }
        else if (metadata.HasParent)
        {
            parent = OpenVhdxParent(path, metadata.ParentLocator!, metadata, context);
        }
        var content = new VhdxContent(file, geometry, entries, bat.FileOffset, metadata, parent?.Content, fileEnd, access == DiskAccess.ReadWrite);
        var disk = new VhdxDisk(path, access, file, header, slot, metadata, content, parent, newIdentifier)
        {
            _writeSessionStarted = createdNow,
            MissingParent = missingParent,
        };
        content.BeforeFirstWrite = disk.StartWriteSession;
        return disk;
    }

    private static (VhdxHeader Header, long Slot) ReadCurrentHeader(VhdxFile file, byte[] buffer)
    {
        file.ReadExactly(VhdxFormat.Header1Offset, buffer.AsSpan(0, VhdxHeader.Size), "header 1");
        VhdxHeader? h1 = VhdxHeader.TryReadFrom(buffer, out string p1);
        file.ReadExactly(VhdxFormat.Header2Offset, buffer.AsSpan(0, VhdxHeader.Size), "header 2");
        VhdxHeader? h2 = VhdxHeader.TryReadFrom(buffer, out string p2);
        if (h1 is null && h2 is null)
        {
            throw new CorruptDataException(VhdxFormat.Name, "headers", VhdxFormat.Header1Offset,
                $"neither header is valid (header 1 at 0x10000: {p1}; header 2 at 0x20000: {p2})", file.Path);
        }
        if (h2 is null || (h1 is not null && h1.SequenceNumber >= h2.SequenceNumber))
        {
            return (h1!, VhdxFormat.Header1Offset);
        }
        return (h2, VhdxFormat.Header2Offset);
    }

    private static VhdxRegionTable ReadRegionTable(VhdxFile file, byte[] buffer)
    {
        file.ReadExactly(VhdxFormat.RegionTable1Offset, buffer, "region table 1");
        VhdxRegionTable? t = VhdxRegionTable.TryReadFrom(buffer, out string p1);
        if (t is not null)
        {
            return t;
        }
        file.ReadExactly(VhdxFormat.RegionTable2Offset, buffer, "region table 2");
        t = VhdxRegionTable.TryReadFrom(buffer, out string p2);
        if (t is not null)
        {
            return t;
        }
        throw new CorruptDataException(VhdxFormat.Name, "region tables", VhdxFormat.RegionTable1Offset,
            $"neither region table is valid (table 1 at 0x30000: {p1}; table 2 at 0x40000: {p2})", file.Path);
    }

    private static (VhdxRegionEntry Bat, VhdxRegionEntry Metadata) ValidateRegions(VhdxFile file, VhdxRegionTable table, long logOffset, long logLength)
    {
        VhdxRegionEntry? bat = null, meta = null;
        var spans = new List<(long Start, long End, string What)>
        {
            (0, VhdxFormat.HeaderSectionSize, "the header section"),
            (logOffset, logOffset + logLength, "the log"),
        };
        for (int i = 0; i < table.Entries.Count; i++)
        {
            VhdxRegionEntry e = table.Entries[i];
            long entryOffset = VhdxFormat.RegionTable1Offset + 16 + i * VhdxRegionEntry.Size;
            string structure = $"region table entry {i} ({e.Id})";
            if (e.Id == VhdxFormat.BatRegion || e.Id == VhdxFormat.MetadataRegion)
            {
                if ((e.Id == VhdxFormat.BatRegion ? bat : meta) is not null)
                {
                    throw new CorruptDataException(VhdxFormat.Name, structure, entryOffset, "the region is listed twice", file.Path);
                }
            }
            else if (e.Required)
            {
                throw new UnsupportedFormatException($"The VHDX region {e.Id} is marked required but is not known to this implementation", file.Path);
            }
            if (e.FileOffset < VhdxFormat.HeaderSectionSize || e.FileOffset % VhdxFormat.MiB != 0 || e.Length == 0 || e.Length % VhdxFormat.MiB != 0
                || e.FileOffset > file.Length - e.Length)
            {
                throw new CorruptDataException(VhdxFormat.Name, structure, entryOffset,
                    $"region at 0x{e.FileOffset:X} with length 0x{e.Length:X} must be whole MiB after the header section and inside the {file.Length}-byte file", file.Path);
            }
            foreach (var s in spans)
            {
                if (e.FileOffset < s.End && s.Start < e.End)
                {
                    throw new CorruptDataException(VhdxFormat.Name, structure, entryOffset,
                        $"region [0x{e.FileOffset:X}, 0x{e.End:X}) overlaps {s.What} [0x{s.Start:X}, 0x{s.End:X})", file.Path);
                }
            }
            spans.Add((e.FileOffset, e.End, $"region {i}"));
            if (e.Id == VhdxFormat.BatRegion)
            {
                bat = e;
            }
            else if (e.Id == VhdxFormat.MetadataRegion)
            {
                meta = e;
            }
        }
        if (bat is null || meta is null)
        {
            throw new CorruptDataException(VhdxFormat.Name, "region table", VhdxFormat.RegionTable1Offset,
                $"the required {(bat is null ? "BAT" : "metadata")} region is missing", file.Path);
        }
        return (bat, meta);
    }

    private static ulong[] ReadBat(VhdxFile file, VhdxRegionEntry bat, VhdxBatGeometry geometry)
    {
        // The region lies inside the file (checked above), so this allocation is bounded by the file's size.
        var entries = new ulong[geometry.TotalEntries];
        byte[] chunk = new byte[VhdxFormat.MiB];
        long done = 0;
        while (done < geometry.TotalEntries)
        {
            int count = (int)Math.Min(chunk.Length / 8, geometry.TotalEntries - done);
            file.ReadExactly(bat.FileOffset + done * 8, chunk.AsSpan(0, count * 8), "BAT");
            for (int i = 0; i < count; i++)
            {
                entries[done + i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(chunk.AsSpan(i * 8));
            }
            done += count;
        }
        return entries;
    }

    /// <summary>Checks every BAT entry's state and location; returns the end of the last used byte of the file.</summary>
    private static long ValidateBat(VhdxFile file, ulong[] entries, VhdxBatGeometry geometry, VhdxMetadata metadata, List<(long Start, long End, string What)> reserved)
    {
        long batOffset = reserved[2].Start;
        long end = 0;
        foreach (var r in reserved)
        {
            end = Math.Max(end, r.End);
        }
        var used = new List<(long Start, long End, long Index)>();
        for (long i = 0; i < entries.LongLength; i++)
        {
            ulong e = entries[i];
            int state = VhdxBatEntry.State(e);
            long offset = VhdxBatEntry.FileOffset(e);
            bool bitmap = geometry.IsBitmapIndex(i);
            string structure = bitmap ? $"BAT entry {i} (sector bitmap of chunk {i / (geometry.ChunkRatio + 1)})" : $"BAT entry {i} (payload block {i - i / (geometry.ChunkRatio + 1)})";
            long length;
            if (bitmap)
            {
                if (state != (int)SectorBitmapState.NotPresent && state != (int)SectorBitmapState.Present)
                {
                    throw new CorruptDataException(VhdxFormat.Name, structure, batOffset + i * 8, $"sector bitmap state {state} is not 0 (not present) or 6 (present)", file.Path);
                }
                if (state != (int)SectorBitmapState.Present || !metadata.HasParent)
                {
                    continue; // bitmaps of non-differencing disks are never read
                }
                length = VhdxFormat.SectorBitmapBlockSize;
            }
            else
            {
                bool valid = state is (int)PayloadBlockState.NotPresent or (int)PayloadBlockState.Undefined or (int)PayloadBlockState.Zero
                    or (int)PayloadBlockState.Unmapped or (int)PayloadBlockState.FullyPresent
                    || (state == (int)PayloadBlockState.PartiallyPresent && metadata.HasParent);
                if (!valid)
                {
                    throw new CorruptDataException(VhdxFormat.Name, structure, batOffset + i * 8,
                        $"payload block state {state} is not valid for a {(metadata.HasParent ? "differencing" : "non-differencing")} disk", file.Path);
                }
                if (state != (int)PayloadBlockState.FullyPresent && state != (int)PayloadBlockState.PartiallyPresent)
                {
                    continue;
                }
                long chunk = i / (geometry.ChunkRatio + 1);
                if (state == (int)PayloadBlockState.PartiallyPresent
                    && VhdxBatEntry.State(entries[geometry.BitmapIndex(chunk)]) != (int)SectorBitmapState.Present)
                {
                    throw new CorruptDataException(VhdxFormat.Name, structure, batOffset + i * 8,
                        $"the block is partially present but the sector bitmap block of chunk {chunk} is not present", file.Path);
                }
                length = geometry.BlockSize;
            }
            if (offset < VhdxFormat.HeaderSectionSize || offset > file.Length - Math.Min(length, VhdxFormat.MiB))
            {
                throw new CorruptDataException(VhdxFormat.Name, structure, batOffset + i * 8,
                    $"block at file offset 0x{offset:X} lies outside the {file.Length}-byte file", file.Path);
            }
            foreach (var r in reserved)
            {
                if (offset < r.End && r.Start < offset + length)
                {
                    throw new CorruptDataException(VhdxFormat.Name, structure, batOffset + i * 8,
                        $"block [0x{offset:X}, 0x{offset + length:X}) overlaps {r.What} [0x{r.Start:X}, 0x{r.End:X})", file.Path);
                }
            }
            used.Add((offset, offset + length, i));
            end = Math.Max(end, offset + length);
        }
        used.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int k = 1; k < used.Count; k++)
        {
            if (used[k].Start < used[k - 1].End)
            {
                throw new CorruptDataException(VhdxFormat.Name, $"BAT entry {used[k].Index}", batOffset + used[k].Index * 8,
                    $"block at 0x{used[k].Start:X} overlaps the block of BAT entry {used[k - 1].Index} at 0x{used[k - 1].Start:X}", file.Path);
            }
        }
        return end;
    }

    private static VhdxHeader ReplayLog(VhdxFile file, VhdxHeader header, ref long slot, DiskAccess access, OpenContext context, Func<Guid> newIdentifier)
    {
        if (header.LogVersion != 0)
        {
            throw new UnsupportedFormatException($"VHDX log version {header.LogVersion} is not supported", file.Path);
        }
        if (header.LogLength > MaxReplayLogLength)
        {
            throw new UnsupportedFormatException($"The VHDX log of {header.LogLength} bytes needs replay but is larger than the {MaxReplayLogLength} bytes supported", file.Path);
        }
        byte[] log = new byte[header.LogLength];
        file.ReadExactly(header.LogOffset, log, "log");
        VhdxLogReplay replay;
        try
        {
            replay = VhdxLogReplay.Find(log, header.LogGuid);
        }
        catch (InvalidDataException ex)
        {
            if (access == DiskAccess.ReadWrite)
            {
                throw new UnsafeToWriteException($"The VHDX log needs replay but cannot be replayed ({ex.Message}); nothing was written", file.Path, ex);
            }
            throw new CorruptDataException(VhdxFormat.Name, "log", header.LogOffset, ex.Message, file.Path, ex);
        }
        VhdxLogEntry? head = replay.Head;
        long newLength = file.PhysicalLength;
        if (head is not null)
        {
            string? problem = null;
            if (file.PhysicalLength < head.FlushedFileOffset)
            {
                problem = $"the file is {file.PhysicalLength} bytes but the log says at least {head.FlushedFileOffset} were flushed; it is truncated";
            }
            long limit = Math.Max(head.LastFileOffset, file.PhysicalLength);
            foreach (VhdxLogWrite w in replay.Writes)
            {
                if (problem is not null)
                {
                    break;
                }
                if (w.FileOffset < VhdxFormat.HeaderSectionSize || w.End > limit
                    || (w.FileOffset < header.LogOffset + header.LogLength && header.LogOffset < w.End))
                {
                    problem = $"a log entry writes [0x{w.FileOffset:X}, 0x{w.End:X}), which is the header section, the log itself, or past the file's end 0x{limit:X}";
                }
            }
            if (problem is not null)
            {
                if (access == DiskAccess.ReadWrite)
                {
                    throw new UnsafeToWriteException($"The VHDX log needs replay but cannot be replayed ({problem}); nothing was written", file.Path);
                }
                throw new CorruptDataException(VhdxFormat.Name, $"log entry {head.SequenceNumber}", header.LogOffset + head.LogOffset, problem, file.Path);
            }
            newLength = Math.Max(newLength, head.LastFileOffset);
        }
        context.Logger.LogInformation("VHDX {Path}: the log holds {Entries} entries ({Writes} writes) to replay ({Mode})",
            file.Path, replay.Entries.Count, replay.Writes.Count, access == DiskAccess.ReadWrite ? "on disk" : "in memory");
        if (access == DiskAccess.ReadOnly)
        {
            file.SetOverlay(replay.Writes, newLength);
            return header;
        }
        // [MS-VHDX]: change FileWriteGuid before the first modification (log playback included), replay and flush,
        // and only then clear LogGuid so that a crash during replay leaves the log in force to be replayed again.
        header = WriteHeader(file, header with { FileWriteGuid = newIdentifier() }, ref slot);
        foreach (VhdxLogWrite w in replay.Writes)
        {
            if (w.Data is null)
            {
                file.WriteZeros(w.FileOffset, w.Length);
            }
            else
            {
                file.Write(w.FileOffset, w.Data);
            }
        }
        if (file.PhysicalLength < newLength)
        {
            file.SetLength(newLength);
        }
        file.FlushDurable();
        header = WriteHeader(file, header with { LogGuid = Guid.Empty }, ref slot);
        return WriteHeader(file, header, ref slot);
    }

    /// <summary>Writes <paramref name="next"/> with the next sequence number into the slot that is not current, and flushes.</summary>
    private static VhdxHeader WriteHeader(VhdxFile file, VhdxHeader next, ref long slot)
    {
        next = next with { SequenceNumber = next.SequenceNumber + 1 };
        long target = slot == VhdxFormat.Header1Offset ? VhdxFormat.Header2Offset : VhdxFormat.Header1Offset;
        byte[] block = new byte[VhdxHeader.Size];
        next.WriteTo(block);
        file.Write(target, block);
        file.FlushDurable();
        slot = target;
        return next;
    }

    /// <summary>
    /// Called before the first change of a write session: new FileWriteGuid and DataWriteGuid, written to both header
    /// slots in turn (each with a higher sequence number) so that both copies are current and valid.
    /// </summary>
    private void StartWriteSession()
    {
        if (_writeSessionStarted)
        {
            return;
        }
        VhdxHeader next = _header with { FileWriteGuid = _newIdentifier(), DataWriteGuid = _newIdentifier(), LogGuid = Guid.Empty };
        next = WriteHeader(_file, next, ref _headerSlot);
        _header = WriteHeader(_file, next, ref _headerSlot);
        _writeSessionStarted = true;
    }

    private static VirtualDisk OpenVhdxParent(string? childPath, VhdxParentLocator locator, VhdxMetadata metadata, OpenContext context)
    {
        if (childPath is null)
        {
            throw new ParentChainException("A differencing VHDX opened from a stream has no folder to find its parent in");
        }
        VirtualDisk parent = DiskImage.OpenParent(childPath, ParentCandidates(locator), context);
        try
        {
            CheckVhdxParent(childPath, locator, metadata, parent);
            return parent;
        }
        catch
        {
            parent.Dispose();
            throw;
        }
    }

    // relative_path first (it survives moving the pair), then absolute_win32_path; volume_path (\\?\Volume{…})
    // has no meaning off Windows.
    private static List<string> ParentCandidates(VhdxParentLocator locator)
    {
        var candidates = new List<string>();
        foreach (string key in new[] { VhdxParentLocator.RelativePath, VhdxParentLocator.AbsoluteWin32Path })
        {
            string? value = locator[key];
            if (!string.IsNullOrEmpty(value))
            {
                candidates.Add(value!);
            }
        }
        return candidates;
    }

    /// <summary>Throws unless <paramref name="parent"/> is the VHDX the locator's parent_linkage names, of the child's size and sectors.</summary>
    private static void CheckVhdxParent(string childPath, VhdxParentLocator locator, VhdxMetadata metadata, VirtualDisk parent)
    {
        if (parent is not VhdxDisk vhdxParent)
        {
            throw new ParentChainException($"The parent '{parent.FilePath}' is {parent.Format}, but a differencing VHDX needs a VHDX parent", childPath);
        }
        var linkages = new List<Guid>();
        foreach (string key in new[] { VhdxParentLocator.ParentLinkage, VhdxParentLocator.ParentLinkage2 })
        {
            if (Guid.TryParse(locator[key] ?? string.Empty, out Guid g))
            {
                linkages.Add(g);
            }
        }
        if (linkages.Count == 0)
        {
            throw new ParentChainException("The differencing VHDX's parent locator has no valid parent_linkage", childPath);
        }
        if (!linkages.Contains(vhdxParent.DataWriteGuid))
        {
            throw new ParentChainException(
                $"The parent '{parent.FilePath}' has DataWriteGuid {vhdxParent.DataWriteGuid:B}, but the child expects parent_linkage {linkages[0]:B}: the parent was modified or is a different disk", childPath);
        }
        if (parent.Capacity != metadata.VirtualDiskSize || parent.LogicalSectorSize != metadata.LogicalSectorSize)
        {
            throw new ParentChainException(
                $"The parent '{parent.FilePath}' is {parent.Capacity} bytes with {parent.LogicalSectorSize}-byte sectors, the child {metadata.VirtualDiskSize} with {metadata.LogicalSectorSize}", childPath);
        }
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        ThrowIfDisposed();
        if (Access == DiskAccess.ReadWrite)
        {
            _file.FlushDurable();
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                if (Access == DiskAccess.ReadWrite)
                {
                    _file.FlushDurable();
                }
            }
            finally
            {
                _content.Dispose();
                _file.Dispose();
                base.Dispose(disposing);
            }
            return;
        }
        base.Dispose(disposing);
    }
}
