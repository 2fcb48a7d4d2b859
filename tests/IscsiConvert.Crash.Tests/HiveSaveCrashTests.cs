using System;
using System.IO;
using System.Text.RegularExpressions;
using IscsiConvert.Registry;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>
/// Every crash point of the in-place hive save with a transaction log (<see cref="RegistryHive.Save(Stream, TransactionLogFormat)"/>
/// on a stream, the way a preparation saves SYSTEM inside the image), on real hives made by Windows: the 11 MiB
/// Windows 7 SYSTEM hive with an old-format ("DIRT") log, as Windows 7 writes, and with a new-format ("HvLE") log; and
/// the 12 MiB Windows 10 SYSTEM hive (SYSTEM_B as recovered by yarp, an independent tool) with a new-format log, next
/// to the .LOG2 that Windows 10 left (its entries are older than the save and must not be replayed). The hive is edited
/// (a service key created, values set, a 20 KB value, a value changed), saved through recording files, then replayed
/// after each write and torn inside each. At EVERY point the hive and its logs are opened by our reader with recovery
/// — it never reads a dirty hive without a log that applies — the result is written out with <see cref="RegistryHive.SaveAs"/>,
/// and hivex reads it as exactly the old or exactly the new hive; the states go old…old, new…new, never back.
/// </summary>
public sealed class HiveSaveCrashTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly ITestOutputHelper _output;

    public HiveSaveCrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Windows_7_SYSTEM_with_an_old_format_log_is_old_or_new_at_every_crash_point()
    {
        string hive = _tmp.File("SYSTEM");
        File.Copy(TestData.Require("registry/win7-system/SYSTEM"), hive);
        CheckEveryCrashPoint(hive, TransactionLogFormat.Old, "Windows 7 SYSTEM, old-format log");
    }

    [Fact]
    public void Windows_7_SYSTEM_with_a_new_format_log_is_old_or_new_at_every_crash_point()
    {
        string hive = _tmp.File("SYSTEM");
        File.Copy(TestData.Require("registry/win7-system/SYSTEM"), hive);
        CheckEveryCrashPoint(hive, TransactionLogFormat.New, "Windows 7 SYSTEM, new-format log");
    }

    [Fact]
    public void Windows_10_SYSTEM_with_a_new_format_log_beside_Windows_own_LOG2_is_old_or_new_at_every_crash_point()
    {
        string hive = _tmp.File("SYSTEM");
        File.Copy(TestData.Require("registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp"), hive);
        TestData.Gunzip("registry/win10-dirty-system/SYSTEM_B.LOG2.gz", _tmp.Path);
        File.Move(_tmp.File("SYSTEM_B.LOG2"), _tmp.File("SYSTEM.LOG2"));
        CheckEveryCrashPoint(hive, TransactionLogFormat.New, "Windows 10 SYSTEM, new-format log");
    }

    private void CheckEveryCrashPoint(string hive, TransactionLogFormat format, string what)
    {
        File.SetAttributes(hive, FileAttributes.Normal);
        string log = hive + ".LOG1";
        string otherLog = hive + ".LOG2";
        string oldXml = HivexXml(hive);
        byte[] otherLogBefore = File.Exists(otherLog) ? File.ReadAllBytes(otherLog) : Array.Empty<byte>();

        var journal = new WriteJournal();
        using (FileStream file = journal.Open(hive, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        using (FileStream logFile = journal.Open(log, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var options = new RegistryOpenOptions { Writable = true };
            using FileStream? other = File.Exists(otherLog) ? File.OpenRead(otherLog) : null;
            if (other is not null)
            {
                options.LogStreams.Add(other);
            }
            using RegistryHive h = RegistryHive.Open(file, options);
            Assert.Null(h.RecoveredWith);
            RegistryKey select = h.Root.OpenSubkey("Select")!;
            select.SetValue("LastKnownGood", RegistryValueType.DWord, new byte[] { 9, 0, 0, 0 });
            RegistryKey service = h.Root.CreateSubkey(@"ControlSet001\services\crashnic");
            service.SetValue("Start", RegistryValueType.DWord, new byte[] { 0, 0, 0, 0 });
            service.SetValue("ImagePath", RegistryValueType.ExpandString, System.Text.Encoding.Unicode.GetBytes("system32\\DRIVERS\\crashnic.sys\0"));
            service.SetValue("Blob", RegistryValueType.Binary, new byte[20000]);
            h.Save(logFile, format);
        }
        string newXml = HivexXml(hive);
        Assert.NotEqual(oldXml, newXml);

        string outDir = Path.Combine(_tmp.Path, "out");
        Directory.CreateDirectory(outDir);
        string recovered = Path.Combine(outDir, "SYSTEM");
        int olds = 0;
        int news = 0;
        int replayed = 0;
        bool seenNew = false;
        int points = journal.Replay(point => CrashHarness.Describe(point, () =>
        {
            bool dirty;
            using (RegistryHive opened = RegistryHive.Open(hive, new RegistryOpenOptions()))
            {
                Assert.False(opened.IsDirtyWithoutRecovery, "the hive is dirty and no log recovers it");
                dirty = opened.RecoveredWith is not null;
                if (dirty)
                {
                    replayed++;
                }
                File.Delete(recovered);
                opened.SaveAs(recovered);
            }
            string xml = HivexXml(recovered);
            if (xml == oldXml)
            {
                Assert.False(dirty, "the log recovered the old hive: the save's entry was not the one replayed");
                Assert.False(seenNew, "the old hive came back after the new one");
                Assert.False(point.IsComplete, "the complete save left the old hive");
                olds++;
            }
            else
            {
                Assert.True(xml == newXml, $"the hive{(dirty ? " recovered from its log" : string.Empty)} is neither the old nor the new hive");
                seenNew = true;
                news++;
            }
        }));
        Assert.Equal(otherLogBefore, File.Exists(otherLog) ? File.ReadAllBytes(otherLog) : Array.Empty<byte>());
        _output.WriteLine($"{what}: {journal.WriteCount} writes, {points} crash points checked: {olds} old, {news} new ({replayed} of them recovered from the log)");
        // The save was cut where it matters: before the log was complete (old), and between the first and the last write
        // to the hive (dirty, so new only through the log).
        Assert.True(olds >= 2 && replayed >= 3, $"{olds} old points and {replayed} recovered ones: the save was not cut where it matters");
        Assert.Equal(points, olds + news);
    }

    /// <summary>
    /// hivexml's view of a hive, without the hive's own last-written time (the base block's, which every save — ours of
    /// the recovered hive too — sets to its own time; the keys' times stay in).
    /// </summary>
    private static string HivexXml(string hive) =>
        HiveTime.Replace(Oracle.RunChecked("hivexml", hive), "<hive>", 1);

    private static readonly Regex HiveTime = new("<hive><mtime>[^<]*</mtime>", RegexOptions.CultureInvariant);
}
