namespace IscsiConvert.Registry;

/// <summary>The type of a registry value's data (REG_*). Other numbers occur in real hives and are kept as they are.</summary>
public enum RegistryValueType : uint
{
    /// <summary>REG_NONE: untyped bytes.</summary>
    None = 0,

    /// <summary>REG_SZ: a UTF-16LE string, normally NUL-terminated.</summary>
    String = 1,

    /// <summary>REG_EXPAND_SZ: a UTF-16LE string with %VARIABLES%.</summary>
    ExpandString = 2,

    /// <summary>REG_BINARY.</summary>
    Binary = 3,

    /// <summary>REG_DWORD: a 32-bit little-endian number.</summary>
    DWord = 4,

    /// <summary>REG_DWORD_BIG_ENDIAN.</summary>
    DWordBigEndian = 5,

    /// <summary>REG_LINK: a UTF-16LE symbolic link target.</summary>
    Link = 6,

    /// <summary>REG_MULTI_SZ: NUL-separated UTF-16LE strings ending with an empty one.</summary>
    MultiString = 7,

    /// <summary>REG_RESOURCE_LIST.</summary>
    ResourceList = 8,

    /// <summary>REG_FULL_RESOURCE_DESCRIPTOR.</summary>
    FullResourceDescriptor = 9,

    /// <summary>REG_RESOURCE_REQUIREMENTS_LIST.</summary>
    ResourceRequirementsList = 10,

    /// <summary>REG_QWORD: a 64-bit little-endian number.</summary>
    QWord = 11,
}
