using System;
using System.IO;
using System.Text;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using IscsiConvert.Tests;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// A small NIC driver package written for these tests (no vendor file): an INF built from Microsoft's documented INF
/// syntax — Class=Net, models for x86 and amd64 naming a virtio-net ID with its compatible ID, CopyFiles to the
/// drivers folder, a catalog, the function service with an AddReg of its own, and a .HW AddReg that installs an
/// upper filter — plus a made-up driver binary and catalog.
/// </summary>
internal static class TestNicPackage
{
    public const string NetClassGuid = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
    public const string Device = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";
    public const string Service = "ivnic";

    public const string Inf =
        "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Net\r\nClassGuid=" + NetClassGuid + "\r\nProvider=%Vendor%\r\nCatalogFile=ivnic.cat\r\nDriverVer=03/04/2025,1.2.3.4\r\n" +
        "[Manufacturer]\r\n%Vendor%=Models,NTx86,NTamd64\r\n" +
        "[Models.NTx86]\r\n%Desc%=Nic.Install, PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00, PCI\\VEN_1AF4&DEV_1000\r\n" +
        "[Models.NTamd64]\r\n%Desc%=Nic.Install, PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00, PCI\\VEN_1AF4&DEV_1000\r\n" +
        "[Nic.Install]\r\nCopyFiles=Nic.CopyFiles\r\nCharacteristics=0x84\r\nBusType=5\r\n" +
        "[Nic.Install.HW]\r\nAddReg=Nic.HW.Reg\r\n[Nic.HW.Reg]\r\nHKR,,UpperFilters,0x00010000,\"ivfilt\"\r\n" +
        "[Nic.Install.Services]\r\nAddService=ivnic, 2, Nic.Service\r\n" +
        "[Nic.Service]\r\nDisplayName=%SvcDesc%\r\nServiceType=1\r\nStartType=3\r\nErrorControl=1\r\nServiceBinary=%12%\\ivnic.sys\r\nLoadOrderGroup=NDIS\r\nAddReg=Nic.Service.Reg\r\n" +
        "[Nic.Service.Reg]\r\nHKR,Parameters,QueueDepth,0x00010001,64\r\nHKR,Parameters,Mode,0x00000000,\"fast\"\r\n" +
        "[Nic.CopyFiles]\r\nivnic.sys\r\n[DestinationDirs]\r\nDefaultDestDir=12\r\n" +
        "[SourceDisksNames]\r\n1=%Disk%\r\n[SourceDisksFiles]\r\nivnic.sys=1\r\n" +
        "[Strings]\r\nVendor=\"Example Networks\"\r\nDesc=\"Example virtio network adapter\"\r\nSvcDesc=\"Example NIC driver\"\r\nDisk=\"Example disk\"\r\n";

    /// <summary>Writes the package into a new folder; returns it.</summary>
    public static string Write(TempDir tmp, string name)
    {
        string folder = tmp.File(name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "ivnic.inf"), Inf, new UTF8Encoding(false));
        byte[] sys = new byte[40_000];
        new Random(11).NextBytes(sys);
        sys[0] = 0x4D;
        sys[1] = 0x5A;
        File.WriteAllBytes(Path.Combine(folder, "ivnic.sys"), sys);
        File.WriteAllBytes(Path.Combine(folder, "ivnic.cat"), new byte[] { 0x30, 0x82, 0x01, 0x00, 0x06 });
        return folder;
    }
}

/// <summary>A GPT disk image (VHDX) around an NTFS volume, and the volume read back out of it for the ntfs-3g tools.</summary>
internal static class GptImage
{
    public static (string Disk, int Partition) Wrap(TempDir tmp, string volume, string name)
    {
        string diskPath = tmp.File(name);
        int index;
        using (VirtualDisk disk = DiskImage.Create(diskPath, new DiskCreateOptions { Format = DiskFormat.Vhdx, Capacity = NtfsImageBuilder.VolumeSize + (24L << 20) }))
        {
            PartitionTable table = PartitionTable.CreateGpt(disk.Content, 512, IdentifierSource.Sequential(5));
            table.AddPartition(NewPartition.Of(PartitionKind.EfiSystem, 16L << 20, "EFI system partition"));
            PartitionInfo p = table.AddPartition(NewPartition.Of(PartitionKind.BasicData, NtfsImageBuilder.VolumeSize, "Basic data partition"));
            index = p.Index;
            using SparseStream target = table.Open(p);
            target.WriteAt(0, File.ReadAllBytes(volume));
            disk.Flush();
        }
        return (diskPath, index);
    }

    /// <summary>qemu-img converts the disk to raw; the partition's sectors (per sgdisk) are copied out as a volume file.</summary>
    public static string ExtractVolume(TempDir tmp, string disk, int partition, string name)
    {
        string raw = tmp.File(name + ".disk.raw");
        Oracle.RunChecked("qemu-img", "convert", "-O", "raw", disk, raw);
        string info = Oracle.RunChecked("sgdisk", "-i", partition.ToString(System.Globalization.CultureInfo.InvariantCulture), raw);
        long first = 0, last = 0;
        foreach (string line in info.Split('\n'))
        {
            if (line.StartsWith("First sector:", StringComparison.Ordinal))
            {
                first = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Last sector:", StringComparison.Ordinal))
            {
                last = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        string volume = tmp.File(name);
        using (var src = File.OpenRead(raw))
        using (var dst = File.Create(volume))
        {
            src.Position = first * 512;
            var buffer = new byte[1 << 20];
            long left = (last - first + 1) * 512;
            while (left > 0)
            {
                int n = src.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n == 0)
                {
                    break;
                }
                dst.Write(buffer, 0, n);
                left -= n;
            }
        }
        File.Delete(raw);
        return volume;
    }
}
