using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Ntfs;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Crash.Tests;

/// <summary>What the oracles and our reader say about an NTFS volume (a raw file) at one crash point.</summary>
internal sealed record NtfsCrashState(bool Dirty, bool NtfsfixAccepts, bool VerifyAccepts, string? Fingerprint);

/// <summary>
/// Checks an NTFS volume at a crash point: the dirty flag as ntfs-3g reads it (<c>ntfsinfo -m</c>, "Volume Flags"),
/// <c>ntfsfix -n</c>, our <see cref="NtfsVolume.Verify"/>, and — for a clean volume — a fingerprint of the tree
/// (<c>ntfsls -R</c>) and of the files named (<c>ntfscat</c>, hashed), to compare with the old and the new state.
/// </summary>
internal static class NtfsCrashCheck
{
    public static NtfsCrashState Inspect(string volume, IReadOnlyList<string> files)
    {
        ToolResult info = Oracle.Run("ntfsinfo", "-m", volume);
        string? flagsLine = info.StdOut.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Volume Flags:", StringComparison.Ordinal));
        bool dirty;
        if (flagsLine is null)
        {
            // ntfsinfo refuses some volumes cut mid-commit outright; such a volume is not clean.
            dirty = true;
        }
        else
        {
            int flags = Convert.ToInt32(flagsLine.Substring("Volume Flags:".Length).Trim(), 16);
            dirty = (flags & 1) != 0;
        }
        bool ntfsfix = Oracle.Run("ntfsfix", "-n", volume).ExitCode == 0;
        bool verify;
        try
        {
            using FileStream s = File.OpenRead(volume);
            using NtfsVolume v = NtfsVolume.Open(s);
            verify = v.Verify().Count == 0;
        }
        catch (IscsiConvertException)
        {
            verify = false;
        }
        string? fingerprint = dirty ? null : Fingerprint(volume, files);
        return new NtfsCrashState(dirty, ntfsfix, verify, fingerprint);
    }

    public static string Fingerprint(string volume, IReadOnlyList<string> files)
    {
        var parts = new List<string> { Oracle.RunChecked("ntfsls", "-R", volume) };
        string copy = volume + ".cat";
        foreach (string f in files)
        {
            ToolResult cat = Oracle.Run("sh", "-c", $"ntfscat '{volume}' '{f}' > '{copy}' 2>/dev/null && sha256sum < '{copy}'");
            parts.Add(f + ": " + (cat.ExitCode == 0 ? cat.StdOut.Trim() : "absent"));
        }
        File.Delete(copy);
        return string.Join("\n", parts);
    }
}
