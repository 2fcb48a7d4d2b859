using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>
/// Picks the Windows installation a command works on: the one on --partition, or the only one; otherwise it says
/// which there are (an error, as JSON too with --json) and returns null, which the commands turn into a usage error.
/// </summary>
internal static class InstallationChoice
{
    /// <summary>
    /// The installation of <paramref name="image"/> a command works on, as <see cref="Choose(CliConsole, string, IReadOnlyList{WindowsInstallation}, int?)"/>
    /// chooses it. An image without Windows whose volumes are BitLocker-encrypted is refused by the library
    /// (UnsafeToWriteException naming the partition: exit 3); plain "no Windows" stays the usage error it has always been.
    /// </summary>
    public static WindowsImageInstallation? Choose(CliConsole console, WindowsImage image, int? partition)
    {
        if (image.Installations.Count == 0)
        {
            try
            {
                image.GetInstallation();
            }
            catch (WindowsInstallationChoiceException)
            {
            }
        }
        WindowsInstallation? chosen = Choose(console, image.Path, image.Installations.Select(i => i.Installation).ToList(), partition);
        return chosen is null ? null : image.Installations.First(i => i.Installation == chosen);
    }

    public static WindowsInstallation? Choose(CliConsole console, string imagePath, IReadOnlyList<WindowsInstallation> found, int? partition)
    {
        if (found.Count == 0)
        {
            console.Fail(CliApp.UsageError, "usage", $"{imagePath}: no Windows installation found (no NTFS volume holds \\Windows\\System32\\config\\SYSTEM).",
                $"'iscsi-convert disk info {imagePath}' lists its partitions and their file systems.");
            return null;
        }
        if (partition is int p)
        {
            WindowsInstallation? w = found.FirstOrDefault(x => x.PartitionIndex == p);
            if (w is null)
            {
                console.Fail(CliApp.UsageError, "usage", $"{imagePath}: no Windows installation on partition {p}; found: {Describe(found)}.", "Name one of those with --partition N.");
            }
            return w;
        }
        if (found.Count > 1)
        {
            console.Fail(CliApp.UsageError, "usage", $"{imagePath} holds {found.Count} Windows installations ({Describe(found)}); choose one with --partition.",
                $"'iscsi-convert inspect {imagePath}' shows each of them.");
            return null;
        }
        return found[0];
    }

    private static string Describe(IReadOnlyList<WindowsInstallation> found) =>
        string.Join(", ", found.Select(x => x.PartitionIndex is int i ? "partition " + i.ToString(CultureInfo.InvariantCulture) : "the whole disk"));
}
