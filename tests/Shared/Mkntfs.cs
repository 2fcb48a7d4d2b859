using System.IO;

namespace IscsiConvert.Tests;

/// <summary>Empty volumes made by mkntfs (an oracle, never our formatter) for tests that fill them through ntfs-3g.</summary>
public static class Mkntfs
{
    /// <summary>A bare volume of <paramref name="megabytes"/> MiB with 4 KiB clusters in a new file.</summary>
    public static string Volume(string path, int megabytes, string label)
    {
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.SetLength((long)megabytes << 20);
        }
        Oracle.RunChecked("mkntfs", "-q", "-F", "-f", "-c", "4096", "-L", label, path);
        return path;
    }
}
