using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// Builds self-relative security descriptors (SECURITY_DESCRIPTOR_RELATIVE: header, DACL of ACCESS_ALLOWED ACEs,
/// owner and group SIDs) for the few default descriptors a new volume carries. Layout from the Windows SDK's
/// documentation of SECURITY_DESCRIPTOR_RELATIVE, ACL, ACE_HEADER and SID.
/// </summary>
internal static class SecurityDescriptors
{
    private const byte Revision = 1;
    private const byte AclRevision = 2;
    private const ushort ControlDaclPresent = 0x0004;
    private const ushort ControlSelfRelative = 0x8000;
    private const int HeaderSize = 20;
    private const int AclHeaderSize = 8;
    private const byte AccessAllowedAceType = 0;

    public const byte ObjectInherit = 0x01;
    public const byte ContainerInherit = 0x02;
    public const byte InheritOnly = 0x08;

    public const uint FullAccess = 0x001F01FF;
    public const uint Modify = 0x001301BF;
    public const uint ReadAndExecute = 0x001200A9;
    public const uint GenericAll = 0x10000000;
    public const uint ReadOnly = 0x00120089;
    public const uint ReadWrite = 0x0012019F;

    /// <summary>S-1-5-18, Local System.</summary>
    public static readonly uint[] LocalSystem = { 5, 18 };

    /// <summary>S-1-5-32-544, BUILTIN\Administrators.</summary>
    public static readonly uint[] Administrators = { 5, 32, 544 };

    /// <summary>S-1-5-32-545, BUILTIN\Users.</summary>
    public static readonly uint[] Users = { 5, 32, 545 };

    /// <summary>S-1-5-11, Authenticated Users.</summary>
    public static readonly uint[] AuthenticatedUsers = { 5, 11 };

    /// <summary>S-1-3-0, CREATOR OWNER.</summary>
    public static readonly uint[] CreatorOwner = { 3, 0 };

    /// <summary>The descriptor of metadata files, as Windows gives them (security id 0x100): owned by Administrators,
    /// read access (0x120089) for SYSTEM and Administrators; only the file system itself writes them.</summary>
    public static byte[] MetadataFile() => Build(Administrators, Administrators, new[]
    {
        (LocalSystem, ReadOnly, (byte)0),
        (Administrators, ReadOnly, (byte)0),
    });

    /// <summary>The descriptor of metadata directories and indexes ($Extend, $Secure; security id 0x101 on Windows):
    /// read, write and list (0x12019F) for SYSTEM and Administrators.</summary>
    public static byte[] MetadataDirectory() => Build(Administrators, Administrators, new[]
    {
        (LocalSystem, ReadWrite, (byte)0),
        (Administrators, ReadWrite, (byte)0),
    });

    /// <summary>
    /// The root directory's descriptor, as on a data volume Windows formats: Administrators and SYSTEM full control,
    /// Authenticated Users modify, Users read and execute, CREATOR OWNER full control of what it creates; all inherited.
    /// </summary>
    public static byte[] RootDirectory() => Build(Administrators, LocalSystem, new[]
    {
        (Administrators, FullAccess, (byte)(ObjectInherit | ContainerInherit)),
        (LocalSystem, FullAccess, (byte)(ObjectInherit | ContainerInherit)),
        (AuthenticatedUsers, Modify, (byte)(ObjectInherit | ContainerInherit)),
        (Users, ReadAndExecute, (byte)(ObjectInherit | ContainerInherit)),
        (CreatorOwner, GenericAll, (byte)(ObjectInherit | ContainerInherit | InheritOnly)),
    });

    /// <summary>A self-relative descriptor: header, DACL, owner, group.</summary>
    public static byte[] Build(uint[] owner, uint[] group, IReadOnlyList<(uint[] Sid, uint Mask, byte Flags)> aces)
    {
        var dacl = new List<byte>();
        foreach ((uint[] sid, uint mask, byte flags) in aces)
        {
            byte[] sidBytes = EncodeSid(sid);
            int size = 8 + sidBytes.Length;
            byte[] ace = new byte[size];
            ace[0] = AccessAllowedAceType;
            ace[1] = flags;
            BinaryPrimitives.WriteUInt16LittleEndian(ace.AsSpan(2), (ushort)size);
            BinaryPrimitives.WriteUInt32LittleEndian(ace.AsSpan(4), mask);
            sidBytes.CopyTo(ace, 8);
            dacl.AddRange(ace);
        }
        byte[] ownerBytes = EncodeSid(owner);
        byte[] groupBytes = EncodeSid(group);
        int aclSize = AclHeaderSize + dacl.Count;
        int daclOffset = HeaderSize;
        int ownerOffset = daclOffset + aclSize;
        int groupOffset = ownerOffset + ownerBytes.Length;
        byte[] sd = new byte[groupOffset + groupBytes.Length];
        Span<byte> s = sd;
        s[0] = Revision;
        BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(2), ControlSelfRelative | ControlDaclPresent);
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(4), (uint)ownerOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(8), (uint)groupOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(12), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(16), (uint)daclOffset);
        s[daclOffset] = AclRevision;
        BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(daclOffset + 2), (ushort)aclSize);
        BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(daclOffset + 4), (ushort)aces.Count);
        dacl.CopyTo(sd, daclOffset + AclHeaderSize);
        ownerBytes.CopyTo(sd, ownerOffset);
        groupBytes.CopyTo(sd, groupOffset);
        return sd;
    }

    /// <summary>A SID: revision, sub-authority count, the 48-bit identifier authority big-endian, then the
    /// sub-authorities (<paramref name="authorityAndSubAuthorities"/>: the authority first).</summary>
    public static byte[] EncodeSid(uint[] authorityAndSubAuthorities)
    {
        int subs = authorityAndSubAuthorities.Length - 1;
        byte[] sid = new byte[8 + (4 * subs)];
        sid[0] = Revision;
        sid[1] = (byte)subs;
        sid[7] = (byte)authorityAndSubAuthorities[0];
        for (int i = 0; i < subs; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sid.AsSpan(8 + (4 * i)), authorityAndSubAuthorities[i + 1]);
        }
        return sid;
    }
}
