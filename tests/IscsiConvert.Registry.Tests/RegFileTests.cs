using System;
using System.IO;
using System.Linq;
using System.Text;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>
/// .reg files (regedit 5.00 and REGEDIT4) read into typed operations and applied to hives: every data form, deletions,
/// continuations and comments; bad input named by file, line and column; applying a file to a copy of the real
/// Windows 7 SYSTEM hive gives the same hive as hivexregedit --merge of the same file, and applying it twice changes
/// nothing the second time.
/// </summary>
public sealed class RegFileTests
{
    private const string Prefix = @"HKEY_LOCAL_MACHINE\SYSTEM";

    private static byte[] Utf16(string s) => Encoding.Unicode.GetBytes(s);

    private static RegFile Read5(string text, string? prefix = Prefix)
    {
        byte[] bytes = new byte[] { 0xFF, 0xFE }.Concat(Encoding.Unicode.GetBytes(text)).ToArray();
        return RegFile.Read(new MemoryStream(bytes), "test.reg", new RegFileOptions { RootPrefix = prefix });
    }

    [Fact]
    public void EveryFormOfARegedit5FileBecomesTypedOperations()
    {
        const string text = "Windows Registry Editor Version 5.00\r\n\r\n"
            + "; a comment\r\n"
            + "[HKEY_LOCAL_MACHINE\\SYSTEM\\A\\B]\r\n"
            + "@=\"default \\\"quoted\\\" C:\\\\path\"\r\n"
            + "\"Str\"=\"text\"\r\n"
            + "\"Num\"=dword:0000001f\r\n"
            + "\"Q\"=qword:0102030405060708\r\n"
            + "\"Bin\"=hex:00,01,\\\r\n  fe,FF\r\n"
            + "\"Exp\"=hex(2):25,00,53,00,00,00\r\n"
            + "\"Multi\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n"
            + "\"QHex\"=hex(b):08,07,06,05,04,03,02,01\r\n"
            + "\"None\"=hex(0):\r\n"
            + "\"Odd\"=hex(4242):01\r\n"
            + "\"Gone\"=-\r\n"
            + "@=-\r\n"
            + "[-HKEY_LOCAL_MACHINE\\SYSTEM\\Old]\r\n"
            + "\"Ignored\"=\"under a deleted key\"\r\n"
            + "[HKEY_LOCAL_MACHINE\\SYSTEM]\r\n"
            + "\"AtRoot\"=dword:1\r\n";
        RegFile file = Read5(text);
        Assert.Equal(RegFileFormat.Regedit5, file.Format);
        RegFileOperation[] ops = file.Operations.ToArray();
        Assert.Equal(
            new[] { "create key \\A\\B", "set \\A\\B : @ = REG_SZ, 50 bytes", "set \\A\\B : Str = REG_SZ, 10 bytes", "set \\A\\B : Num = REG_DWORD, 4 bytes",
                "set \\A\\B : Q = REG_QWORD, 8 bytes", "set \\A\\B : Bin = REG_BINARY, 4 bytes", "set \\A\\B : Exp = REG_EXPAND_SZ, 6 bytes",
                "set \\A\\B : Multi = REG_MULTI_SZ, 10 bytes", "set \\A\\B : QHex = REG_QWORD, 8 bytes", "set \\A\\B : None = REG_NONE, 0 bytes",
                "set \\A\\B : Odd = 0x4242, 1 bytes", "delete value \\A\\B : Gone", "delete value \\A\\B : @", "delete key \\Old",
                "create key \\", "set \\ : AtRoot = REG_DWORD, 4 bytes" },
            ops.Select(o => o.ToString()).ToArray());
        Assert.Equal(Utf16("default \"quoted\" C:\\path\0"), ops[1].GetData());
        Assert.Equal(new byte[] { 0x1f, 0, 0, 0 }, ops[3].GetData());
        Assert.Equal(new byte[] { 8, 7, 6, 5, 4, 3, 2, 1 }, ops[4].GetData());
        Assert.Equal(ops[4].GetData(), ops[8].GetData());
        Assert.Equal(new byte[] { 0, 1, 0xfe, 0xff }, ops[5].GetData());
        Assert.Equal(9, ops[5].Line);
        Assert.Equal(string.Empty, ops[1].ValueName);
        Assert.Equal((RegistryValueType)0x4242, ops[10].Type);
    }

    [Fact]
    public void Regedit4FilesAreAnsiAndTheirStringHexDataBecomesUtf16()
    {
        byte[] ansi = Encoding.ASCII.GetBytes("REGEDIT4\r\n\r\n[\\K]\r\n\"Caf\u0001\"=\"x\u0002\"\r\n\"E\"=hex(2):25,80,00\r\n\"B\"=hex:80\r\n");
        ansi[Array.IndexOf(ansi, (byte)1)] = 0xE9; // é in Windows-1252
        ansi[Array.IndexOf(ansi, (byte)2)] = 0x80; // € in Windows-1252
        RegFile file = RegFile.Read(new MemoryStream(ansi), "old.reg");
        Assert.Equal(RegFileFormat.Regedit4, file.Format);
        Assert.Equal("Caf\u00e9", file.Operations[1].ValueName);
        Assert.Equal(Utf16("x\u20ac\0"), file.Operations[1].GetData());
        Assert.Equal(Utf16("%\u20ac\0"), file.Operations[2].GetData());
        Assert.Equal(new byte[] { 0x80 }, file.Operations[3].GetData()); // binary stays bytes
    }

    [Theory]
    [InlineData("", 1, 1, "empty")]
    [InlineData("REGEDIT5\r\n", 1, 1, "does not start with")]
    [InlineData("Windows Registry Editor Version 5.00\r\n\"v\"=\"x\"\r\n", 2, 1, "before the first [key]")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A\r\n", 2, 29, "no closing ']'")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\r\n", 2, 2, "not below the root prefix")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A\\\\B]\r\n", 2, 2, "empty name")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[-HKEY_LOCAL_MACHINE\\SYSTEM]\r\n", 2, 3, "root key cannot be deleted")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=dword:123456789\r\n", 3, 19, "at most 8")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=dword:\r\n", 3, 11, "expected hexadecimal digits")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=hex:01,zz\r\n", 3, 12, "hex byte")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=hex:01,\\\r\n  02 03\r\n", 4, 6, "expected ','")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=hex:01,\\", 3, 12, "past the end")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=\"open\r\n", 3, 5, "no closing '\"'")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\" \"x\"\r\n", 3, 5, "expected '='")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=str:x\r\n", 3, 5, "unknown data")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=hex(zz):01\r\n", 3, 9, "hex(N)")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\n\"v\"=\"x\" trailing\r\n", 3, 9, "after the value's data")]
    [InlineData("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\A]\r\nnonsense\r\n", 3, 1, "expected a [key] line")]
    public void BadInputIsATypedErrorNamingFileLineAndColumn(string text, int line, int column, string problem)
    {
        RegFileParseException e = Assert.Throws<RegFileParseException>(() => Read5(text));
        Assert.Equal("test.reg", e.FileName);
        Assert.True((line, column) == (e.Line, e.Column), $"expected {line},{column}; got {e.Message}");
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"test.reg({line},{column}): ", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IscsiConvertException>(e);
    }

    [Fact]
    public void ABadFileChangesNoHive()
    {
        using var tmp = new TempDir();
        string hive = Hives.CopyTo(tmp, Hives.Minimal);
        byte[] before = File.ReadAllBytes(hive);
        string reg = tmp.File("bad.reg");
        File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n[\\Good]\r\n\"v\"=dword:1\r\n[\\Bad]\r\n\"w\"=hex:1,2,333\r\n", Encoding.Unicode);
        Assert.Throws<RegFileParseException>(() => RegFile.Load(reg));
        Assert.Equal(before, File.ReadAllBytes(hive));
    }

    /// <summary>The oracle: the same file merged by hivexregedit into a second copy of the real SYSTEM hive must give
    /// the same export; applying it again changes nothing and saving then writes nothing.</summary>
    [Fact]
    public void ApplyingToTheWindows7SystemHiveAgreesWithHivexregeditMerge()
    {
        using var tmp = new TempDir();
        string ours = Hives.CopyTo(tmp, Hives.Win7System);
        string theirs = tmp.File("SYSTEM.hivex");
        File.Copy(ours, theirs);
        string body = "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\services\\IscsiReg]\r\n"
            + "@=\"Default text\"\r\n"
            + "\"Type\"=dword:00000001\r\n"
            + "\"Start\"=dword:00000000\r\n"
            + "\"ImagePath\"=hex(2):73,00,79,00,73,00,74,00,65,00,6d,00,33,00,32,00,5c,00,64,00,\\\r\n"
            + "  72,00,69,00,76,00,65,00,72,00,73,00,5c,00,78,00,2e,00,73,00,79,00,73,00,00,00\r\n"
            + "\"DependOnService\"=hex(7):4e,00,44,00,49,00,53,00,00,00,54,00,63,00,70,00,00,00,00,00\r\n"
            + "\"Big\"=hex(b):01,02,03,04,05,06,07,08\r\n"
            + "\"Blob\"=hex:de,ad,be,ef\r\n"
            + "\"Nothing\"=hex(0):\r\n"
            + "\"Quote \\\"me\\\"\"=\"back\\\\slash\"\r\n"
            + "\r\n"
            + "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\services\\IscsiReg\\Parameters]\r\n"
            + "\"Level\"=dword:ffffffff\r\n"
            + "\r\n"
            + "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n"
            + "\"LastKnownGood\"=dword:00000009\r\n"
            + "\r\n"
            + "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control]\r\n"
            + "\"SystemStartOptions\"=-\r\n"
            + "\r\n"
            + "[-HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\services\\Beep]\r\n";
        string reg = tmp.File("change.reg");
        File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n\r\n" + body, new UnicodeEncoding(bigEndian: false, byteOrderMark: true));
        string regUtf8 = tmp.File("change-utf8.reg");
        File.WriteAllText(regUtf8, ("Windows Registry Editor Version 5.00\r\n\r\n" + body).Replace("\r\n", "\n"), new UTF8Encoding(false));

        RegFile file = RegFile.Load(reg, new RegFileOptions { RootPrefix = Prefix });
        using (RegistryHive hive = RegistryHive.Open(ours, new RegistryOpenOptions { Writable = true }))
        {
            RegFileApplyResult result = file.ApplyTo(hive);
            // Everything changes but the two [key] lines of keys the hive has already.
            Assert.Equal(new[] { "create key \\ControlSet001\\Control", "create key \\Select" },
                file.Operations.Except(result.Changed).Select(o => o.ToString()).OrderBy(s => s, StringComparer.Ordinal).ToArray());
            Assert.Equal(2, result.Unchanged);
            Assert.Empty(hive.Verify());
            hive.Save();
        }
        Oracle.RunChecked("hivexregedit", "--merge", "--prefix", Prefix, theirs, regUtf8);

        string exportOurs = Oracle.RunChecked("hivexregedit", "--export", ours, "\\");
        string exportTheirs = Oracle.RunChecked("hivexregedit", "--export", theirs, "\\");
        Assert.Contains("IscsiReg", exportOurs, StringComparison.Ordinal);
        Assert.DoesNotContain("[\\ControlSet001\\services\\Beep]", exportOurs, StringComparison.Ordinal);
        Assert.True(exportOurs == exportTheirs, string.Join("\n", Hivex.Export(ours).Diff(Hivex.Export(theirs))));

        // A second application is a no-op: nothing changes, and the save writes no byte.
        byte[] saved = File.ReadAllBytes(ours);
        DateTime mtime = File.GetLastWriteTimeUtc(ours);
        using (RegistryHive hive = RegistryHive.Open(ours, new RegistryOpenOptions { Writable = true }))
        {
            RegFileApplyResult again = file.ApplyTo(hive);
            Assert.Empty(again.Changed);
            Assert.Equal(file.Operations.Count, again.Unchanged);
            Assert.False(hive.HasUnsavedChanges);
            hive.Save();
        }
        Assert.Equal(saved, File.ReadAllBytes(ours));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(ours));
    }
}
