using Xunit;

namespace IscsiConvert.Core.Tests;

public class ExceptionTests
{
    [Fact]
    public void CorruptDataException_names_format_structure_offset_and_file()
    {
        var ex = new CorruptDataException("VHDX", "header 1", 0x10000, "checksum 0x1 expected 0x2", "/x/disk.vhdx");
        Assert.Equal("VHDX header 1 at offset 0x10000: checksum 0x1 expected 0x2 (file '/x/disk.vhdx')", ex.Message);
        Assert.Equal(0x10000, ex.Offset);
        Assert.IsAssignableFrom<IscsiConvertException>(ex);
    }

    [Fact]
    public void CorruptDataException_without_offset_or_file_says_neither()
    {
        var ex = new CorruptDataException("regf", "base block", -1, "truncated");
        Assert.Equal("regf base block: truncated", ex.Message);
        Assert.Null(ex.FilePath);
        Assert.Equal("/h", ex.WithFilePath("/h").FilePath);
    }

    [Fact]
    public void ProgressReport_fraction_is_safe_for_unknown_totals()
    {
        Assert.Equal(0, new ProgressReport("Copying", 5, 0).Fraction);
        Assert.Equal(0.5, new ProgressReport("Copying", 5, 10).Fraction);
    }
}
