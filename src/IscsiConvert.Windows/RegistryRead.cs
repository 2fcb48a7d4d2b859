using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Tolerant value reads: a value of an unexpected type or size reads as absent, because a model of someone else's
/// Windows must describe what is there rather than fail on one odd value.
/// </summary>
internal static class RegistryRead
{
    public static uint? DWord(RegistryKey key, string name)
    {
        RegistryValue? v = key.GetValue(name);
        if (v is null || v.Data.Length < 4)
        {
            return null;
        }
        return v.Type is RegistryValueType.DWord or RegistryValueType.DWordBigEndian ? v.AsDWord() : null;
    }

    public static string? String(RegistryKey key, string name)
    {
        RegistryValue? v = key.GetValue(name);
        if (v is null)
        {
            return null;
        }
        return v.Type is RegistryValueType.String or RegistryValueType.ExpandString ? v.AsString() : null;
    }
}
