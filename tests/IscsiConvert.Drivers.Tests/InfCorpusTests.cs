using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Drivers.Tests;

/// <summary>Every INF, INX and INF body in the shared test data parses; facts from MANIFEST.md (encoding, section count, class) hold.</summary>
public sealed class InfCorpusTests
{
    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        string root = Path.Combine(TestData.Root, "inf");
        if (!Directory.Exists(root))
        {
            // A fresh clone without ../shared: one case, which skips (fails under CI) naming what is missing.
            data.Add("inf/(the shared INF corpus)");
            return data;
        }
        foreach (string f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
        {
            string ext = Path.GetExtension(f).ToLowerInvariant();
            if (ext is ".inf" or ".inx" || f.EndsWith("netkvm-base.txt", StringComparison.Ordinal))
            {
                data.Add(Path.GetRelativePath(TestData.Root, f).Replace('\\', '/'));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void EveryCorpusInfParses(string relative)
    {
        string path = TestData.Require(relative);
        string text = File.ReadAllText(path);
        bool template = text.Contains("$ARCH$", StringComparison.Ordinal) || text.Contains("INX_", StringComparison.Ordinal) ||
                        relative.EndsWith(".inx", StringComparison.OrdinalIgnoreCase);
        InfFile inf = InfFile.Load(path, new InfReadOptions { Tolerant = template });
        Assert.True(inf.HasSection("Version"));
        Assert.NotNull(inf.Version.Class);
        foreach (TargetOs target in new[] { TargetOs.Windows7X64, TargetOs.Windows10X64, TargetOs.Parse("win7-x86"), TargetOs.Parse("win10-arm64") })
        {
            foreach (InfModel model in inf.GetModels(target))
            {
                inf.ResolveInstall(model.InstallSection, target);
            }
        }
        // Stamped as amd64 (what stampinf does), every template offers models to Windows 10 x64.
        InfFile stamped = InfFile.Load(path, new InfReadOptions { Tolerant = true, TemplateArchitecture = "amd64" });
        TargetOs win11 = TargetOs.Parse("win11-x64@26100");
        if (stamped.HasSection("Manufacturer"))
        {
            Assert.NotEmpty(stamped.GetModels(win11));
        }
        else
        {
            // A primitive (non-PnP) package: installed through DefaultInstall.
            Assert.Equal("DefaultInstall.ntamd64", stamped.ChooseInstallSection("DefaultInstall", win11));
            Assert.NotEmpty(stamped.ResolveInstall("DefaultInstall", win11).Files);
        }
    }

    // Section counts, encodings and classes as MANIFEST.md states them (the collector's independent Python reader).
    [Theory]
    [InlineData("inf/virtio-win/viostor.inx", 17, "ASCII", "SCSIAdapter")]
    [InlineData("inf/virtio-win/vioscsi.inx", 17, "ASCII", "SCSIAdapter")]
    [InlineData("inf/virtio-win/netkvm-base.txt", 19, "ASCII", "Net")]
    [InlineData("inf/xen/xenvbd.inf", 15, "ASCII", "SCSIAdapter")]
    [InlineData("inf/ms-pl/netrtwlans.inf", 70, "ASCII", "Net")]
    [InlineData("inf/ms-pl/netvadapter.inf", 26, "UTF-16LE", "Net")]
    [InlineData("inf/ms-pl/netvadapterum.inf", 33, "UTF-16LE", "Net")]
    [InlineData("inf/ms-pl/netvmini680.inf", 17, "ASCII", "Net")]
    [InlineData("inf/ms-pl/toastpkg.inf", 15, "ASCII", "TOASTER")]
    [InlineData("inf/ms-pl/osrusbfx2.inx", 17, "UTF-8", "Sample")]
    public void ManifestFactsHold(string relative, int sections, string encoding, string @class)
    {
        InfFile inf = InfFile.Load(TestData.Require(relative), new InfReadOptions { Tolerant = true });
        Assert.Equal(sections, inf.Sections.Count);
        Assert.Equal(encoding, inf.Encoding);
        Assert.Equal(@class, inf.Version.Class);
    }
}
