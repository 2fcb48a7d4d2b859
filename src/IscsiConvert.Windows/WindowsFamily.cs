namespace IscsiConvert.Windows;

/// <summary>The Windows generations that differ in how drivers reach the boot path (CDDB before 8, DriverDatabase after).</summary>
public enum WindowsFamily
{
    /// <summary>The version could not be read or is not one of the known ones.</summary>
    Unknown = 0,

    /// <summary>NT 5.1 / 5.2: Windows XP, Server 2003.</summary>
    WindowsXPOr2003 = 1,

    /// <summary>NT 6.0: Windows Vista, Server 2008.</summary>
    WindowsVistaOr2008 = 2,

    /// <summary>NT 6.1: Windows 7, Server 2008 R2.</summary>
    Windows7Or2008R2 = 3,

    /// <summary>NT 6.2: Windows 8, Server 2012.</summary>
    Windows8Or2012 = 4,

    /// <summary>NT 6.3 without a major version number: Windows 8.1, Server 2012 R2.</summary>
    Windows81Or2012R2 = 5,

    /// <summary>NT 10.0: Windows 10 and 11, Server 2016 to 2025.</summary>
    Windows10OrLater = 6,
}
