using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;
using System.Xml;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>Key timestamps against hivexml, and class names.</summary>
public sealed class MetadataTests
{
    [Theory]
    [InlineData(Hives.Bcd)]
    [InlineData(Hives.Sam)]
    [InlineData(Hives.OldRecoveredByWindows)]
    public void KeyTimestampsMatchHivexml(string relative)
    {
        string path = TestData.Require(relative);
        string xml = Oracle.RunChecked("hivexml", path);
        var expected = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        using (var reader = XmlReader.Create(new StringReader(xml)))
        {
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element && reader.Name == "node")
                {
                    bool root = reader.GetAttribute("root") == "1";
                    string name = reader.GetAttribute("name")!;
                    string p = root ? string.Empty : (stack.Peek().Length == 0 ? name : stack.Peek() + "\\" + name);
                    if (reader.IsEmptyElement)
                    {
                        continue;
                    }
                    stack.Push(p);
                }
                else if (reader.NodeType == XmlNodeType.EndElement && reader.Name == "node")
                {
                    stack.Pop();
                }
                else if (reader.NodeType == XmlNodeType.Element && reader.Name == "mtime" && stack.Count > 0)
                {
                    expected[stack.Peek()] = DateTimeOffset.Parse(reader.ReadElementContentAsString(), CultureInfo.InvariantCulture);
                }
            }
        }
        Assert.True(expected.Count > 1);
        using RegistryHive hive = Hives.OpenReadOnly(path);
        int compared = 0;
        foreach (RegistryKey k in RegistryExport.Walk(hive.Root))
        {
            if (expected.TryGetValue(k.Path, out DateTimeOffset t))
            {
                Assert.Equal(t.ToUnixTimeSeconds(), k.LastWriteTime.ToUnixTimeSeconds());
                compared++;
            }
        }
        Assert.Equal(expected.Count, compared);
    }

    [Fact]
    public void LsaBootKeyClassNamesAreEightHexDigits()
    {
        // The Lsa\JD, Skew1, GBG and Data keys carry the boot key scrambled into their class names (8 hex digits each).
        using RegistryHive hive = Hives.OpenReadOnly(TestData.Require(Hives.Win7System));
        foreach (string name in new[] { "JD", "Skew1", "GBG", "Data" })
        {
            string? cls = hive.OpenKey(@"ControlSet001\Control\Lsa\" + name)!.ClassName;
            Assert.NotNull(cls);
            Assert.Matches(new Regex("^[0-9a-f]{8}$"), cls!);
        }
        Assert.Null(hive.OpenKey("Select")!.ClassName);
    }
}
