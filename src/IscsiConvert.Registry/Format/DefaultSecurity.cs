using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// The security descriptor given to the root key of a new hive, built as a self-relative SECURITY_DESCRIPTOR from
/// well-known SIDs (MS-DTYP 2.4.2.4): the access Windows gives the roots of the hives it creates (SYSTEM and SAM of
/// Vista/7, root "CMI-CreateHive{…}"): Users read, Administrators and SYSTEM full control, and the same inherited by
/// subkeys through inherit-only generic ACEs, plus full control for the creator owner of each new subkey.
/// Owner Administrators, group SYSTEM; the DACL is protected, so nothing is inherited from where the hive is mounted.
/// </summary>
internal static class DefaultSecurity
{
    // SECURITY_DESCRIPTOR_CONTROL bits (MS-DTYP 2.4.6).
    private const ushort DaclPresent = 0x0004;
    private const ushort DaclAutoInherited = 0x0400;
    private const ushort DaclProtected = 0x1000;
    private const ushort SelfRelative = 0x8000;

    private const int HeaderSize = 20;
    private const int AclHeaderSize = 8;
    private const int AceHeaderSize = 8;
    private const byte AclRevision = 2;
    private const byte AccessAllowed = 0;

    // ACE flags: apply to subkeys only (container inherit + inherit only).
    private const byte InheritToSubkeysOnly = 0x02 | 0x08;

    // Access masks: KEY_READ, KEY_ALL_ACCESS, GENERIC_READ, GENERIC_ALL.
    private const uint KeyRead = 0x00020019;
    private const uint KeyAllAccess = 0x000F003F;
    private const uint GenericRead = 0x80000000;
    private const uint GenericAll = 0x10000000;

    // Well-known SIDs as (identifier authority, sub-authorities).
    private static readonly (byte Authority, uint[] Subs) Users = (5, new uint[] { 32, 545 });           // BUILTIN\Users
    private static readonly (byte Authority, uint[] Subs) Administrators = (5, new uint[] { 32, 544 });  // BUILTIN\Administrators
    private static readonly (byte Authority, uint[] Subs) LocalSystem = (5, new uint[] { 18 });          // NT AUTHORITY\SYSTEM
    private static readonly (byte Authority, uint[] Subs) CreatorOwner = (3, new uint[] { 0 });          // CREATOR OWNER

    /// <summary>The descriptor's bytes.</summary>
    public static byte[] Build()
    {
        var aces = new List<(byte Flags, uint Mask, (byte Authority, uint[] Subs) Sid)>
        {
            (0, KeyRead, Users),
            (InheritToSubkeysOnly, GenericRead, Users),
            (0, KeyAllAccess, Administrators),
            (InheritToSubkeysOnly, GenericAll, Administrators),
            (0, KeyAllAccess, LocalSystem),
            (InheritToSubkeysOnly, GenericAll, LocalSystem),
            (InheritToSubkeysOnly, GenericAll, CreatorOwner),
        };
        int aclSize = AclHeaderSize;
        foreach (var a in aces)
        {
            aclSize += AceHeaderSize + SidSize(a.Sid);
        }
        int owner = HeaderSize + aclSize;
        int group = owner + SidSize(Administrators);
        var sd = new byte[group + SidSize(LocalSystem)];
        Span<byte> s = sd;
        s[0] = 1; // revision
        BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(2), SelfRelative | DaclProtected | DaclAutoInherited | DaclPresent);
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(4), owner);
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(8), group);
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(12), 0);          // no SACL
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(16), HeaderSize); // DACL right after the header
        Span<byte> acl = s.Slice(HeaderSize);
        acl[0] = AclRevision;
        BinaryPrimitives.WriteUInt16LittleEndian(acl.Slice(2), (ushort)aclSize);
        BinaryPrimitives.WriteUInt16LittleEndian(acl.Slice(4), (ushort)aces.Count);
        int pos = AclHeaderSize;
        foreach (var a in aces)
        {
            int size = AceHeaderSize + SidSize(a.Sid);
            acl[pos] = AccessAllowed;
            acl[pos + 1] = a.Flags;
            BinaryPrimitives.WriteUInt16LittleEndian(acl.Slice(pos + 2), (ushort)size);
            BinaryPrimitives.WriteUInt32LittleEndian(acl.Slice(pos + 4), a.Mask);
            WriteSid(acl.Slice(pos + AceHeaderSize), a.Sid);
            pos += size;
        }
        WriteSid(s.Slice(owner), Administrators);
        WriteSid(s.Slice(group), LocalSystem);
        return sd;
    }

    private static int SidSize((byte Authority, uint[] Subs) sid) => 8 + (4 * sid.Subs.Length);

    /// <summary>A binary SID (MS-DTYP 2.4.2.2): revision 1, count, 48-bit big-endian authority, little-endian sub-authorities.</summary>
    private static void WriteSid(Span<byte> d, (byte Authority, uint[] Subs) sid)
    {
        d[0] = 1;
        d[1] = (byte)sid.Subs.Length;
        d.Slice(2, 6).Clear();
        d[7] = sid.Authority;
        for (int i = 0; i < sid.Subs.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(d.Slice(8 + (4 * i)), sid.Subs[i]);
        }
    }
}
