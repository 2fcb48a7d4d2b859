using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The generation from the CurrentVersion values, per Microsoft's published version numbers: 5.1 XP, 5.2 Server 2003,
/// 6.0 Vista/2008, 6.1 7/2008 R2, 6.2 8/2012, 6.3 8.1/2012 R2; Windows 10/11 keep "6.3" but add CurrentMajorVersionNumber 10.
/// </summary>
public class WindowsFamilyTests
{
    [Theory]
    [InlineData("5.1", null, WindowsFamily.WindowsXPOr2003)]
    [InlineData("5.2", null, WindowsFamily.WindowsXPOr2003)]
    [InlineData("6.0", null, WindowsFamily.WindowsVistaOr2008)]
    [InlineData("6.1", null, WindowsFamily.Windows7Or2008R2)]
    [InlineData("6.2", null, WindowsFamily.Windows8Or2012)]
    [InlineData("6.3", null, WindowsFamily.Windows81Or2012R2)]
    [InlineData("6.3", 10u, WindowsFamily.Windows10OrLater)]
    [InlineData(null, null, WindowsFamily.Unknown)]
    [InlineData("4.0", null, WindowsFamily.Unknown)]
    public void Family_follows_the_published_version_numbers(string? currentVersion, uint? major, WindowsFamily expected)
    {
        var v = new WindowsVersion("x", currentVersion, "1", major, major is null ? null : 0u, null, null);
        Assert.Equal(expected, v.Family);
    }
}
