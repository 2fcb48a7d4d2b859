using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using IscsiConvert.Registry;
using IscsiConvert.Storage;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>
/// The `reg` commands on a hive inside a disk image (`reg export IMAGE --hive SYSTEM`): reads open the hive read-only
/// (recovered in memory when dirty); edits become plan steps that go through the same plan and apply as `prepare`,
/// with its refusals (dirty or hibernated volume, dirty hive), its --dry-run and its "a no-op writes nothing".
/// </summary>
internal static class ImageHive
{
    /// <summary>The hives --hive names: those in \Windows\System32\config.</summary>
    public static readonly string[] Names = { "SYSTEM", "SOFTWARE", "DRIVERS", "SAM", "SECURITY", "DEFAULT" };

    public static Option<string?> HiveOption() => new("--hive")
    {
        Description = "When the path is a disk image: the hive of its Windows to use (" + string.Join(", ", Names) + "; required for images).",
    };

    public static Option<int?> PartitionOption() => new("--partition", "-p")
    {
        Description = "When the path is a disk image holding several Windows installations: the partition of the one to use.",
    };

    /// <summary>
    /// True when <paramref name="path"/> is a disk image rather than a hive file: it does not start with "regf" and
    /// either --hive was given or it opens as a disk image. The hive name is then checked (usage error when missing or unknown).
    /// </summary>
    public static bool IsImage(CliConsole console, string path, string? hive, out string hiveName)
    {
        bool image = IsImage(path, hive, out hiveName);
        if (!image && console.ParentPath is not null)
        {
            // --parent names a differencing image's parent; a hive file has none, and ignoring it would hide the mistake.
            throw new UsageException($"--parent is for a differencing disk image; '{path}' is a hive file, so leave --parent out.");
        }
        return image;
    }

    private static bool IsImage(string path, string? hive, out string hiveName)
    {
        hiveName = string.Empty;
        if (!File.Exists(path))
        {
            // Missing: opened as what --hive says it is, so that the error names the path.
            hiveName = hive is null ? string.Empty : NameOf(hive);
            return hive is not null;
        }
        if (StartsWithRegf(path))
        {
            if (hive is not null)
            {
                throw new UsageException($"--hive chooses a hive inside a disk image; '{path}' is a hive file, so leave --hive out.");
            }
            return false;
        }
        if (hive is null)
        {
            if (!OpensAsDiskImage(path))
            {
                return false; // neither: opening it as a hive says what is wrong with it
            }
            throw new UsageException($"'{path}' is a disk image; name the hive to use with --hive ({string.Join(", ", Names)}).");
        }
        hiveName = NameOf(hive);
        return true;
    }

    private static string NameOf(string hive) =>
        Names.FirstOrDefault(n => string.Equals(n, hive, StringComparison.OrdinalIgnoreCase))
            ?? throw new UsageException($"--hive: unknown hive '{hive}'; one of {string.Join(", ", Names)}.");

    private static bool StartsWithRegf(string path)
    {
        using FileStream s = File.OpenRead(path);
        var head = new byte[4];
        return s.Read(head, 0, 4) == 4 && head[0] == (byte)'r' && head[1] == (byte)'e' && head[2] == (byte)'g' && head[3] == (byte)'f';
    }

    private static bool OpensAsDiskImage(string path)
    {
        try
        {
            using VirtualDisk disk = DiskImage.Open(path);
            return true;
        }
        catch (Exception ex) when (ex is IscsiConvertException or IOException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="read"/> on the hive, opened read-only (a dirty hive recovered in memory) and returns its exit code (InstallationChoice reports an image without Windows, or no choice among several).</summary>
    public static int Read(CliConsole console, string imagePath, string hiveName, int? partition, Func<RegistryHive, int> read)
    {
        using WindowsImage image = WindowsImage.Open(imagePath, ImageAccess.ReadOnly, new WindowsImageOptions { Logger = console.Logger, ParentPath = console.ParentPath });
        WindowsImageInstallation chosen = InstallationChoice.Choose(console, image, partition);
        using RegistryHive hive = chosen.Installation.OpenHive(hiveName)
            ?? throw new FileNotFoundException($"{imagePath}: the Windows has no {hiveName} hive ({WindowsInstallation.WindowsFolder}\\System32\\config\\{hiveName}).");
        return read(hive);
    }

    /// <summary>
    /// Plans <paramref name="steps"/> on the chosen installation and, unless <paramref name="dryRun"/>, applies them in
    /// place (the image opened read-write only then, so a dry run never writes); prints the plan as `prepare` does (with
    /// <paramref name="json"/>, prepare's JSON report).
    /// <paramref name="check"/> may refuse the plan before anything is written (returns an exit code, or null to go on).
    /// </summary>
    public static int Edit(CliConsole console, string imagePath, int? partition, bool dryRun, bool allowDirtyHive,
        IEnumerable<PlanStep> steps, bool json, Func<IscsiBootPlan, int?>? check = null)
    {
        using WindowsImage image = WindowsImage.Open(imagePath, dryRun ? ImageAccess.ReadOnly : ImageAccess.ReadWrite,
            new WindowsImageOptions { Logger = console.Logger, AllowDirtyHive = allowDirtyHive, ParentPath = console.ParentPath });
        WindowsImageInstallation chosen = InstallationChoice.Choose(console, image, partition);
        IscsiBootPlan plan = chosen.Plan(steps);
        if (check?.Invoke(plan) is int refused)
        {
            return refused;
        }
        IscsiBootPlan result = plan;
        if (!dryRun)
        {
            using var bar = new ProgressBar(console);
            result = plan.Apply(bar);
        }
        if (json)
        {
            console.Output.WriteLine(PrepareReport.From(result, imagePath, null, null, !dryRun).ToJson());
            return CliApp.Success;
        }
        PrepareCommand.WriteText(console, result, !dryRun);
        return CliApp.Success;
    }
}
