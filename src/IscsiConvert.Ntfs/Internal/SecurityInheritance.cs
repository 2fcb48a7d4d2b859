using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The security descriptor Windows gives a new file or directory that has no explicit one: the parent's inheritable
/// DACL entries, marked inherited. Object-inherit entries apply to files; container-inherit entries to directories and
/// keep propagating unless no-propagate is set; an object-inherit-only entry on a directory is carried on as
/// inherit-only. Entries for CREATOR OWNER / CREATOR GROUP, or with generic rights, become two entries: an effective one
/// (the owner's or group's SID, generic rights mapped to file rights) and, where inheritance continues, the original as
/// inherit-only. Owner and group are taken from the parent (offline there is no creating user's token).
/// </summary>
internal static class SecurityInheritance
{
    private const ushort SeDaclPresent = 0x0004;
    private const ushort SeSaclPresent = 0x0010;
    private const ushort SeDaclAutoInherited = 0x0400;
    private const ushort SeSaclAutoInherited = 0x0800;
    private const ushort SeDaclProtected = 0x1000;
    private const ushort SeSelfRelative = 0x8000;

    private const byte ObjectInherit = 0x01;
    private const byte ContainerInherit = 0x02;
    private const byte NoPropagate = 0x04;
    private const byte InheritOnly = 0x08;
    private const byte Inherited = 0x10;

    private static readonly byte[] CreatorOwner = { 1, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0 };
    private static readonly byte[] CreatorGroup = { 1, 1, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0 };

    /// <summary>A parsed self-relative descriptor: control flags, owner and group SIDs, DACL entries (raw bytes each).</summary>
    internal sealed class Descriptor
    {
        public ushort Control { get; init; }

        public byte[]? Owner { get; init; }

        public byte[]? Group { get; init; }

        public byte AclRevision { get; init; } = 2;

        public List<byte[]>? Dacl { get; init; }

        /// <summary>Same owner, group, DACL presence/protection/auto-inheritance and entries (layout inside the bytes may differ).</summary>
        public bool IsEquivalentTo(Descriptor other)
        {
            const ushort Relevant = SeDaclPresent | SeDaclProtected | SeDaclAutoInherited | SeSaclPresent;
            return (Control & Relevant) == (other.Control & Relevant) && Same(Owner, other.Owner) && Same(Group, other.Group) &&
                (Dacl is null) == (other.Dacl is null) && (Dacl is null || (Dacl.Count == other.Dacl!.Count && Dacl.Zip(other.Dacl, Same).All(x => x)));
        }

        private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
    }

    /// <summary>Parses a self-relative descriptor; null when it is malformed.</summary>
    public static Descriptor? Parse(ReadOnlySpan<byte> sd)
    {
        if (sd.Length < 20 || sd[0] != 1)
        {
            return null;
        }
        ushort control = BinaryPrimitives.ReadUInt16LittleEndian(sd.Slice(2));
        int owner = (int)BinaryPrimitives.ReadUInt32LittleEndian(sd.Slice(4));
        int group = (int)BinaryPrimitives.ReadUInt32LittleEndian(sd.Slice(8));
        int dacl = (int)BinaryPrimitives.ReadUInt32LittleEndian(sd.Slice(16));
        List<byte[]>? aces = null;
        byte revision = 2;
        if ((control & SeDaclPresent) != 0 && dacl != 0)
        {
            if (dacl < 0 || dacl > sd.Length - 8)
            {
                return null;
            }
            revision = sd[dacl];
            int size = BinaryPrimitives.ReadUInt16LittleEndian(sd.Slice(dacl + 2));
            int count = BinaryPrimitives.ReadUInt16LittleEndian(sd.Slice(dacl + 4));
            if (size < 8 || size > sd.Length - dacl)
            {
                return null;
            }
            aces = new List<byte[]>();
            int pos = dacl + 8;
            for (int i = 0; i < count; i++)
            {
                if (pos > dacl + size - 4)
                {
                    return null;
                }
                int aceSize = BinaryPrimitives.ReadUInt16LittleEndian(sd.Slice(pos + 2));
                if (aceSize < 4 || pos + aceSize > dacl + size)
                {
                    return null;
                }
                aces.Add(sd.Slice(pos, aceSize).ToArray());
                pos += aceSize;
            }
        }
        return new Descriptor
        {
            Control = control,
            Owner = ReadSid(sd, owner),
            Group = ReadSid(sd, group),
            AclRevision = revision,
            Dacl = aces,
        };
    }

    private static byte[]? ReadSid(ReadOnlySpan<byte> sd, int offset)
    {
        if (offset <= 0 || offset > sd.Length - 8)
        {
            return null;
        }
        int length = 8 + (4 * sd[offset + 1]);
        return offset + length > sd.Length ? null : sd.Slice(offset, length).ToArray();
    }

    /// <summary>The descriptor a new child of a directory with descriptor <paramref name="parent"/> gets.</summary>
    public static Descriptor Inherit(Descriptor parent, bool childIsDirectory)
    {
        // Inherited entries are marked as such, and the child's DACL as auto-inherited, only when the parent's DACL is
        // auto-inherited itself; under a parent without that flag Windows writes the same entries unmarked (seen on the
        // Windows-formatted corpus: \test\1.txt of ntfs-lastaccess under \test).
        bool autoInherit = (parent.Control & SeDaclAutoInherited) != 0;
        byte inherited = autoInherit ? Inherited : (byte)0;
        var aces = new List<byte[]>();
        foreach (byte[] ace in parent.Dacl ?? new List<byte[]>())
        {
            byte flags = ace[1];
            bool oi = (flags & ObjectInherit) != 0;
            bool ci = (flags & ContainerInherit) != 0;
            bool np = (flags & NoPropagate) != 0;
            byte inheritFlags;
            bool effective;
            if (!childIsDirectory)
            {
                if (!oi)
                {
                    continue;
                }
                effective = true;
                inheritFlags = 0;
            }
            else if (ci)
            {
                effective = true;
                inheritFlags = np ? (byte)0 : (byte)(flags & (ObjectInherit | ContainerInherit));
            }
            else if (oi && !np)
            {
                effective = false;
                inheritFlags = (byte)(ObjectInherit | InheritOnly);
            }
            else
            {
                continue;
            }
            bool special = IsSimpleAce(ace) && (SidIs(ace, CreatorOwner) || SidIs(ace, CreatorGroup) || (Mask(ace) & 0xF0000000) != 0);
            if (effective && special)
            {
                aces.Add(Effective(ace, parent, inherited));
                if (inheritFlags != 0)
                {
                    aces.Add(WithFlags(ace, (byte)(inheritFlags | InheritOnly | inherited)));
                }
            }
            else
            {
                aces.Add(WithFlags(ace, (byte)(inheritFlags | inherited)));
            }
        }
        return new Descriptor
        {
            Control = (ushort)(SeSelfRelative | SeDaclPresent | (autoInherit ? SeDaclAutoInherited : 0)),
            Owner = parent.Owner,
            Group = parent.Group,
            AclRevision = parent.AclRevision,
            Dacl = aces,
        };
    }

    /// <summary>Encodes as a self-relative descriptor: header, DACL, owner, group.</summary>
    public static byte[] Encode(Descriptor d)
    {
        int daclSize = d.Dacl is null ? 0 : 8 + d.Dacl.Sum(a => a.Length);
        int ownerSize = d.Owner?.Length ?? 0;
        int groupSize = d.Group?.Length ?? 0;
        byte[] sd = new byte[20 + daclSize + ownerSize + groupSize];
        sd[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(sd.AsSpan(2), (ushort)(d.Control | SeSelfRelative));
        int pos = 20;
        if (d.Dacl is not null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sd.AsSpan(16), (uint)pos);
            sd[pos] = d.AclRevision;
            BinaryPrimitives.WriteUInt16LittleEndian(sd.AsSpan(pos + 2), (ushort)daclSize);
            BinaryPrimitives.WriteUInt16LittleEndian(sd.AsSpan(pos + 4), (ushort)d.Dacl.Count);
            int at = pos + 8;
            foreach (byte[] ace in d.Dacl)
            {
                ace.CopyTo(sd, at);
                at += ace.Length;
            }
            pos += daclSize;
        }
        if (d.Owner is not null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sd.AsSpan(4), (uint)pos);
            d.Owner.CopyTo(sd, pos);
            pos += ownerSize;
        }
        if (d.Group is not null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sd.AsSpan(8), (uint)pos);
            d.Group.CopyTo(sd, pos);
        }
        return sd;
    }

    // ACCESS_ALLOWED (0), ACCESS_DENIED (1), SYSTEM_AUDIT (2): type, flags, size, mask, SID.
    private static bool IsSimpleAce(byte[] ace) => ace[0] <= 2 && ace.Length >= 16;

    private static uint Mask(byte[] ace) => BinaryPrimitives.ReadUInt32LittleEndian(ace.AsSpan(4));

    private static bool SidIs(byte[] ace, byte[] sid) => ace.Length == 8 + sid.Length && ace.AsSpan(8).SequenceEqual(sid);

    private static byte[] WithFlags(byte[] ace, byte flags)
    {
        byte[] copy = (byte[])ace.Clone();
        copy[1] = flags;
        return copy;
    }

    // The effective copy: CREATOR OWNER/GROUP replaced by the owner/group, generic rights mapped to file rights.
    private static byte[] Effective(byte[] ace, Descriptor parent, byte flags)
    {
        byte[] sid = ace.AsSpan(8).ToArray();
        if (SidIs(ace, CreatorOwner) && parent.Owner is not null)
        {
            sid = parent.Owner;
        }
        else if (SidIs(ace, CreatorGroup) && parent.Group is not null)
        {
            sid = parent.Group;
        }
        byte[] result = new byte[8 + sid.Length];
        result[0] = ace[0];
        result[1] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(2), (ushort)result.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(4), MapGeneric(Mask(ace)));
        sid.CopyTo(result, 8);
        return result;
    }

    // The file object's generic mapping (FILE_GENERIC_READ/WRITE/EXECUTE, FILE_ALL_ACCESS).
    private static uint MapGeneric(uint mask)
    {
        uint mapped = mask & 0x0FFFFFFF;
        if ((mask & 0x80000000) != 0)
        {
            mapped |= 0x00120089;
        }
        if ((mask & 0x40000000) != 0)
        {
            mapped |= 0x00120116;
        }
        if ((mask & 0x20000000) != 0)
        {
            mapped |= 0x001200A0;
        }
        if ((mask & 0x10000000) != 0)
        {
            mapped |= 0x001F01FF;
        }
        return mapped;
    }
}
