namespace IscsiConvert.Drivers;

/// <summary>
/// Bounds on hostile input. Real INFs are far below them: the largest vendor INFs are a few MiB with a few thousand
/// sections, and setup itself limits a string to 4096 characters.
/// </summary>
internal static class InfLimits
{
    public const long MaxFileBytes = 64L * 1024 * 1024;
    public const int MaxLogicalLineChars = 64 * 1024;
    public const int MaxFieldsPerLine = 4096;
    public const int MaxSections = 100_000;
    public const int MaxLines = 4_000_000;
    public const int MaxStringNesting = 16;
    public const int MaxIncludeDepth = 4;
}
