using System;
using System.IO;

namespace IscsiConvert.Tests;

/// <summary>
/// An NTFS image mounted read-write by ntfs-3g over FUSE for the length of an action: the oracle writes (or reads)
/// through the real driver. FUSE is a property of the machine (a device and mount rights): CI runs as root on a machine
/// that has it, so there its absence fails the test like any missing oracle; on a developer machine it skips.
/// </summary>
public static class Ntfs3gMount
{
    public static void With(string image, Action<string> action, params string[] mountOptions)
    {
        Oracle.Require("ntfs-3g");
        if (!File.Exists("/dev/fuse"))
        {
            Oracle.MissingPrerequisite("/dev/fuse (ntfs-3g mounts the volume through FUSE)");
        }
        string mount = image + ".mnt";
        Directory.CreateDirectory(mount);
        var args = new System.Collections.Generic.List<string> { image, mount };
        if (mountOptions.Length > 0)
        {
            args.Add("-o");
            args.Add(string.Join(",", mountOptions));
        }
        ToolResult mounted = Oracle.Run("ntfs-3g", args.ToArray());
        if (mounted.ExitCode != 0)
        {
            Oracle.MissingPrerequisite("an ntfs-3g FUSE mount (needs root or the fuse group): " + mounted.StdErr.Trim());
        }
        try
        {
            action(mount);
        }
        finally
        {
            Oracle.RunChecked("fusermount", "-u", mount);
        }
    }
}
