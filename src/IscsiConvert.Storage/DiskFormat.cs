namespace IscsiConvert.Storage;

/// <summary>A virtual-disk container format.</summary>
public enum DiskFormat
{
    /// <summary>A plain byte-for-byte image of the disk.</summary>
    Raw,

    /// <summary>Virtual Hard Disk (VHD, Virtual PC / Hyper-V generation 1).</summary>
    Vhd,

    /// <summary>Virtual Hard Disk v2 (VHDX, [MS-VHDX]).</summary>
    Vhdx,

    /// <summary>VMware Virtual Machine Disk.</summary>
    Vmdk,

    /// <summary>QEMU copy-on-write version 2 or 3.</summary>
    Qcow2,
}
