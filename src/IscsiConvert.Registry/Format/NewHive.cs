using System;
using System.Buffers.Binary;

namespace IscsiConvert.Registry.Format;

/// <summary>
/// The bytes of a new, empty hive: a clean base block and one 4 KiB bin holding the root key node, the one security
/// cell it uses and a free cell for the rest. Everything later (keys, values, more bins) goes through the editor.
/// </summary>
internal static class NewHive
{
    /// <summary>
    /// 1.5: what Windows since XP writes for the hives it creates and keeps (the Windows 7 SYSTEM and Windows 10
    /// NTUSER.DAT and SECURITY of the corpus are 1.5); it has hash leaves (lh) and big data (db) for values over 16344
    /// bytes. 1.3 survives only where old readers must still load the file (the BCD store, SAM).
    /// </summary>
    public const uint MinorVersion = 5;

    /// <summary>Flags of a root key as every hive in the corpus has them: KEY_HIVE_ENTRY | KEY_NO_DELETE (+ KEY_COMP_NAME).</summary>
    public const ushort RootFlags = KeyNode.FlagHiveEntry | KeyNode.FlagNoDelete;

    private const int FirstCell = HiveBin.HeaderSize;
    private const int CellAlignment = 8;

    public static byte[] Build(string rootName, string fileName, long fileTime)
    {
        bool compressed = NameRules.CanCompress(rootName);
        byte[] name = NameRules.Encode(rootName, compressed);
        byte[] descriptor = DefaultSecurity.Build();
        int nk = FirstCell;
        int nkSize = Align(4 + KeyNode.NameOffset + name.Length);
        int sk = nk + nkSize;
        int skSize = Align(4 + SecurityCell.DescriptorOffset + descriptor.Length);
        int free = sk + skSize;
        if (free > HiveBin.Alignment - CellAlignment)
        {
            throw new InvalidOperationException("The root key and its security descriptor do not fit in the first bin.");
        }

        var file = new byte[BaseBlock.Size + HiveBin.Alignment];
        Span<byte> bins = file.AsSpan(BaseBlock.Size);
        HiveBin.WriteHeader(bins, 0, HiveBin.Alignment);
        BinaryPrimitives.WriteInt64LittleEndian(bins.Slice(HiveBin.TimestampOffset), fileTime);

        // The root key node. Its parent field points nowhere: the roots of Windows' own hive files hold values there
        // that are not the start of any cell in the file (SYSTEM 0x278, SAM 0x4F8), so readers never follow it.
        BinaryPrimitives.WriteInt32LittleEndian(bins.Slice(nk), -nkSize);
        Span<byte> c = bins.Slice(nk + 4, nkSize - 4);
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.SignatureOffset), KeyNode.Signature);
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.FlagsOffset), (ushort)(RootFlags | (compressed ? KeyNode.FlagCompressedName : 0)));
        BinaryPrimitives.WriteInt64LittleEndian(c.Slice(KeyNode.LastWriteOffset), fileTime);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.ParentOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.SubkeyListOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.VolatileSubkeyListOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.ValueListOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.SecurityOffset), sk);
        BinaryPrimitives.WriteInt32LittleEndian(c.Slice(KeyNode.ClassOffset), KeyNode.NoCell);
        BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(KeyNode.NameLengthOffset), (ushort)name.Length);
        name.CopyTo(c.Slice(KeyNode.NameOffset));

        // The security cell: the only one, so its list links point to itself; one reference (the root).
        BinaryPrimitives.WriteInt32LittleEndian(bins.Slice(sk), -skSize);
        Span<byte> s = bins.Slice(sk + 4, skSize - 4);
        BinaryPrimitives.WriteUInt16LittleEndian(s, SecurityCell.Signature);
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(SecurityCell.FlinkOffset), sk);
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(SecurityCell.BlinkOffset), sk);
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(SecurityCell.ReferenceCountOffset), 1);
        BinaryPrimitives.WriteInt32LittleEndian(s.Slice(SecurityCell.DescriptorSizeOffset), descriptor.Length);
        descriptor.CopyTo(s.Slice(SecurityCell.DescriptorOffset));

        // The rest of the bin is one free cell.
        BinaryPrimitives.WriteInt32LittleEndian(bins.Slice(free), HiveBin.Alignment - free);

        BaseBlock b = BaseBlock.CreatePrimary(MinorVersion, (uint)nk);
        b.PrimarySequence = 1;
        b.SecondarySequence = 1;
        b.Timestamp = fileTime;
        b.HiveBinsDataSize = HiveBin.Alignment;
        b.FileName = fileName;
        b.WriteTo(file);
        return file;
    }

    private static int Align(int v) => (v + CellAlignment - 1) / CellAlignment * CellAlignment;
}
