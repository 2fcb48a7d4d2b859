using System;
using System.IO;
using System.Linq;
using IscsiConvert.Cli;
using IscsiConvert.Registry.Tests;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>`iscsi-convert reg …` checked against hivexregedit.</summary>
public sealed class RegCommandsTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string CopyHive(TempDir tmp, string relative)
    {
        string path = tmp.File(Path.GetFileName(relative));
        File.Copy(TestData.Require(relative), path);
        File.SetAttributes(path, FileAttributes.Normal);
        return path;
    }

    /// <summary>
    /// --prefix sets the root of .reg key lines; JSON gives key paths from the hive root. Asked for together, the prefix
    /// would do nothing: a usage error (2), nothing written to -o, rather than a silently ignored option.
    /// </summary>
    [Fact]
    public void Export_as_json_with_a_prefix_is_a_usage_error()
    {
        using var tmp = new TempDir();
        string hive = TestData.Require("registry/win7-system/SYSTEM");
        string output = tmp.File("out.json");
        foreach (string[] args in new[]
        {
            new[] { "reg", "export", hive, "Select", "--format", "json", "--prefix", @"HKEY_LOCAL_MACHINE\SYSTEM", "-o", output },
            new[] { "reg", "export", hive, "Select", "--json", "--prefix", "", "-o", output },
        })
        {
            var (code, stdout, err) = Run(args);
            Assert.True(code == CliApp.UsageError, $"exit {code}: {err}");
            Assert.Contains("--prefix", err, StringComparison.Ordinal);
            Assert.Contains("JSON output gives each key's path from the hive root", err, StringComparison.Ordinal);
            Assert.False(File.Exists(output));
            if (args.Contains("--json"))
            {
                Assert.Equal("usage", System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("error").GetProperty("kind").GetString());
            }
        }

        // JSON without --prefix: key paths from the hive root, as before.
        var (ok, json, _) = Run("reg", "export", hive, "Select", "--format", "json");
        Assert.Equal(0, ok);
        Assert.Equal("Select", System.Text.Json.JsonDocument.Parse(json).RootElement[0].GetProperty("path").GetString());
    }

    [Fact]
    public void ExportMatchesHivexregedit()
    {
        string bcd = TestData.Require("registry/misc/BCD");
        var (code, output, err) = Run("reg", "export", bcd);
        Assert.True(code == 0, err);
        // By default the key lines name where Windows loads the hive (BCD: HKEY_LOCAL_MACHINE\BCD00000000).
        RegModel ours = RegModel.ParseReg(output, @"HKEY_LOCAL_MACHINE\BCD00000000");
        RegModel hivex = Hivex.Export(bcd);
        Assert.True(ours.Diff(hivex).Count == 0, string.Join("\n", ours.Diff(hivex)));
    }

    /// <summary>
    /// `reg export` writes a file regedit imports: key lines under where Windows loads the hive, named from the name
    /// the hive keeps (SYSTEM_B is a SYSTEM hive). hivexregedit --merge with that root brings the same values into
    /// another hive; `--prefix ""` gives hivexregedit's own root-relative lines.
    /// </summary>
    [Fact]
    public void ExportByDefaultNamesTheKeyWhereWindowsLoadsTheHive()
    {
        using var tmp = new TempDir();
        string system = TestData.Require("registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp");
        var (code, output, err) = Run("reg", "export", system, "Select");
        Assert.True(code == 0, err);
        Assert.StartsWith("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\r\n", output, StringComparison.Ordinal);

        string reg = tmp.File("select.reg");
        File.WriteAllText(reg, output.Replace("\r\n", "\n", StringComparison.Ordinal));
        string target = CopyHive(tmp, "registry/hivex-minimal/minimal");
        Oracle.RunChecked("hivexregedit", "--merge", "--prefix", @"HKEY_LOCAL_MACHINE\SYSTEM", target, reg);
        Assert.Equal(Oracle.RunChecked("hivexregedit", "--export", system, "Select"), Oracle.RunChecked("hivexregedit", "--export", target, "Select"));

        (code, output, _) = Run("reg", "export", system, "Select", "--prefix", "");
        Assert.Equal(0, code);
        Assert.Contains("\r\n[\\Select]\r\n", output, StringComparison.Ordinal);

        (code, output, _) = Run("reg", "export", TestData.Require("registry/win10-dirty-ntuser/transactions_NTUSER.DAT"), "--format", "reg");
        Assert.Equal(0, code);
        Assert.Contains("\r\n[HKEY_CURRENT_USER]\r\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportOfOneKeyWithPrefixAndJson()
    {
        string bcd = TestData.Require("registry/misc/BCD");
        var (code, output, _) = Run("reg", "export", bcd, "Description", "--prefix", @"HKEY_LOCAL_MACHINE\BCD00000000");
        Assert.Equal(0, code);
        Assert.StartsWith("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\BCD00000000\\Description]\r\n", output, StringComparison.Ordinal);
        Assert.Contains("\"KeyName\"=\"BCD00000000\"", output, StringComparison.Ordinal); // hivexregedit: str(1):"BCD00000000"
        (code, output, _) = Run("reg", "export", bcd, "Description", "--format", "json");
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal("Description", doc.RootElement[0].GetProperty("path").GetString());
        Assert.Contains(doc.RootElement[0].GetProperty("values").EnumerateArray(), v => v.GetProperty("name").GetString() == "KeyName" && v.GetProperty("data").GetString() == "BCD00000000");
    }

    [Fact]
    public void SetAndDeleteAreSeenByHivex()
    {
        using var tmp = new TempDir();
        string hive = CopyHive(tmp, "registry/misc/BCD");
        RegModel before = Hivex.Export(hive);
        Assert.Equal(0, Run("reg", "set", hive, @"New\Key", "Start", "--type", "REG_DWORD", "--data", "0x10").Code);
        Assert.Equal(0, Run("reg", "set", hive, @"New\Key", "List", "--type", "multi_sz", "--data", "a", "--data", "b").Code);
        Assert.Equal(0, Run("reg", "set", hive, @"New\Key", "@", "-t", "REG_SZ", "-d", "hello").Code);
        RegModel after = Hivex.Export(hive);
        Assert.Equal(new byte[] { 0x10, 0, 0, 0 }, after.Keys[@"New\Key"]["Start"].Data);
        Assert.Equal(7u, after.Keys[@"New\Key"]["List"].Type);
        Assert.Equal("a\0b\0\0", System.Text.Encoding.Unicode.GetString(after.Keys[@"New\Key"]["List"].Data));
        Assert.Equal("hello\0", System.Text.Encoding.Unicode.GetString(after.Keys[@"New\Key"][""].Data));

        Assert.Equal(0, Run("reg", "delete", hive, @"New\Key", "Start").Code);
        Assert.False(Hivex.Export(hive).Keys[@"New\Key"].ContainsKey("Start"));
        Assert.Equal(0, Run("reg", "delete", hive, "new").Code);
        RegModel final = Hivex.Export(hive);
        Assert.True(final.Diff(before).Count == 0, string.Join("\n", final.Diff(before)));
        Assert.Equal(1, Run("reg", "delete", hive, "Description", "NoSuchValue").Code);
    }

    [Fact]
    public void CheckReportsCleanHivesAndDamage()
    {
        using var tmp = new TempDir();
        string hive = CopyHive(tmp, "registry/misc/BCD");
        var (code, output, _) = Run("reg", "check", hive);
        Assert.Equal(0, code);
        Assert.Contains("no problems", output, StringComparison.Ordinal);

        // Break one lh hash: the hive still opens, and check names the problem.
        byte[] b = File.ReadAllBytes(hive);
        int lh = FindSignature(b, "l");
        b[lh + 8] ^= 0xFF;
        File.WriteAllBytes(hive, b);
        (code, output, _) = Run("reg", "check", hive);
        Assert.Equal(1, code);
        Assert.Contains("of '", output, StringComparison.Ordinal);

        // A broken bin header is a data error with its offset.
        b[4096] = 0;
        File.WriteAllBytes(hive, b);
        string err;
        (code, _, err) = Run("reg", "check", hive);
        Assert.Equal(1, code);
        Assert.Contains("0x1000", err, StringComparison.Ordinal);
    }

    private static int FindSignature(byte[] b, string sig)
    {
        for (int i = 4096 + 32; i < b.Length - 8; i += 8)
        {
            if (BitConverter.ToInt32(b, i) < 0 && b[i + 4] == sig[0] && (b[i + 5] == (byte)'f' || b[i + 5] == (byte)'h'))
            {
                return i + 4;
            }
        }
        throw new InvalidOperationException("no " + sig);
    }

    [Fact]
    public void BadTypeIsAUsageProblem()
    {
        using var tmp = new TempDir();
        string hive = CopyHive(tmp, "registry/hivex-minimal/minimal");
        byte[] before = File.ReadAllBytes(hive);
        var (code, _, err) = Run("reg", "set", hive, "K", "V", "--type", "REG_WHATEVER", "--data", "1");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("unknown type", err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(hive));
    }

    /// <summary>`reg import`: the dry run writes nothing, the import matches hivexregedit --merge of the same file, a
    /// repeated import writes nothing, and a bad file is exit code 1 with file, line and column, the hive untouched.</summary>
    [Fact]
    public void ImportAppliesARegFileLikeHivexregeditMerge()
    {
        using var tmp = new TempDir();
        string hive = CopyHive(tmp, "registry/misc/BCD");
        string theirs = tmp.File("BCD.hivex");
        File.Copy(hive, theirs);
        const string Body = "[HKEY_LOCAL_MACHINE\\BCD00000000\\Imported]\r\n\"Count\"=dword:00000003\r\n@=\"hello\"\r\n"
            + "\"Bytes\"=hex:01,02,\\\r\n  03\r\n\r\n[HKEY_LOCAL_MACHINE\\BCD00000000\\Description]\r\n\"System\"=-\r\n";
        string reg = tmp.File("in.reg");
        File.WriteAllText(reg, "Windows Registry Editor Version 5.00\r\n\r\n" + Body, new System.Text.UnicodeEncoding(false, true));
        string regUtf8 = tmp.File("in-utf8.reg");
        File.WriteAllText(regUtf8, ("Windows Registry Editor Version 5.00\r\n\r\n" + Body).Replace("\r\n", "\n", StringComparison.Ordinal));
        byte[] original = File.ReadAllBytes(hive);

        var (code, output, _) = Run("reg", "import", hive, reg, "--prefix", @"HKEY_LOCAL_MACHINE\BCD00000000", "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("would set \\Imported : Count", output, StringComparison.Ordinal);
        Assert.Contains("dry run", output, StringComparison.Ordinal);
        Assert.Equal(original, File.ReadAllBytes(hive));

        (code, output, _) = Run("reg", "import", hive, reg, "--prefix", @"HKEY_LOCAL_MACHINE\BCD00000000");
        Assert.Equal(0, code);
        Assert.Contains("5 change(s)", output, StringComparison.Ordinal);
        Oracle.RunChecked("hivexregedit", "--merge", "--prefix", @"HKEY_LOCAL_MACHINE\BCD00000000", theirs, regUtf8);
        Assert.Equal(Oracle.RunChecked("hivexregedit", "--export", theirs, "\\"), Oracle.RunChecked("hivexregedit", "--export", hive, "\\"));

        byte[] imported = File.ReadAllBytes(hive);
        DateTime mtime = File.GetLastWriteTimeUtc(hive);
        (code, output, _) = Run("reg", "import", hive, reg, "--prefix", @"HKEY_LOCAL_MACHINE\BCD00000000");
        Assert.Equal(0, code);
        Assert.Contains("0 change(s)", output, StringComparison.Ordinal);
        Assert.Equal(imported, File.ReadAllBytes(hive));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(hive));

        string bad = tmp.File("bad.reg");
        File.WriteAllText(bad, "Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\BCD00000000\\X]\r\n\"v\"=dword:xyz\r\n", System.Text.Encoding.Unicode);
        string err;
        (code, _, err) = Run("reg", "import", hive, bad, "--prefix", @"HKEY_LOCAL_MACHINE\BCD00000000");
        Assert.Equal(1, code);
        Assert.Contains("bad.reg(3,11)", err, StringComparison.Ordinal);
        Assert.Equal(imported, File.ReadAllBytes(hive));
    }

    // The dirty-hive rule of prepare, for reg set/delete/import, with the real dirty Windows 10 SYSTEM hive (SYSTEM_B).
    private const string DirtyDir = "registry/win10-dirty-system/";

    private static string Sha(string path) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void A_dirty_hive_with_its_logs_is_recovered_and_saved_clean()
    {
        using var tmp = new TempDir();
        string hive = TestData.Gunzip(DirtyDir + "SYSTEM_B.gz", tmp.Path);
        TestData.Gunzip(DirtyDir + "SYSTEM_B.LOG1.gz", tmp.Path);
        TestData.Gunzip(DirtyDir + "SYSTEM_B.LOG2.gz", tmp.Path);
        var (code, _, err) = Run("reg", "set", hive, "Select", "IscsiTest", "--type", "REG_DWORD", "--data", "5");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("warning", err, StringComparison.Ordinal);
        Assert.Equal("5", Oracle.Run("hivexget", hive, "\\Select", "IscsiTest").StdOut.Trim());
        byte[] b = File.ReadAllBytes(hive);
        Assert.Equal(BitConverter.ToUInt32(b, 4), BitConverter.ToUInt32(b, 8)); // both sequence numbers: clean
    }

    [Fact]
    public void A_dirty_hive_without_logs_is_edited_with_a_warning_and_saved_clean()
    {
        using var tmp = new TempDir();
        string hive = TestData.Gunzip(DirtyDir + "SYSTEM_B.gz", tmp.Path);
        byte[] before = File.ReadAllBytes(hive);
        Assert.NotEqual(BitConverter.ToUInt32(before, 4), BitConverter.ToUInt32(before, 8)); // really dirty
        var (code, _, err) = Run("reg", "set", hive, "Select", "IscsiTest", "--type", "REG_DWORD", "--data", "7");
        Assert.True(code == 0, err);
        Assert.Contains("warning: the hive is dirty and has no transaction logs", err, StringComparison.Ordinal);
        Assert.Equal("7", Oracle.Run("hivexget", hive, "\\Select", "IscsiTest").StdOut.Trim());
        byte[] after = File.ReadAllBytes(hive);
        Assert.Equal(BitConverter.ToUInt32(after, 4), BitConverter.ToUInt32(after, 8));
    }

    [Fact]
    public void A_dirty_hive_whose_logs_cannot_be_applied_is_refused_unless_allowed()
    {
        using var tmp = new TempDir();
        string hive = TestData.Gunzip(DirtyDir + "SYSTEM_B.gz", tmp.Path);
        // Real new-format logs, but of another hive (the dirty NTUSER.DAT): they do not apply to SYSTEM_B.
        File.Copy(TestData.Require("registry/win10-dirty-ntuser/transactions_ntuser.dat.log1"), hive + ".LOG1");
        File.Copy(TestData.Require("registry/win10-dirty-ntuser/transactions_ntuser.dat.log2"), hive + ".LOG2");
        File.SetAttributes(hive + ".LOG1", FileAttributes.Normal);
        File.SetAttributes(hive + ".LOG2", FileAttributes.Normal);
        string sha = Sha(hive);
        foreach (string[] args in new[]
        {
            new[] { "reg", "set", hive, "Select", "IscsiTest", "--type", "REG_DWORD", "--data", "9" },
            new[] { "reg", "delete", hive, "Select", "Current" },
        })
        {
            var (code, _, err) = Run(args);
            Assert.Equal(3, code);
            Assert.Contains("--allow-dirty-hive", err, StringComparison.Ordinal);
            Assert.Equal(sha, Sha(hive));
        }
        var (ok, _, warn) = Run("reg", "set", hive, "Select", "IscsiTest", "--type", "REG_DWORD", "--data", "9", "--allow-dirty-hive");
        Assert.True(ok == 0, warn);
        Assert.Contains("warning", warn, StringComparison.Ordinal);
        Assert.Equal("9", Oracle.Run("hivexget", hive, "\\Select", "IscsiTest").StdOut.Trim());
    }

    [Fact]
    public void Check_with_json_reports_the_keys_hivexregedit_exports_and_the_log_recovery()
    {
        Oracle.Require("hivexregedit");
        using var tmp = new TempDir();
        string bcd = CopyHive(tmp, "registry/misc/BCD");
        var (code, stdout, stderr) = CliRunner.Run("reg", "check", bcd, "--json");
        Assert.True(code == 0, stderr);
        System.Text.Json.JsonElement report = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        string export = Oracle.RunChecked("hivexregedit", "--export", bcd, "\\");
        int keys = export.Split('\n').Count(l => l.StartsWith('['));
        Assert.Equal(keys, report.GetProperty("keys").GetInt32());
        Assert.Equal(0, report.GetProperty("problems").GetArrayLength());
        Assert.Equal(0, report.GetProperty("exitCode").GetInt32());

        // A dirty hive with its old-format log: recovered in memory, and the report says from which log.
        string dirty = CopyHive(tmp, "registry/win7-dirty-oldlog/OldDirtyHive");
        File.Copy(TestData.Require("registry/win7-dirty-oldlog/OldDirtyHive.LOG1"), dirty + ".LOG1");
        (code, stdout, stderr) = CliRunner.Run("reg", "check", dirty, "--json");
        Assert.True(code == 0, stderr);
        report = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        Assert.EndsWith(".LOG1", report.GetProperty("recoveredWith").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.True(report.GetProperty("recoveredEntries").GetInt32() > 0);
    }
}
