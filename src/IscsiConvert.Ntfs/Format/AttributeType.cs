namespace IscsiConvert.Ntfs.Format;

/// <summary>Attribute type codes of NTFS 3.x (the defaults of $AttrDef).</summary>
internal static class AttributeType
{
    public const uint StandardInformation = 0x10;
    public const uint AttributeList = 0x20;
    public const uint FileName = 0x30;
    public const uint ObjectId = 0x40;
    public const uint SecurityDescriptor = 0x50;
    public const uint VolumeName = 0x60;
    public const uint VolumeInformation = 0x70;
    public const uint Data = 0x80;
    public const uint IndexRoot = 0x90;
    public const uint IndexAllocation = 0xA0;
    public const uint Bitmap = 0xB0;
    public const uint ReparsePoint = 0xC0;
    public const uint EaInformation = 0xD0;
    public const uint Ea = 0xE0;
    public const uint LoggedUtilityStream = 0x100;
    public const uint End = 0xFFFFFFFF;
}
