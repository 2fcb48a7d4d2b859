using System;
using System.IO;

namespace IscsiConvert.Tests;

/// <summary>
/// The real netkvm INF body (virtio-win's netkvm-base.txt in ../shared/testdata), stamped the way its GenerateInf build
/// stamps it: the architecture, Red Hat's subsystem vendor ID, the drivers folder (dirid 12) and the DMA remapping default.
/// </summary>
public static class NetKvmInf
{
    public const string RelativePath = "inf/virtio-win/netkvm-base.txt";

    public static string Stamped(string arch) => File.ReadAllText(TestData.Require(RelativePath))
        .Replace("$ARCH$", arch, StringComparison.Ordinal)
        .Replace("_INX_SUBSYS_VENDOR_ID", "1AF4", StringComparison.Ordinal)
        .Replace("%INX_PLATFORM_DRIVERS_DIR%", "%12%", StringComparison.Ordinal)
        .Replace("INX_PLATFORM_DRIVERS_DIR", "12", StringComparison.Ordinal)
        .Replace("INX_NETKVM_DMAREMAP", "1", StringComparison.Ordinal);
}
