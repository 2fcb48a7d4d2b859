using System.IO;
using IscsiConvert.Registry;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>A hive lives in memory between open and save; a file changed by someone else meanwhile must not be overwritten.</summary>
public class ConcurrentChangeTests
{
    [Fact]
    public void Save_refuses_when_the_file_changed_after_open_and_writes_nothing()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Minimal);
        using RegistryHive hive = Hives.OpenWritable(path);
        hive.Root.CreateSubkey("Ours");

        // Another writer: hivexsh adds a key and commits (it rewrites the file).
        Oracle.RunChecked("hivexsh", "-w", "-f", WriteScript(tmp, "add Theirs\ncommit\n"), path);
        byte[] afterThem = File.ReadAllBytes(path);

        var ex = Assert.Throws<UnsafeToWriteException>(hive.Save);
        Assert.Contains("changed by another program", ex.Message, System.StringComparison.Ordinal);
        Assert.Equal(afterThem, File.ReadAllBytes(path));
        Assert.Contains("Theirs", Oracle.RunChecked("hivexsh", "-f", WriteScript(tmp, "ls\n"), path), System.StringComparison.Ordinal);
    }

    [Fact]
    public void Save_twice_in_one_session_is_allowed()
    {
        using var tmp = new TempDir();
        string path = Hives.CopyTo(tmp, Hives.Minimal);
        using (RegistryHive hive = Hives.OpenWritable(path))
        {
            hive.Root.CreateSubkey("One");
            hive.Save();
            hive.Root.CreateSubkey("Two");
            hive.Save();
        }
        string listing = Oracle.RunChecked("hivexsh", "-f", WriteScript(tmp, "ls\n"), path);
        Assert.Contains("One", listing, System.StringComparison.Ordinal);
        Assert.Contains("Two", listing, System.StringComparison.Ordinal);
    }

    private static string WriteScript(TempDir tmp, string commands)
    {
        string script = tmp.File(Path.GetRandomFileName() + ".hivexsh");
        File.WriteAllText(script, commands);
        return script;
    }
}
