using System;
using System.IO;
using IscsiConvert.Tests;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// Builds raw NTFS volumes with the real tools: mkntfs formats, ntfs-3g (FUSE) writes every file. Nothing on the
/// volume is written by our code, so what our model reads from it is checked against the oracles' view of the same bytes.
/// </summary>
internal static class NtfsImageBuilder
{
    public const long VolumeSize = 64L << 20;

    /// <summary>A raw 64 MiB NTFS volume at <paramref name="path"/>, filled by <paramref name="fill"/> through a mount.</summary>
    public static string Build(TempDir tmp, string path, Action<string> fill)
    {
        Oracle.Require("mkntfs");
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.SetLength(VolumeSize);
        }
        Oracle.RunChecked("mkntfs", "-F", "-Q", "-q", "-L", "Windows", path);
        Ntfs3gMount.With(path, fill);
        return path;
    }

    /// <summary>A volume with Windows\System32\config\SYSTEM copied from <paramref name="systemHive"/>.</summary>
    public static string BuildWindows(TempDir tmp, string path, string systemHive) =>
        Build(tmp, path, mount =>
        {
            string config = Path.Combine(mount, "Windows", "System32", "config");
            Directory.CreateDirectory(config);
            File.Copy(systemHive, Path.Combine(config, "SYSTEM"));
        });
}
