namespace IscsiConvert.Registry.Format;

/// <summary>A security cell ("sk"): a shared, reference-counted security descriptor in a doubly linked list.</summary>
internal static class SecurityCell
{
    public const ushort Signature = 0x6B73; // "sk"
    public const int FlinkOffset = 4;
    public const int BlinkOffset = 8;
    public const int ReferenceCountOffset = 12;
    public const int DescriptorSizeOffset = 16;
    public const int DescriptorOffset = 20;
}
