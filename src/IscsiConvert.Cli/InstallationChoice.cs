using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>
/// Picks the Windows installation a command works on: the one on --partition, or the only one. An image without
/// Windows is a problem with the data (exit code 1); several without --partition, or none on the partition named, a
/// usage error (2) naming the partitions that hold one. Both go through CliApp's error reporting (JSON with --json).
/// </summary>
internal static class InstallationChoice
{
    /// <summary>
    /// The installation of <paramref name="image"/> a command works on, as <see cref="Choose(string, IReadOnlyList{WindowsInstallation}, int?)"/>
    /// chooses it. An image without Windows whose volumes are BitLocker-encrypted is refused by the library
    /// (UnsafeToWriteException naming the partition: exit 3).
    /// </summary>
    public static WindowsImageInstallation Choose(CliConsole console, WindowsImage image, int? partition)
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
        WindowsInstallation chosen = Choose(image.Path, image.Installations.Select(i => i.Installation).ToList(), partition);
        return image.Installations.First(i => i.Installation == chosen);
    }

    public static WindowsInstallation Choose(string imagePath, IReadOnlyList<WindowsInstallation> found, int? partition)
    {
        if (found.Count == 0)
        {
            throw new DataProblemException($"{imagePath}: no Windows installation found (no NTFS volume holds \\Windows\\System32\\config\\SYSTEM).",
                $"'iscsi-convert disk info {imagePath}' lists its partitions and their file systems.");
        }
        if (partition is int p)
        {
            return found.FirstOrDefault(x => x.PartitionIndex == p)
                ?? throw new UsageException($"{imagePath}: no Windows installation on partition {p}; found: {Describe(found)}.");
        }
        if (found.Count > 1)
        {
            throw new UsageException($"{imagePath} holds {found.Count} Windows installations ({Describe(found)}); choose one with --partition.");
        }
        return found[0];
    }

    private static string Describe(IReadOnlyList<WindowsInstallation> found) =>
        string.Join(", ", found.Select(x => x.PartitionIndex is int i ? "partition " + i.ToString(CultureInfo.InvariantCulture) : "the whole disk"));
}
