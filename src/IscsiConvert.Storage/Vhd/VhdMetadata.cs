using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace IscsiConvert.Storage.Vhd;

/// <summary>
/// Everything a VHD file says about itself, read and checked before any data is touched: the footer, and for
/// dynamic and differencing disks the dynamic header, the BAT and the parent locators. Parsing only; no writes.
/// </summary>
/// <remarks>
/// Checks follow the order signature, version, checksum, bounds, and every offset is bounds-checked before it is
/// followed. Memory stays bounded by the file size: the BAT is read only after its extent is known to lie in the file.
/// </remarks>
internal sealed class VhdMetadata
{
    /// <summary>The BAT value of a block that is not stored in this file.</summary>
    public const uint Unallocated = 0xFFFFFFFF;

    /// <summary>The largest dynamic VHD: 2040 GiB (block offsets are 32-bit sector numbers).</summary>
    public const long MaxDynamicSize = 2040L * 1024 * 1024 * 1024;

    /// <summary>A parent path longer than this (in bytes) is taken as corruption: Windows paths are at most 32767 UTF-16 code units.</summary>
    public const int MaxLocatorBytes = 65536;

    private VhdMetadata(VhdFooter footer, long footerOffset, bool footerFromCopy, long virtualSize)
    {
        Footer = footer;
        FooterOffset = footerOffset;
        FooterFromCopy = footerFromCopy;
        VirtualSize = virtualSize;
    }

    public VhdFooter Footer { get; }

    /// <summary>Where the footer at the end of the file is, or belongs (after a torn extension, see <see cref="FooterFromCopy"/>).</summary>
    public long FooterOffset { get; }

    /// <summary>
    /// True when the last sector held no footer and the copy in the first sector was used: a dynamic disk whose
    /// extension by a new block was interrupted before the footer was rewritten. The BAT does not yet point at the
    /// new block, so the old state is intact; a writable open puts the footer back at <see cref="FooterOffset"/>.
    /// </summary>
    public bool FooterFromCopy { get; }

    public long VirtualSize { get; }

    public VhdDynamicHeader? Header { get; private set; }

    public long HeaderOffset { get; private set; }

    /// <summary>The BAT entries that cover the virtual disk (entries past its end are not read).</summary>
    public uint[] Bat { get; private set; } = Array.Empty<uint>();

    /// <summary>The parent paths stored in the locators, in the order they are stored (platform code, decoded path).</summary>
    public IReadOnlyList<KeyValuePair<uint, string>> LocatorPaths { get; private set; } = Array.Empty<KeyValuePair<uint, string>>();

    public VhdDiskType DiskType => Footer.DiskType;

    /// <summary>
    /// The parent paths to try, best first: relative ones (they survive moving the pair of files together), then
    /// absolute ones, then the parent name in the header (a full path when Windows wrote it).
    /// </summary>
    public IEnumerable<string> ParentCandidates
    {
        get
        {
            foreach (KeyValuePair<uint, string> p in LocatorPaths)
            {
                if (p.Key == VhdParentLocator.W2ru)
                {
                    yield return p.Value;
                }
            }
            foreach (KeyValuePair<uint, string> p in LocatorPaths)
            {
                if (p.Key == VhdParentLocator.W2ku)
                {
                    yield return p.Value;
                }
            }
            if (Header is not null && Header.ParentName.Length > 0)
            {
                yield return Header.ParentName;
            }
        }
    }

    /// <summary>Reads and validates the metadata of the VHD in <paramref name="file"/>.</summary>
    public static VhdMetadata Read(Stream file, string? path)
    {
        long length = file.Length;
        if (length < VhdFooter.Size)
        {
            throw new CorruptDataException(VhdFields.FormatName, "footer", 0, $"the file is {length} bytes, too short to hold a 512-byte footer", path);
        }

        byte[] sector = new byte[VhdFooter.Size];
        long footerOffset = length - VhdFooter.Size;
        ImageFile.ReadExactly(file, footerOffset, sector, VhdFields.FormatName, "footer", path);
        VhdFooter footer;
        bool fromCopy = false;
        if (VhdFooter.HasCookie(sector))
        {
            footer = VhdFooter.ReadFrom(sector, footerOffset, "footer", path);
        }
        else if (HasShortFooter(file, length, sector))
        {
            // Some old tools wrote a 511-byte footer; the missing last byte is reserved and zero.
            footerOffset = length - 511;
            footer = VhdFooter.ReadFrom(sector, footerOffset, "footer", path);
        }
        else
        {
            ImageFile.ReadExactly(file, 0, sector, VhdFields.FormatName, "footer copy", path);
            if (!VhdFooter.HasCookie(sector))
            {
                throw new CorruptDataException(VhdFields.FormatName, "footer", length - VhdFooter.Size,
                    "no \"conectix\" cookie in the last sector, and no footer copy in the first", path);
            }
            footer = VhdFooter.ReadFrom(sector, 0, "footer copy", path);
            if (footer.DiskType == VhdDiskType.Fixed)
            {
                throw new CorruptDataException(VhdFields.FormatName, "footer", length - VhdFooter.Size,
                    "no \"conectix\" cookie in the last sector of a fixed disk (the file is truncated or overwritten)", path);
            }
            fromCopy = true;
            footerOffset = -1; // decided below, from the structures the file holds
        }

        long limit = fromCopy ? length : footerOffset; // data must end before this
        long virtualSize = footer.VirtualSize;
        if (footer.DiskType == VhdDiskType.Fixed)
        {
            if (virtualSize > footerOffset)
            {
                throw new CorruptDataException(VhdFields.FormatName, "footer", footerOffset,
                    $"the disk size {virtualSize} is larger than the {footerOffset} bytes of data before the footer (the file is truncated)", path);
            }
            return new VhdMetadata(footer, footerOffset, false, virtualSize);
        }

        if (virtualSize > MaxDynamicSize)
        {
            throw new CorruptDataException(VhdFields.FormatName, fromCopy ? "footer copy" : "footer", fromCopy ? 0 : footerOffset,
                $"the disk size {virtualSize} exceeds the {MaxDynamicSize}-byte limit of dynamic VHDs", path);
        }
        var meta = new VhdMetadata(footer, footerOffset, fromCopy, virtualSize);
        long dataEnd = meta.ReadDynamicStructures(file, limit, path);
        if (!fromCopy)
        {
            return meta;
        }
        var repaired = new VhdMetadata(footer, (dataEnd + 511) / 512 * 512, true, virtualSize)
        {
            Header = meta.Header,
            HeaderOffset = meta.HeaderOffset,
            Bat = meta.Bat,
            LocatorPaths = meta.LocatorPaths,
        };
        return repaired;
    }

    private static bool HasShortFooter(Stream file, long length, byte[] sector)
    {
        Span<byte> probe = stackalloc byte[511];
        if (Shared.StreamExtensions.ReadAtMost(file, length - 511, probe) != 511 || !VhdFooter.HasCookie(probe))
        {
            return false;
        }
        probe.CopyTo(sector);
        sector[511] = 0;
        return true;
    }

    /// <summary>Reads the dynamic header, BAT and locators; returns the end of the last structure or block.</summary>
    private long ReadDynamicStructures(Stream file, long limit, string? path)
    {
        string footerName = FooterFromCopy ? "footer copy" : "footer";
        long footerAt = FooterFromCopy ? 0 : FooterOffset;
        ulong dataOffset = Footer.DataOffset;
        if (dataOffset < VhdFooter.Size || limit < VhdDynamicHeader.Size || dataOffset > (ulong)(limit - VhdDynamicHeader.Size))
        {
            throw new CorruptDataException(VhdFields.FormatName, footerName, footerAt,
                $"the dynamic header offset 0x{dataOffset:X} is outside the file's data [0x200, 0x{limit:X})", path);
        }
        HeaderOffset = (long)dataOffset;
        byte[] headerBytes = new byte[VhdDynamicHeader.Size];
        ImageFile.ReadExactly(file, HeaderOffset, headerBytes, VhdFields.FormatName, "dynamic header", path);
        VhdDynamicHeader header = VhdDynamicHeader.ReadFrom(headerBytes, HeaderOffset, path);
        Header = header;

        long blockSize = header.BlockSize;
        long blocksNeeded = (VirtualSize + blockSize - 1) / blockSize;
        if (header.MaxTableEntries < blocksNeeded)
        {
            throw new CorruptDataException(VhdFields.FormatName, "dynamic header", HeaderOffset,
                $"the BAT has {header.MaxTableEntries} entries but a {VirtualSize}-byte disk of {blockSize}-byte blocks needs {blocksNeeded}", path);
        }
        ulong tableOffset = header.TableOffset;
        ulong tableBytes = (ulong)header.MaxTableEntries * 4;
        if (tableOffset > (ulong)limit || tableBytes > (ulong)limit - tableOffset)
        {
            throw new CorruptDataException(VhdFields.FormatName, "dynamic header", HeaderOffset,
                $"the BAT at 0x{tableOffset:X} with {header.MaxTableEntries} entries ({tableBytes} bytes) extends past the end of the file's data at 0x{limit:X}", path);
        }

        // Bounded: blocksNeeded ≤ MaxTableEntries, and the table was just shown to fit in the file.
        byte[] raw = new byte[blocksNeeded * 4];
        ImageFile.ReadExactly(file, (long)tableOffset, raw, VhdFields.FormatName, "BAT", path);
        var bat = new uint[blocksNeeded];
        int bitmapSize = header.BitmapSize;
        var regions = new List<Region>
        {
            new(0, VhdFooter.Size, "footer copy"),
            new(HeaderOffset, VhdDynamicHeader.Size, "dynamic header"),
            new((long)tableOffset, (long)tableBytes, "BAT"),
        };
        for (long i = 0; i < blocksNeeded; i++)
        {
            uint entry = BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan((int)(i * 4)));
            bat[i] = entry;
            if (entry == Unallocated)
            {
                continue;
            }
            long start = (long)entry * 512;
            // The last block of a disk that is not a whole number of blocks only needs to hold the part in the disk.
            long used = Math.Min(blockSize, VirtualSize - i * blockSize);
            long bytes = bitmapSize + (used + 511) / 512 * 512;
            if (start > limit - bytes)
            {
                throw new CorruptDataException(VhdFields.FormatName, $"BAT entry {i}", (long)tableOffset + i * 4,
                    $"block {i} at sector {entry} (offset 0x{start:X}, {bytes} bytes with its bitmap) ends past the end of the file's data at 0x{limit:X}", path);
            }
            regions.Add(new Region(start, bytes, $"BAT entry {i}", (long)tableOffset + i * 4));
        }
        Bat = bat;

        if (DiskType == VhdDiskType.Differencing)
        {
            LocatorPaths = ReadLocators(file, header, limit, regions, path);
        }
        return CheckOverlaps(regions, path);
    }

    private List<KeyValuePair<uint, string>> ReadLocators(Stream file, VhdDynamicHeader header, long limit, List<Region> regions, string? path)
    {
        var paths = new List<KeyValuePair<uint, string>>();
        for (int i = 0; i < VhdDynamicHeader.LocatorCount; i++)
        {
            VhdParentLocator loc = header.Locators[i];
            if (!loc.IsUsed || loc.DataLength == 0)
            {
                continue;
            }
            string name = $"parent locator {i} ({VhdFields.FourCCText(loc.PlatformCode).TrimEnd('\0')})";
            long entryOffset = HeaderOffset + 576 + i * VhdParentLocator.Size;
            if (loc.DataLength > MaxLocatorBytes)
            {
                throw new CorruptDataException(VhdFields.FormatName, name, entryOffset,
                    $"the path is {loc.DataLength} bytes long, more than the {MaxLocatorBytes} a path can take", path);
            }
            if (loc.DataOffset > (ulong)limit || loc.DataLength > (ulong)limit - loc.DataOffset)
            {
                throw new CorruptDataException(VhdFields.FormatName, name, entryOffset,
                    $"the path data at 0x{loc.DataOffset:X} ({loc.DataLength} bytes) extends past the end of the file's data at 0x{limit:X}", path);
            }
            regions.Add(new Region((long)loc.DataOffset, loc.DataLength, name, entryOffset));
            if (loc.PlatformCode != VhdParentLocator.W2ku && loc.PlatformCode != VhdParentLocator.W2ru)
            {
                continue; // Mac aliases and the deprecated Wi2k/Wi2r forms are not followed
            }
            byte[] data = new byte[loc.DataLength];
            ImageFile.ReadExactly(file, (long)loc.DataOffset, data, VhdFields.FormatName, name, path);
            string text = Encoding.Unicode.GetString(data).Split('\0')[0];
            if (text.Length > 0)
            {
                paths.Add(new KeyValuePair<uint, string>(loc.PlatformCode, text));
            }
        }
        return paths;
    }

    /// <summary>Fails if any two structures or blocks share bytes; returns the end of the last one.</summary>
    private static long CheckOverlaps(List<Region> regions, string? path)
    {
        regions.Sort((a, b) => a.Start.CompareTo(b.Start));
        long end = 0;
        Region previous = regions[0];
        foreach (Region r in regions)
        {
            if (r.Length == 0)
            {
                continue;
            }
            if (r.Start < end)
            {
                Region reported = r.EntryOffset >= 0 ? r : previous;
                Region other = ReferenceEquals(reported, r) ? previous : r;
                throw new CorruptDataException(VhdFields.FormatName, reported.Name, reported.EntryOffset >= 0 ? reported.EntryOffset : reported.Start,
                    $"its data at 0x{reported.Start:X} (+0x{reported.Length:X}) overlaps the {other.Name} at 0x{other.Start:X} (+0x{other.Length:X})", path);
            }
            if (r.End > end)
            {
                end = r.End;
                previous = r;
            }
        }
        return end;
    }

    /// <summary>A byte range of the file used by one structure; <see cref="EntryOffset"/> is where the pointer to it is stored, or -1.</summary>
    private sealed class Region
    {
        public Region(long start, long length, string name, long entryOffset = -1)
        {
            Start = start;
            Length = length;
            Name = name;
            EntryOffset = entryOffset;
        }

        public long Start { get; }

        public long Length { get; }

        public long End => Start + Length;

        public string Name { get; }

        public long EntryOffset { get; }
    }
}
