using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>
/// Picks the Windows installation a command works on: the one on --partition, or the only one; otherwise it says
/// which there are (on standard error) and returns null, which the commands turn into a usage error.
/// </summary>
internal static class InstallationChoice
{
    public static WindowsInstallation? Choose(CliConsole console, string imagePath, IReadOnlyList<WindowsInstallation> found, int? partition)
    {
        if (found.Count == 0)
        {
            console.Error.WriteLine($"error: {imagePath}: no Windows installation found (no NTFS volume holds \\Windows\\System32\\config\\SYSTEM).");
            return null;
        }
        if (partition is int p)
        {
            WindowsInstallation? w = found.FirstOrDefault(x => x.PartitionIndex == p);
            if (w is null)
            {
                console.Error.WriteLine($"error: {imagePath}: no Windows installation on partition {p}; found: {Describe(found)}.");
            }
            return w;
        }
        if (found.Count > 1)
        {
            console.Error.WriteLine($"error: {imagePath} holds {found.Count} Windows installations ({Describe(found)}); choose one with --partition.");
            return null;
        }
        return found[0];
    }

    private static string Describe(IReadOnlyList<WindowsInstallation> found) =>
        string.Join(", ", found.Select(x => x.PartitionIndex is int i ? "partition " + i.ToString(CultureInfo.InvariantCulture) : "the whole disk"));
}
