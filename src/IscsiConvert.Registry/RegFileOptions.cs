using System.Text;

namespace IscsiConvert.Registry;

/// <summary>How <see cref="RegFile"/> reads a .reg file.</summary>
public sealed class RegFileOptions
{
    /// <summary>
    /// The text that stands for the hive root in key lines, such as <c>HKEY_LOCAL_MACHINE\SYSTEM</c> for a SYSTEM hive
    /// (compared case-insensitively). Every key line must be this prefix or lie below it; anything else is an error.
    /// Null or empty (the default): key lines are paths from the hive root, with or without a leading backslash, as
    /// hivexregedit writes them.
    /// </summary>
    public string? RootPrefix { get; set; }

    /// <summary>
    /// The code page of a file without a byte order mark (REGEDIT4 files, and ANSI-saved 5.00 files), which is also
    /// the encoding of REGEDIT4 hex(1), hex(2) and hex(7) string data. Null (the default): Windows-1252.
    /// </summary>
    public Encoding? AnsiEncoding { get; set; }
}
