using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using CsCheck;
using IscsiConvert.Drivers;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Drivers.Tests;

/// <summary>The INF text grammar: encodings, line ends, comments, quotes, continuations, strings; bad text fails with file and line.</summary>
public sealed class InfGrammarTests
{
    private const string Header = "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Test\r\n";

    private static InfFile Text(string body, InfReadOptions? options = null) =>
        InfFile.Parse(Encoding.UTF8.GetBytes(Header + body), "test.inf", options);

    /// <summary>Everything the parser produced, as text: sections and their entries.</summary>
    internal static string Dump(InfFile inf)
    {
        var sb = new StringBuilder();
        foreach (InfSection s in inf.Sections)
        {
            sb.Append('[').Append(s.Name).Append("]\n");
            foreach (InfLine l in s.Lines)
            {
                sb.Append(l.Key ?? "<none>").Append(" => ").Append(string.Join(" | ", l.Values)).Append('\n');
            }
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData("inf/virtio-win/viostor.inx")]
    [InlineData("inf/ms-pl/netvadapter.inf")]
    [InlineData("inf/ms-pl/netrtwlans.inf")]
    [InlineData("inf/dmf/VHidMini2DmfK.inx")]
    public void LineEndsAndEncodingsGiveEqualResults(string relative)
    {
        var options = new InfReadOptions { Tolerant = true, TemplateArchitecture = "amd64" };
        InfFile original = InfFile.Load(TestData.Require(relative), options);
        string text = File.ReadAllText(TestData.Require(relative)); // detects the BOM
        string lf = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        string crlf = lf.Replace("\n", "\r\n", StringComparison.Ordinal);
        var variants = new Dictionary<string, byte[]>
        {
            ["utf8-lf"] = new UTF8Encoding(false).GetBytes(lf),
            ["utf8-crlf"] = new UTF8Encoding(false).GetBytes(crlf),
            ["utf8bom-crlf"] = new UTF8Encoding(true).GetPreamble().Concat(Encoding.UTF8.GetBytes(crlf)).ToArray(),
            ["utf16le-bom-crlf"] = new byte[] { 0xFF, 0xFE }.Concat(Encoding.Unicode.GetBytes(crlf)).ToArray(),
            ["utf16le-bom-lf"] = new byte[] { 0xFF, 0xFE }.Concat(Encoding.Unicode.GetBytes(lf)).ToArray(),
            ["utf16be-bom-crlf"] = new byte[] { 0xFE, 0xFF }.Concat(Encoding.BigEndianUnicode.GetBytes(crlf)).ToArray(),
        };
        string expected = Dump(original);
        foreach ((string name, byte[] bytes) in variants)
        {
            InfFile variant = InfFile.Parse(bytes, name, options);
            Assert.Equal(expected, Dump(variant));
            Assert.Equal(original.GetModels(TargetOs.Windows10X64).Select(m => m.HardwareId), variant.GetModels(TargetOs.Windows10X64).Select(m => m.HardwareId));
        }
    }

    [Fact]
    public void AnsiIsWindows1252()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Header + "[Strings]\r\nCopy = \"X Y Z\"\r\n");
        int at = Array.IndexOf(bytes, (byte)'X');
        bytes[at] = 0xA9; // ©
        bytes[at + 2] = 0x80; // €
        bytes[at + 4] = 0x99; // ™
        InfFile inf = InfFile.Parse(bytes, "ansi.inf");
        Assert.Equal("Windows-1252", inf.Encoding);
        Assert.Equal("\u00A9 \u20AC \u2122", inf.GetString("copy"));
    }

    [Fact]
    public void Lines_and_models_keep_the_text_as_written_before_string_substitution()
    {
        InfFile inf = Text(
            "[Manufacturer]\r\n%Mfg%=Models\r\n" +
            "[Models]\r\n%Desc% = Install, PCI\\VEN_1AF4&DEV_1000\r\nPlain text = Install, PCI\\VEN_1AF4&DEV_1001\r\n" +
            "[Svc]\r\nDisplayName = %SvcName%\r\n" +
            "[Strings]\r\nMfg = \"Example\"\r\nDesc = \"Example NIC\"\r\nSvcName = \"Example service\"\r\n");
        InfLine display = inf.GetSection("Svc")!.Lines[0];
        Assert.Equal(("Example service", "%SvcName%"), (display.Text, display.RawText));
        var models = inf.GetModels(new TargetOs("x86", 6, 1, 7601));
        Assert.Equal(("Example", "%Mfg%", "Example NIC", "%Desc%"), (models[0].Manufacturer, models[0].RawManufacturer, models[0].Description, models[0].RawDescription));
        Assert.Equal(("Plain text", "Plain text"), (models[1].Description, models[1].RawDescription));
    }

    [Fact]
    public void CommentsQuotesAndContinuations()
    {
        InfFile inf = Text(
            "[a]\r\n" +
            "k1 = \"x;y\" ; a comment with \"quotes\"\r\n" +
            "k2 = one, \\\r\n" +
            "     two , three\r\n" +
            "k3 = \"say \"\"hi\"\"\", \"  padded  \"\r\n" +
            "k4 = a\"b,c\"d, e\r\n" +
            "; only a comment\r\n" +
            "plain, , last\r\n" +
            "k5 = ends with backslash\\x\r\n");
        InfSection a = inf.GetSection("A")!;
        Assert.Equal(new[] { "x;y" }, a.Lines[0].Values);
        Assert.Equal(new[] { "one", "two", "three" }, a.Lines[1].Values);
        Assert.Equal(new[] { "say \"hi\"", "  padded  " }, a.Lines[2].Values);
        Assert.Equal(new[] { "ab,cd", "e" }, a.Lines[3].Values);
        Assert.Null(a.Lines[4].Key);
        Assert.Equal(new[] { "plain", string.Empty, "last" }, a.Lines[4].Values);
        Assert.Equal(new[] { "ends with backslash\\x" }, a.Lines[5].Values);
        Assert.Equal(6, a.Lines.Count);
        Assert.Equal(new[] { 5, 6, 8, 9, 11, 12 }, a.Lines.Select(l => l.LineNumber)); // continuation keeps its first line
    }

    [Fact]
    public void SectionsAndKeysAreCaseInsensitiveAndRepeatedSectionsMerge()
    {
        InfFile inf = Text("[Files]\r\na.sys\r\n[other]\r\nx=1\r\n[FILES]\r\nb.sys\r\n[files]\r\nc.sys\r\n");
        InfSection files = inf.GetSection("fIlEs")!;
        Assert.Equal("Files", files.Name);
        Assert.Equal(new[] { "a.sys", "b.sys", "c.sys" }, files.Lines.Select(l => l[0]));
        Assert.Equal("Test", inf.GetSection("VERSION")!.GetValue("class"));
        Assert.Equal(3, inf.Sections.Count);
    }

    [Fact]
    public void StringsAreSubstitutedWithLocaleFallback()
    {
        const string body =
            "[a]\r\nx = %Name%, %Only%, %%SystemRoot%%\\x, 100%%, %12%\\d.sys\r\n" +
            "[Strings]\r\nName = \"Neutral\"\r\nOnly = neutral only\r\n" +
            "[Strings.0407]\r\nname = \"Deutsch\"\r\n";
        Assert.Equal(new[] { "Neutral", "neutral only", "%SystemRoot%\\x", "100%", "%12%\\d.sys" }, Text(body).GetSection("a")!.Lines[0].Values);
        Assert.Equal(new[] { "Deutsch", "neutral only", "%SystemRoot%\\x", "100%", "%12%\\d.sys" }, Text(body, new InfReadOptions { Locale = "0407" }).GetSection("a")!.Lines[0].Values);
        Assert.Equal("Neutral", Text(body, new InfReadOptions { Locale = "040C" }).GetSection("a")!.Lines[0][0]);
    }

    [Fact]
    public void StringValuesKeepCommasAndMayReferToOtherStrings()
    {
        InfFile inf = Text("[a]\r\nx = %Full%\r\n[Strings]\r\nCo = \"Contoso, Ltd.\"\r\nFull = \"%Co% Adapter\"\r\n");
        Assert.Equal(new[] { "Contoso, Ltd. Adapter" }, inf.GetSection("a")!.Lines[0].Values);
    }

    [Fact]
    public void UndefinedStringIsAnErrorUnlessTolerant()
    {
        var ex = Assert.Throws<InfParseException>(() => Text("[a]\r\nx = %Missing%\r\n"));
        Assert.Equal(5, ex.Line);
        Assert.Equal("test.inf", ex.FileName);
        Assert.Contains("Missing", ex.Message, StringComparison.Ordinal);
        InfFile tolerant = Text("[a]\r\nx = %Missing%\r\n", new InfReadOptions { Tolerant = true });
        Assert.Equal("%Missing%", tolerant.GetSection("a")!.Lines[0][0]);
        Assert.Contains(tolerant.Warnings, w => w.Contains("Missing", StringComparison.Ordinal));
    }

    [Fact]
    public void StringLoopFailsWithFileAndLine()
    {
        var ex = Assert.Throws<InfParseException>(() => Text("[a]\r\nx = %A%\r\n[Strings]\r\nA = \"%B%\"\r\nB = \"x%A%\"\r\n"));
        Assert.Equal("test.inf", ex.FileName);
        Assert.True(ex.Line is 7 or 8, $"line {ex.Line}");
        Assert.Contains("refers to itself", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnterminatedQuoteFailsWithLine()
    {
        var ex = Assert.Throws<InfParseException>(() => Text("[a]\r\nok = 1\r\nbad = \"no end\r\nnext = 2\r\n"));
        Assert.Equal(6, ex.Line);
        Assert.Contains("test.inf", ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 6", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BinaryGarbageFails()
    {
        var bytes = new byte[4096];
        new System.Random(1234).NextBytes(bytes);
        bytes[0] = 0x00;
        bytes[1] = 0x01; // not a BOM, not UTF-16 ASCII
        var ex = Assert.Throws<InfParseException>(() => InfFile.Parse(bytes, "garbage.inf"));
        Assert.Equal("garbage.inf", ex.FileName);
        Assert.True(ex.Line >= 1);
    }

    [Fact]
    public void HugeLineFailsFast()
    {
        string huge = Header + "[a]\r\nx = " + new string('a', 2_000_000) + "\r\n";
        var ex = Assert.Throws<InfParseException>(() => InfFile.Parse(Encoding.ASCII.GetBytes(huge), "huge.inf"));
        Assert.Equal(5, ex.Line);
        // Endless continuation lines are one logical line: bounded too.
        string continued = Header + "[a]\r\nx = " + string.Concat(Enumerable.Repeat("abcdefgh, \\\r\n", 20_000)) + "z\r\n";
        Assert.Throws<InfParseException>(() => InfFile.Parse(Encoding.ASCII.GetBytes(continued), "cont.inf"));
    }

    [Fact]
    public void TooManySectionsFail()
    {
        var sb = new StringBuilder(Header);
        for (int i = 0; i <= 100_000; i++)
        {
            sb.Append("[s").Append(i).Append("]\n");
        }
        var ex = Assert.Throws<InfParseException>(() => InfFile.Parse(Encoding.ASCII.GetBytes(sb.ToString()), "many.inf"));
        Assert.Contains("sections", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Line > 100_000);
    }

    [Fact]
    public void BrokenIncludedInfIsAWarning()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("broken.inf"), "[Version]\nSignature=\"$Windows NT$\"\n[B]\nx = \"open\n");
        string path = tmp.File("dev.inf");
        File.WriteAllText(path, "[Version]\nSignature=\"$Windows NT$\"\nClass=System\n[I]\nInclude=broken.inf\nNeeds=B\n");
        InfInstall install = InfFile.Load(path).ResolveInstall("I", TargetOs.Windows10X64);
        Assert.Contains(install.Warnings, w => w.Contains("broken.inf", StringComparison.Ordinal) && w.Contains("line 4", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingSignatureIsAnErrorUnlessTolerant()
    {
        byte[] bytes = Encoding.ASCII.GetBytes("[Version]\r\nClass=Net\r\n");
        Assert.Throws<InfParseException>(() => InfFile.Parse(bytes, "nosig.inf"));
        Assert.Contains(InfFile.Parse(bytes, "nosig.inf", new InfReadOptions { Tolerant = true }).Warnings, w => w.Contains("Signature", StringComparison.Ordinal));
    }

    [Fact]
    public void IncludeAndNeedsAreResolvedFromTheSearchFolder()
    {
        using var tmp = new TempDir();
        string infFolder = Directory.CreateDirectory(tmp.File("INF")).FullName;
        File.WriteAllText(Path.Combine(infFolder, "base.inf"),
            "[Version]\nSignature=\"$Windows NT$\"\nClass=System\n" +
            "[Base.Install]\nCopyFiles=Base.Files\nAddReg=Base.Reg\n[Base.Install.Services]\nAddService=basesvc,,Base.Svc\n" +
            "[Base.Files]\nbase.sys\n[DestinationDirs]\nDefaultDestDir=12\n[Base.Reg]\nHKR,,FromBase,0x00010001,1\n" +
            "[Base.Svc]\nServiceType=1\nStartType=1\nErrorControl=1\nServiceBinary=%12%\\base.sys\n");
        string pkg = Directory.CreateDirectory(tmp.File("pkg")).FullName;
        string path = Path.Combine(pkg, "dev.inf");
        File.WriteAllText(path,
            "[Version]\nSignature=\"$Windows NT$\"\nClass=System\n[Manufacturer]\nX=M,NTamd64\n[M.NTamd64]\nDev=Inst,ROOT\\DEV\n" +
            "[Inst.NT]\nInclude=base.inf, missing.inf\nNeeds=Base.Install, Nowhere.Install\n" +
            "[Inst.NT.Services]\nInclude=base.inf\nNeeds=Base.Install.Services\nAddService=dev,2,Dev.Svc\n" +
            "[Dev.Svc]\nServiceType=1\nStartType=3\nErrorControl=1\nServiceBinary=%12%\\dev.sys\n");
        InfFile inf = InfFile.Load(path, new InfReadOptions { IncludeSearchFolder = infFolder });
        InfInstall install = inf.ResolveInstall("Inst", TargetOs.Windows10X64);
        Assert.Equal(@"\Windows\System32\drivers\base.sys", install.Files.Single().DestinationPath);
        Assert.Equal("HKR : FromBase = REG_DWORD 1", install.Registry.Single().ToString());
        Assert.Equal(new[] { ("dev", 3), ("basesvc", 1) }, install.Services.Select(s => (s.Name, s.StartType!.Value)));
        Assert.Contains(install.Warnings, w => w.Contains("missing.inf", StringComparison.Ordinal));
        Assert.Contains(install.Warnings, w => w.Contains("Nowhere.Install", StringComparison.Ordinal));
        // Without the search folder the include is a warning, not a failure.
        InfInstall alone = InfFile.Load(path).ResolveInstall("Inst", TargetOs.Windows10X64);
        Assert.Empty(alone.Files);
        Assert.Contains(alone.Warnings, w => w.Contains("base.inf", StringComparison.Ordinal));
    }

    [Fact]
    public void AddRegTypesAndFlags()
    {
        InfFile inf = Text(
            "[Manufacturer]\r\nX=M,NTamd64\r\n[M.NTamd64]\r\nD=I,ROOT\\D\r\n[I]\r\nAddReg=R\r\nDelReg=D\r\n" +
            "[R]\r\nHKR,,Sz,0,\"text\"\r\nHKR,,Multi,0x00010000,\"a\",\"b\"\r\nHKR,,Exp,0x00020000,\"%%SystemRoot%%\"\r\n" +
            "HKR,,Dw,0x00010001,5\r\nHKR,,Bin,1,01,02,ff\r\nHKR,,Q,0x000B0001,1,0,0,0,0,0,0,0\r\nHKR,,None,0x00020001\r\n" +
            "HKR,,App,0x00010008,\"c\"\r\nHKR,,Keep,0x00000002,\"k\"\r\nhklm,\"SYSTEM\\X\",,0x10\r\n" +
            "[D]\r\nHKR,Sub,Val\r\nHKLM,SYSTEM\\Gone\r\n");
        InfInstall install = inf.ResolveInstall("I", TargetOs.Windows10X64);
        Assert.Equal(
            new[] { "REG_SZ", "REG_MULTI_SZ", "REG_EXPAND_SZ", "REG_DWORD", "REG_BINARY", "REG_QWORD", "REG_NONE", "REG_MULTI_SZ", "REG_SZ", null, null, null },
            install.Registry.Select(r => r.ValueType));
        Assert.Equal(new[] { "a", "b" }, install.Registry[1].Data);
        Assert.Equal("%SystemRoot%", install.Registry[2].Data.Single());
        Assert.True(install.Registry[7].Append);
        Assert.True(install.Registry[8].NoClobber);
        Assert.True(install.Registry[9].KeyOnly);
        Assert.Equal("HKLM", install.Registry[9].Root);
        Assert.Equal(@"delete HKR\Sub : Val", install.Registry[10].ToString());
        Assert.Equal(@"delete HKLM\SYSTEM\Gone", install.Registry[11].ToString());
    }

    [Fact]
    public void InstallSectionPlatformExtensionsAreChosenAsSetupDoes()
    {
        InfFile inf = Text("[I]\r\nx=1\r\n[I.NT]\r\nx=2\r\n[I.NTamd64]\r\nx=3\r\n[J]\r\nx=1\r\n[J.NTx86]\r\nx=2\r\n");
        Assert.Equal("I.NTamd64", inf.ChooseInstallSection("I", TargetOs.Windows10X64));
        Assert.Equal("I.NT", inf.ChooseInstallSection("I", TargetOs.Parse("win10-arm64")));
        Assert.Equal("J", inf.ChooseInstallSection("J", TargetOs.Windows7X64));
        Assert.Equal("J.NTx86", inf.ChooseInstallSection("j", TargetOs.Parse("win7-x86")));
        Assert.Null(inf.ChooseInstallSection("K", TargetOs.Windows7X64));
    }

    [Fact]
    public void ModelsSectionSelectionPicksTheMostSpecificApplicableDecoration()
    {
        InfFile inf = Text(
            "[Manufacturer]\r\nX = M, NTamd64, NTamd64.6.1, NTamd64.6.3, NTamd64.10.0...17763, NTamd64.10.0.3, NT.6.0, NTarm64.10.0...22000, NTx86.10.0.0x1\r\n" +
            "[M]\r\nd=i,a\r\n[M.NTamd64]\r\nd=i,b\r\n[M.NTamd64.6.1]\r\nd=i,c\r\n[M.NTamd64.6.3]\r\nd=i,d\r\n[M.NTamd64.10.0...17763]\r\nd=i,e\r\n" +
            "[M.NTamd64.10.0.3]\r\nd=i,f\r\n[M.NT.6.0]\r\nd=i,g\r\n[M.NTarm64.10.0...22000]\r\nd=i,h\r\n[M.NTx86.10.0.0x1]\r\nd=i,j\r\n");
        string Pick(string target) => inf.GetModels(TargetOs.Parse(target)).Single().HardwareId;
        Assert.Equal("b", Pick("win2003-x64"));       // 5.2: only the plain NTamd64 applies
        Assert.Equal("g", Pick("vista-x64"));         // NT.6.0 (any architecture) names a higher version than plain NTamd64
        Assert.Equal("c", Pick("win7-x64"));
        Assert.Equal("c", Pick("win8-x64"));
        Assert.Equal("d", Pick("win81-x64"));
        Assert.Equal("d", Pick("win10-x64@17134"));   // 10.0 build 17134 is below 17763
        Assert.Equal("e", Pick("win10-x64"));
        Assert.Equal("e", Pick("ws2019"));            // NTamd64.10.0.3 (servers) applies too, but build 17763 is more specific
        Assert.Equal("f", Pick("ws2016"));            // build 14393 < 17763: the server-only 10.0 section
        Assert.Equal("g", Pick("win10-arm64"));       // NTarm64.10.0...22000 is too new; NT.6.0 has no architecture
        Assert.Equal("h", Pick("win11-arm64"));
        Assert.Equal("j", Pick("win10-x86"));
        Assert.Equal("g", Pick("vista-x86"));
        Assert.Equal("a", Pick("winxp-x86"));         // x86 falls back to the undecorated section
    }
}
