using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Drivers;
using IscsiConvert.Fuzzing;
using IscsiConvert.Tests;

namespace IscsiConvert.Fuzzing.Targets;

/// <summary>
/// INF text in every encoding the corpus has (ASCII/UTF-8, UTF-16LE with BOM) and the ones we re-encode it to (UTF-8
/// with BOM, UTF-16BE, UTF-16LE without BOM); each execution parses, reads [Version], the models for two targets and
/// resolves every install section (Include/Needs, CopyFiles, AddReg, AddService).
/// </summary>
internal sealed class InfTarget : FuzzTarget
{
    public override string Name => "INF";

    // Text: decoding to UTF-16 and splitting into lines and fields multiplies the bytes by a small constant.
    public override long AllocationPerInputByte => 400;

    public override long AllocationAllowance => 32L << 20;

    public override IReadOnlyList<Seed> LoadSeeds(string scratch)
    {
        string root = Path.Combine(TestData.Root, "inf");
        if (!Directory.Exists(root))
        {
            TestData.Require("inf/virtio-win/viostor.inx");
        }
        var seeds = new List<Seed>();
        foreach (string path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(p => Path.GetFileName(p) != "LICENSE").Order(StringComparer.Ordinal))
        {
            byte[] bytes = File.ReadAllBytes(path);
            seeds.Add(Describe(new Seed(Path.GetRelativePath(TestData.Root, path), new SeedFile(Path.GetFileName(path), bytes)), path));
        }
        string ascii = File.ReadAllText(TestData.Require("inf/virtio-win/viostor.inx"));
        foreach ((string name, Encoding encoding, bool bom) in new[]
        {
            ("viostor.inx as UTF-8 with BOM", (Encoding)new UTF8Encoding(true), true),
            ("viostor.inx as UTF-16BE with BOM", new UnicodeEncoding(true, true), true),
            ("viostor.inx as UTF-16LE without BOM", new UnicodeEncoding(false, false), false),
        })
        {
            byte[] text = encoding.GetBytes(ascii.Replace("\n", "\r\n", StringComparison.Ordinal));
            byte[] bytes = bom ? encoding.GetPreamble().Concat(text).ToArray() : text;
            seeds.Add(Describe(new Seed(name, new SeedFile("viostor.inf", bytes)), TestData.Require("inf/virtio-win/viostor.inx")));
        }
        return seeds;
    }

    public override void Execute(FuzzInput input)
    {
        bool tolerant = (input.Mutation.Patches.Count & 1) == 0; // the unmutated seeds: tolerant, as the CLI reads packages
        var options = new InfReadOptions
        {
            Tolerant = tolerant,
            TemplateArchitecture = "amd64",
            IncludeSearchFolder = input.Seed.Facts["folder"],
        };
        InfFile inf = InfFile.Parse(input.Mutation.Materialize(0), input.Seed.Files[0].Name, options);
        _ = inf.Version.Class;
        _ = inf.Version.ClassGuid;
        _ = inf.Version.DriverDate;
        _ = inf.Version.CatalogFiles;
        foreach (InfSection section in inf.Sections)
        {
            _ = section.ToString();
        }
        foreach (TargetOs target in new[] { TargetOs.Windows10X64, TargetOs.Windows7X64 })
        {
            foreach (InfManufacturer manufacturer in inf.GetManufacturers(target))
            {
                _ = manufacturer.Models.Count;
            }
            foreach (string section in inf.GetModels(target).Select(m => m.InstallSection).Distinct(StringComparer.OrdinalIgnoreCase).Take(64))
            {
                InfInstall install = inf.ResolveInstall(section, target);
                foreach (InfService service in install.Services)
                {
                    _ = service.ServiceBinaryPath;
                    _ = service.Registry.Count;
                }
                _ = install.Files.Count;
                _ = install.Registry.Count;
                _ = install.HardwareRegistry.Count;
            }
        }
    }

    internal static Seed Describe(Seed seed, string path)
    {
        seed.Facts["folder"] = Path.GetDirectoryName(path)!;
        byte[] b = seed.Files[0].Bytes;
        int start = 0;
        for (int i = 0; i < b.Length && seed.Regions.Count < 4000; i++)
        {
            if (b[i] == (byte)'\n')
            {
                seed.Region("line", start, i + 1 - start);
                start = i + 1;
            }
        }
        foreach (string token in new[]
        {
            "[", "]", "[Version]", "[Strings]", "[Manufacturer]", "%", "%%", "%a%", "\"", "\"\"", ";", "\\\r\n", "\\", "=", ",", "\r\n", "\n", "\r",
            "Include=", "Needs=", "CopyFiles=", "AddReg=", "AddService=", "DelReg=", "DestinationDirs", "$ARCH$", "NT$ARCH$.10.0...16299",
            "ServiceBinary=%12%\\..\\..\\x.sys", "HKR,,", "0x7FFFFFFF", "-1", "Signature=\"$Windows NT$\"", "\0", "\u00FF\u00FE", "\uD800",
            new string('x', 5000), "Include=viostor.inx", "Needs=DDInstall.Services",
        })
        {
            seed.Dictionary.Add(Encoding.UTF8.GetBytes(token));
            seed.Dictionary.Add(Encoding.Unicode.GetBytes(token));
        }
        seed.Dictionary.Add(new byte[] { 0xEF, 0xBB, 0xBF });
        seed.Dictionary.Add(new byte[] { 0xFF, 0xFE });
        seed.Dictionary.Add(new byte[] { 0xFE, 0xFF });
        return seed;
    }
}
