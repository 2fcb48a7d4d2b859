using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// DriverDatabase\OemInfMap as a bitmap, most significant bit first: the real Windows 10 hive holds ff fc with oem0 –
/// oem13 taken (six of those have DriverInfFiles keys; the others were taken and later removed, the bit stays).
/// </summary>
public sealed class OemInfMapTests
{
    private static readonly byte[] RealMap = { 0xFF, 0xFC };

    [Theory]
    [InlineData(0, true)]
    [InlineData(7, true)]
    [InlineData(13, true)]
    [InlineData(14, false)]
    [InlineData(15, false)]
    [InlineData(16, false)]
    public void Bits_read_most_significant_first(int number, bool taken) => Assert.Equal(taken, OemInfSlot.IsSet(RealMap, number));

    [Fact]
    public void Setting_a_bit_grows_the_map_and_leaves_the_input_alone()
    {
        Assert.Equal(new byte[] { 0xFF, 0xFE }, OemInfSlot.SetBit(RealMap, 14));
        Assert.Equal(new byte[] { 0xFF, 0xFC, 0x80 }, OemInfSlot.SetBit(RealMap, 16));
        Assert.Equal(new byte[] { 0x80 }, OemInfSlot.SetBit(null, 0));
        Assert.Equal(new byte[] { 0xFF, 0xFC }, RealMap);
    }
}
