using System;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>lspci -P locations to the CDDB's device-path form, as Cyberus' "Windows on iSCSI" part 3 writes them.</summary>
public sealed class PciDevicePathTests
{
    [Theory]
    [InlineData("00:1e.0/01:01.0", "PCIROOT(0)#PCI(1E00)#PCI(0100)")] // the article's example
    [InlineData("00:03.0", "PCIROOT(0)#PCI(0300)")]
    [InlineData("0000:00:1c.4/02:00.1", "PCIROOT(0)#PCI(1C04)#PCI(0001)")] // lspci -D adds the domain
    public void Lspci_paths_become_device_paths(string lspci, string expected) =>
        Assert.Equal(expected, PciDevicePath.ToCriticalDeviceKey(lspci));

    [Theory]
    [InlineData("")]
    [InlineData("00:1e")]
    [InlineData("00:20.0")] // device 0x20 does not exist (5 bits)
    [InlineData("00:1f.8")] // function 8 does not exist (3 bits)
    [InlineData("0001:00:03.0")] // another PCI domain has no PCIROOT(0) form
    public void Bad_paths_are_refused_naming_the_part(string lspci) =>
        Assert.Throws<FormatException>(() => PciDevicePath.ToCriticalDeviceKey(lspci));
}
