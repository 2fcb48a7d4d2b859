using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>The metadata items this implementation understands, parsed and validated.</summary>
internal sealed class VhdxMetadata
{
    private const uint LeaveBlockAllocatedFlag = 1;
    private const uint HasParentFlag = 2;
    private const int MaxItemLength = 1024 * 1024; // [MS-VHDX]: an item is at most 1 MiB

    public long BlockSize { get; init; }
    public bool LeaveBlockAllocated { get; init; }
    public bool HasParent { get; init; }
    public long VirtualDiskSize { get; init; }
    public Guid VirtualDiskId { get; init; }
    public int LogicalSectorSize { get; init; }
    public int PhysicalSectorSize { get; init; }
    public VhdxParentLocator? ParentLocator { get; init; }

    /// <summary>Reads and validates the metadata region through <paramref name="file"/>.</summary>
    public static VhdxMetadata Read(VhdxFile file, VhdxRegionEntry region)
    {
        byte[] tableBytes = new byte[VhdxMetadataTable.Size];
        file.ReadExactly(region.FileOffset, tableBytes, "metadata table");
        VhdxMetadataTable table = VhdxMetadataTable.ReadFrom(tableBytes, region.FileOffset, region.Length, file.Path);
        var items = new Dictionary<Guid, (VhdxMetadataEntry Entry, byte[] Data)>();
        foreach (VhdxMetadataEntry e in table.Entries)
        {
            bool known = e.ItemId == VhdxFormat.FileParametersItem || e.ItemId == VhdxFormat.VirtualDiskSizeItem
                || e.ItemId == VhdxFormat.VirtualDiskIdItem || e.ItemId == VhdxFormat.LogicalSectorSizeItem
                || e.ItemId == VhdxFormat.PhysicalSectorSizeItem || e.ItemId == VhdxFormat.ParentLocatorItem;
            if (!known)
            {
                if (e.IsRequired)
                {
                    throw new UnsupportedFormatException($"The VHDX metadata item {e.ItemId} is marked required but is not known to this implementation", file.Path);
                }
                continue; // optional items (user metadata and unknown ones) may be ignored
            }
            if (e.Length > MaxItemLength)
            {
                throw new CorruptDataException(VhdxFormat.Name, $"metadata item {e.ItemId}", region.FileOffset + e.Offset, $"length {e.Length} exceeds the maximum {MaxItemLength}", file.Path);
            }
            byte[] data = new byte[e.Length];
            file.ReadExactly(region.FileOffset + e.Offset, data, $"metadata item {e.ItemId}");
            items[e.ItemId] = (e, data);
        }

        byte[] Require(Guid id, string name, int length)
        {
            if (!items.TryGetValue(id, out var item))
            {
                throw new CorruptDataException(VhdxFormat.Name, "metadata table", region.FileOffset, $"the required {name} item ({id}) is missing", file.Path);
            }
            if (item.Data.Length < length)
            {
                throw new CorruptDataException(VhdxFormat.Name, $"{name} metadata item", region.FileOffset + item.Entry.Offset, $"length {item.Data.Length}, expected {length}", file.Path);
            }
            return item.Data;
        }

        long ItemOffset(Guid id) => region.FileOffset + items[id].Entry.Offset;

        byte[] fp = Require(VhdxFormat.FileParametersItem, "file parameters", 8);
        long blockSize = BinaryPrimitives.ReadUInt32LittleEndian(fp);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(fp.AsSpan(4));
        if (!VhdxFormat.IsPowerOfTwo(blockSize) || blockSize < VhdxFormat.MinBlockSize || blockSize > VhdxFormat.MaxBlockSize)
        {
            throw new CorruptDataException(VhdxFormat.Name, "file parameters metadata item", ItemOffset(VhdxFormat.FileParametersItem),
                $"block size {blockSize} is not a power of two from 1 MiB to 256 MiB", file.Path);
        }
        int logical = ReadSectorSize(Require(VhdxFormat.LogicalSectorSizeItem, "logical sector size", 4), "logical sector size", ItemOffset(VhdxFormat.LogicalSectorSizeItem), file.Path);
        int physical = ReadSectorSize(Require(VhdxFormat.PhysicalSectorSizeItem, "physical sector size", 4), "physical sector size", ItemOffset(VhdxFormat.PhysicalSectorSizeItem), file.Path);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(Require(VhdxFormat.VirtualDiskSizeItem, "virtual disk size", 8));
        if (size == 0 || size > VhdxFormat.MaxVirtualDiskSize || size % (ulong)logical != 0)
        {
            throw new CorruptDataException(VhdxFormat.Name, "virtual disk size metadata item", ItemOffset(VhdxFormat.VirtualDiskSizeItem),
                $"virtual size {size} is not a positive multiple of the {logical}-byte sector of at most 64 TiB", file.Path);
        }
        Guid id = VhdxFormat.ReadGuid(Require(VhdxFormat.VirtualDiskIdItem, "virtual disk id", 16));
        bool hasParent = (flags & HasParentFlag) != 0;
        VhdxParentLocator? locator = null;
        if (hasParent)
        {
            byte[] pl = Require(VhdxFormat.ParentLocatorItem, "parent locator", 20);
            locator = VhdxParentLocator.ReadFrom(pl, ItemOffset(VhdxFormat.ParentLocatorItem), file.Path);
            if (locator.LocatorType != VhdxFormat.VhdxParentLocatorType)
            {
                throw new UnsupportedFormatException($"The VHDX parent locator type {locator.LocatorType} is not the VHDX locator type", file.Path);
            }
        }
        return new VhdxMetadata
        {
            BlockSize = blockSize,
            LeaveBlockAllocated = (flags & LeaveBlockAllocatedFlag) != 0,
            HasParent = hasParent,
            VirtualDiskSize = (long)size,
            VirtualDiskId = id,
            LogicalSectorSize = logical,
            PhysicalSectorSize = physical,
            ParentLocator = locator,
        };
    }

    private static int ReadSectorSize(byte[] data, string name, long offset, string? path)
    {
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (value != 512 && value != 4096)
        {
            throw new CorruptDataException(VhdxFormat.Name, name + " metadata item", offset, $"{value} is neither 512 nor 4096", path);
        }
        return (int)value;
    }

    /// <summary>Lays out a whole metadata region (table and items) of <paramref name="regionLength"/> bytes, items in Hyper-V's order.</summary>
    public byte[] BuildRegion(int regionLength)
    {
        byte[] region = new byte[regionLength];
        var entries = new List<VhdxMetadataEntry>();
        uint at = VhdxMetadataTable.Size;

        void Add(Guid id, byte[] data, bool isVirtualDisk)
        {
            entries.Add(new VhdxMetadataEntry(id, at, (uint)data.Length, IsUser: false, isVirtualDisk, IsRequired: true));
            data.CopyTo(region, at);
            at += (uint)data.Length;
        }

        byte[] fp = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(fp, (uint)BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(fp.AsSpan(4), (LeaveBlockAllocated ? LeaveBlockAllocatedFlag : 0) | (HasParent ? HasParentFlag : 0));
        Add(VhdxFormat.FileParametersItem, fp, isVirtualDisk: false);
        byte[] size = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)VirtualDiskSize);
        Add(VhdxFormat.VirtualDiskSizeItem, size, isVirtualDisk: true);
        byte[] logical = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(logical, (uint)LogicalSectorSize);
        Add(VhdxFormat.LogicalSectorSizeItem, logical, isVirtualDisk: true);
        byte[] physical = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(physical, (uint)PhysicalSectorSize);
        Add(VhdxFormat.PhysicalSectorSizeItem, physical, isVirtualDisk: true);
        Add(VhdxFormat.VirtualDiskIdItem, VirtualDiskId.ToByteArray(), isVirtualDisk: true);
        if (ParentLocator is not null)
        {
            Add(VhdxFormat.ParentLocatorItem, ParentLocator.ToBytes(), isVirtualDisk: false);
        }
        new VhdxMetadataTable(entries).WriteTo(region);
        return region;
    }
}
