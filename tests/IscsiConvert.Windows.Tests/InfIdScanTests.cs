using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Drivers;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The byte scan that spares matching from parsing every INF (performance issue): on the real INF corpus, matching
/// only the INFs the scan lets through gives exactly the candidates (and exclusions) that parsing every INF gives,
/// for every ID any of those INFs lists, variants of them the device could report, and IDs none lists.
/// </summary>
public sealed class InfIdScanTests
{
    private static readonly TargetOs[] Targets =
    {
        new("x86", 6, 1, 7601), new("amd64", 6, 1, 7601), new("amd64", 10, 0, 19045), new("arm64", 10, 0, 22621),
    };

    [Fact]
    public void Matching_the_scanned_infs_of_the_real_corpus_chooses_what_parsing_every_inf_chooses()
    {
        string root = Path.GetDirectoryName(TestData.Require("inf/ms-pl/diskdev.inf"))!;
        var files = Directory.EnumerateFiles(Path.GetDirectoryName(root)!, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).Equals("LICENSE", StringComparison.Ordinal)).OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 25, $"{files.Count} corpus files");
        var ids = new SortedSet<string>(StringComparer.Ordinal) { @"PCI\VEN_8086&DEV_10D3", @"PCI\VEN_FFFF&DEV_0001", @"ROOT\NOTLISTED" };
        int compared = 0, skippedSomewhere = 0;
        foreach (TargetOs target in Targets)
        {
            var options = new InfReadOptions { Tolerant = true, TemplateArchitecture = target.Architecture };
            var all = new List<(ImageInf Inf, byte[] Data)>();
            foreach (string f in files)
            {
                byte[] data = File.ReadAllBytes(f);
                InfFile? inf = null;
                string? error = null;
                try
                {
                    inf = InfFile.Parse(data, f, options);
                }
                catch (InfParseException ex)
                {
                    error = ex.Message;
                }
                all.Add((new ImageInf(f, InfOrigin.InfFolder, inf, error), data));
                foreach (InfSection section in inf?.Sections ?? Array.Empty<InfSection>())
                {
                    foreach (InfLine line in section.Lines)
                    {
                        foreach (string v in line.Values.Skip(1).Where(v => v.Contains('\\', StringComparison.Ordinal) && v.Length < 200))
                        {
                            ids.Add(v);
                            ids.Add(v.ToLowerInvariant());
                            if (v.StartsWith(@"PCI\VEN_", StringComparison.OrdinalIgnoreCase) && !v.Contains("SUBSYS", StringComparison.OrdinalIgnoreCase))
                            {
                                ids.Add(v + "&SUBSYS_00011AF4&REV_01"); // what the device reports: more specific than the INF's ID
                            }
                        }
                    }
                }
            }
            foreach (string deviceId in ids)
            {
                HardwareId id;
                try
                {
                    id = HardwareId.Parse(deviceId);
                }
                catch (ArgumentException)
                {
                    continue; // not a device ID a NIC or controller reports
                }
                InfIdScan scan = InfIdScan.For(id.GetHardwareIds(), id.GetCompatibleIds());
                var scanned = all.Where(x => scan.MayList(x.Data)).Select(x => x.Inf).ToList();
                skippedSomewhere += all.Count - scanned.Count;
                DriverMatchReport full = DriverMatcher.Match(deviceId, id, all.Select(x => x.Inf).ToList(), target);
                DriverMatchReport fast = DriverMatcher.Match(deviceId, id, scanned.Where(i => i.Inf is not null).ToList(), target, all.Count - scanned.Count);
                Assert.Equal(Describe(full), Describe(fast));
                Assert.Equal(full.Excluded, fast.Excluded);
                compared++;
            }
        }
        Assert.True(compared > 100, $"{compared} comparisons");
        Assert.True(skippedSomewhere > compared, "the scan should leave most INFs unparsed");
    }

    private static string Describe(DriverMatchReport r) =>
        string.Join("\n", r.Candidates.Select(c => $"{c.InfPath} [{c.Model.ModelsSection}] {c.Model.HardwareId} 0x{c.Rank:X4} {c.InstallSection} {c.Service} {c.Match.MatchedId}"));

    [Theory]
    [InlineData("ascii", true)]
    [InlineData("utf-16le", true)]
    [InlineData("utf-16be", true)]
    [InlineData("longer-id", false)]
    [InlineData("other-device", false)]
    public void The_scan_finds_an_id_in_any_case_and_encoding_but_not_inside_a_longer_id(string variant, bool expected)
    {
        HardwareId id = HardwareId.Parse(@"PCI\VEN_8086&DEV_10D3&SUBSYS_00008086");
        InfIdScan scan = InfIdScan.For(id.GetHardwareIds(), id.GetCompatibleIds());
        string line = variant switch
        {
            "longer-id" => "%Nic% = Install, PCI\\VEN_8086&DEV_10D3&SUBSYS_11118086\r\n",
            "other-device" => "%Nic% = Install, PCI\\VEN_8086&DEV_10D4, PCI\\VEN_8087\r\n",
            _ => "%Nic% = Install, pci\\ven_8086&dev_10d3\r\n",
        };
        string text = "[Models.NTamd64]\r\n" + line;
        byte[] data = variant switch
        {
            "utf-16le" => Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(text)).ToArray(),
            "utf-16be" => Encoding.BigEndianUnicode.GetPreamble().Concat(Encoding.BigEndianUnicode.GetBytes(text)).ToArray(),
            _ => Encoding.ASCII.GetBytes(text),
        };
        Assert.Equal(expected, scan.MayList(data));
        Assert.True(scan.MayList(Encoding.ASCII.GetBytes("x = y, PCI\\VEN_8086")), "the vendor-only compatible ID at the end of the file");
    }
}
