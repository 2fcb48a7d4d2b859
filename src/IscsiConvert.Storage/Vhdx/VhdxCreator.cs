using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage.Vhdx;

/// <summary>
/// Creates VHDX files laid out as Hyper-V does: the 1 MiB header section, a 1 MiB log at 1 MiB, the metadata region at
/// 2 MiB, the BAT at 3 MiB (whole MiB), then payload blocks, every region aligned to 1 MiB.
/// </summary>
internal static class VhdxCreator
{
    public const long DefaultBlockSize = 32 * VhdxFormat.MiB;
    private const int PhysicalSectorSize = 4096;
    private const long LogOffset = VhdxFormat.MiB;
    private const long LogLength = VhdxFormat.MiB;
    private const long MetadataOffset = 2 * VhdxFormat.MiB;
    private const long MetadataLength = VhdxFormat.MiB;
    private const long BatOffset = 3 * VhdxFormat.MiB;
    private const string Creator = "IscsiConvert";

    public static VhdxDisk Create(string path, DiskCreateOptions options)
    {
        long blockSize = options.BlockSize == 0 ? DefaultBlockSize : options.BlockSize;
        int sectorSize = options.LogicalSectorSize;
        long capacity = options.Capacity;
        VhdxParentLocator? locator = null;
        if (options.ParentPath is not null)
        {
            if (options.Fixed)
            {
                throw new ArgumentException("A differencing VHDX cannot be fixed.", nameof(options));
            }
            string parentPath = Path.GetFullPath(options.ParentPath);
            using VirtualDisk parent = DiskImage.Open(parentPath, DiskAccess.ReadOnly);
            if (parent is not VhdxDisk vhdxParent)
            {
                throw new ArgumentException($"The parent of a differencing VHDX must be a VHDX, not {parent.Format}.", nameof(options));
            }
            capacity = parent.Capacity;
            sectorSize = parent.LogicalSectorSize;
            var entries = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [VhdxParentLocator.ParentLinkage] = vhdxParent.DataWriteGuid.ToString("B"),
            };
            string relative = ParentPaths.RelativeWindowsPath(path, parentPath);
            if (relative.IndexOf(':') < 0)
            {
                // No relative path exists between different Windows drives.
                entries[VhdxParentLocator.RelativePath] = relative;
            }
            entries[VhdxParentLocator.AbsoluteWin32Path] = parentPath;
            locator = new VhdxParentLocator(VhdxFormat.VhdxParentLocatorType, entries);
        }
        VhdxBatGeometry.Validate(blockSize, sectorSize);
        if (capacity <= 0 || capacity > VhdxFormat.MaxVirtualDiskSize)
        {
            throw new ArgumentException($"A VHDX holds 1 byte to 64 TiB, not {capacity}.", nameof(options));
        }
        capacity = VhdxFormat.AlignUp(capacity, sectorSize);

        var metadata = new VhdxMetadata
        {
            BlockSize = blockSize,
            LeaveBlockAllocated = options.Fixed,
            HasParent = locator is not null,
            VirtualDiskSize = capacity,
            VirtualDiskId = options.NewIdentifier(),
            LogicalSectorSize = sectorSize,
            PhysicalSectorSize = PhysicalSectorSize,
            ParentLocator = locator,
        };
        var geometry = new VhdxBatGeometry(capacity, blockSize, sectorSize, metadata.HasParent);
        long batLength = VhdxFormat.AlignUp(geometry.ByteLength, VhdxFormat.MiB);
        if (batLength > uint.MaxValue)
        {
            throw new ArgumentException("The BAT of this disk would not fit in a VHDX region; use a larger block size.", nameof(options));
        }
        long payloadStart = BatOffset + batLength;
        long fileLength = options.Fixed ? payloadStart + geometry.DataBlockCount * blockSize : payloadStart;
        Guid fileWrite = options.NewIdentifier();
        Guid dataWrite = options.NewIdentifier();

        FileStream stream = ImageFile.CreateNew(path);
        try
        {
            var file = new VhdxFile(stream, path, writable: true);
            // Everything but the identifying structures first; the headers and the "vhdxfile" signature last, so a
            // crash during creation leaves a file nobody takes for a valid VHDX.
            file.SetLength(fileLength);
            file.Write(MetadataOffset, metadata.BuildRegion((int)MetadataLength));
            if (options.Fixed)
            {
                WriteFixedBat(file, geometry, payloadStart);
            }
            var regions = new VhdxRegionTable(new[]
            {
                new VhdxRegionEntry(VhdxFormat.BatRegion, BatOffset, (uint)batLength, Required: true),
                new VhdxRegionEntry(VhdxFormat.MetadataRegion, MetadataOffset, (uint)MetadataLength, Required: true),
            });
            byte[] block = new byte[VhdxRegionTable.Size];
            regions.WriteTo(block);
            file.Write(VhdxFormat.RegionTable1Offset, block);
            file.Write(VhdxFormat.RegionTable2Offset, block);
            file.FlushDurable();
            var header = new VhdxHeader
            {
                SequenceNumber = 1,
                FileWriteGuid = fileWrite,
                DataWriteGuid = dataWrite,
                LogGuid = Guid.Empty,
                LogVersion = 0,
                Version = VhdxHeader.CurrentVersion,
                LogLength = (uint)LogLength,
                LogOffset = LogOffset,
            };
            byte[] hb = new byte[VhdxHeader.Size];
            header.WriteTo(hb);
            file.Write(VhdxFormat.Header1Offset, hb);
            (header with { SequenceNumber = 2 }).WriteTo(hb);
            file.Write(VhdxFormat.Header2Offset, hb);
            byte[] id = new byte[VhdxFileIdentifier.Size];
            new VhdxFileIdentifier(Creator).WriteTo(id);
            file.Write(VhdxFormat.FileIdentifierOffset, id);
            file.FlushDurable();
        }
        catch
        {
            stream.Dispose();
            ImageFile.TryDelete(path);
            throw;
        }
        options.Logger.LogInformation("Created VHDX {Path}: {Capacity} bytes, {Kind}, block {BlockSize}, sector {SectorSize}",
            path, capacity, metadata.HasParent ? "differencing" : options.Fixed ? "fixed" : "dynamic", blockSize, sectorSize);
        // Re-open what was written through the normal, validating path; the headers just written start the session.
        return VhdxDisk.Open(stream, path, DiskAccess.ReadWrite, new OpenContext(options.Logger), options.NewIdentifier, createdNow: true);
    }

    private static void WriteFixedBat(VhdxFile file, VhdxBatGeometry geometry, long payloadStart)
    {
        byte[] bat = new byte[geometry.ByteLength];
        for (long b = 0; b < geometry.DataBlockCount; b++)
        {
            ulong entry = VhdxBatEntry.Make((int)PayloadBlockState.FullyPresent, payloadStart + b * geometry.BlockSize);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bat.AsSpan((int)(geometry.PayloadIndex(b) * 8)), entry);
        }
        file.Write(BatOffset, bat);
    }
}
