using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Windows;

/// <summary>What a plan is made with besides its steps: the Windows to match INFs for, the dirty-hive rule, the clock, the logger.</summary>
internal sealed record PlanSettings(TargetOs? Target, bool AllowDirtyHive, TimeProvider Clock, ILogger Logger)
{
    public static PlanSettings Default { get; } = new(null, false, TimeProvider.System, NullLogger.Instance);
}

/// <summary>
/// The one way a plan is made: read the installation's configuration, check the hives the steps touch, open them
/// read-only, run every step against them, and collect the typed changes. Reads only; writes nothing.
/// </summary>
internal static class ImagePlanner
{
    public static IscsiBootPlan Plan(WindowsInstallation installation, IReadOnlyList<PlanStep> steps, PlanSettings settings, IProgress<ProgressReport>? progress, CancellationToken cancellationToken)
    {
        if (steps.Count == 0)
        {
            throw new InvalidOperationException("A plan needs at least one step (a boot adapter, a storage controller, a .reg file…).");
        }
        cancellationToken.ThrowIfCancellationRequested();
        // Each hive is read from the image once per plan: configuration, condition and edits share the open hive.
        using RegistryHive system = installation.OpenSystemHive();
        using RegistryHive? driversHive = installation.OpenHive("DRIVERS");
        WindowsSystemConfig config = installation.ReadConfiguration(system, driversHive);
        TargetOs? target = settings.Target ?? config.GetTargetOs();
        if (target is null && steps.Any(s => s.NeedsTarget))
        {
            throw new WindowsVersionUnknownException("The image does not say which Windows it is (no SOFTWARE hive, or no version or architecture in it); name the target with ForTarget (--os).",
                WindowsInstallation.WindowsFolder + @"\System32\config\SOFTWARE");
        }
        var hivesNamed = new HashSet<string>(steps.SelectMany(s => s.Hives), StringComparer.OrdinalIgnoreCase);
        var warnings = new List<string>();
        CheckHive("SYSTEM", installation.GetHiveCondition("SYSTEM", system), settings.AllowDirtyHive, warnings);
        bool useDriversHive = (config.HasDriverDatabase || hivesNamed.Contains("DRIVERS")) && driversHive?.OpenKey("DriverDatabase") is not null;
        if (useDriversHive)
        {
            CheckHive("DRIVERS", installation.GetHiveCondition("DRIVERS", driversHive!), settings.AllowDirtyHive, warnings);
        }
        using RegistryHive? softwareHive = hivesNamed.Contains("SOFTWARE")
            ? installation.OpenSoftwareHive() ?? throw new NotSupportedException("A step sets values under HKEY_LOCAL_MACHINE\\SOFTWARE, but the image has no SOFTWARE hive.")
            : null;
        if (softwareHive is not null)
        {
            // The hive just opened tells its condition: SOFTWARE is read once, as SYSTEM and DRIVERS are.
            CheckHive("SOFTWARE", installation.GetHiveCondition("SOFTWARE", softwareHive), settings.AllowDirtyHive, warnings);
        }
        var ctx = new BootPlanContext(installation, config, target, new HiveEdits("SYSTEM", system), useDriversHive ? new HiveEdits("DRIVERS", driversHive!) : null,
            softwareHive is null ? null : new HiveEdits("SOFTWARE", softwareHive), settings.Clock.GetUtcNow().UtcDateTime, cancellationToken);
        ctx.Warnings.AddRange(warnings);
        for (int i = 0; i < steps.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new ProgressReport("Planning", i, steps.Count, steps[i].ToString()));
            settings.Logger.LogDebug("Planning step {Step} of {Count}: {Description}", i + 1, steps.Count, steps[i]);
            steps[i].Plan(ctx);
        }
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new ProgressReport("Planning", steps.Count, steps.Count));
        var plan = new IscsiBootPlan(installation.PartitionIndex, ctx.ControlSet, target, ctx.Report, ctx.Changes(), FoldersToCreate(installation, ctx.Files), ctx.Files, ctx.Warnings);
        settings.Logger.LogInformation("Planned {Folders} folder(s), {Files} file(s) and {Values} registry change(s) on {Installation}",
            plan.Folders.Count, plan.Files.Count, plan.Changes.Count, installation.PartitionIndex is { } p ? "partition " + p : "the bare volume");
        foreach (string warning in plan.Warnings)
        {
            settings.Logger.LogWarning("{Warning}", warning);
        }
        return plan;
    }

    // The folders the files need that the volume does not have, each parent before its children.
    private static List<string> FoldersToCreate(WindowsInstallation installation, IEnumerable<FileCopy> files)
    {
        var folders = new List<string>();
        foreach (FileCopy file in files)
        {
            var missing = new Stack<string>();
            for (string dir = Parent(file.Destination); dir.Length > 0 && !folders.Contains(dir, StringComparer.OrdinalIgnoreCase) &&
                installation.Volume.TryGetEntry(dir) is null; dir = Parent(dir))
            {
                missing.Push(dir);
            }
            folders.AddRange(missing);
        }
        return folders;

        static string Parent(string path) => path.Substring(0, Math.Max(0, path.LastIndexOf('\\')));
    }

    private static void CheckHive(string name, HiveCondition? condition, bool allowDirtyHive, List<string> warnings)
    {
        switch (condition)
        {
            case HiveCondition.DirtyWithoutLogs:
                warnings.Add($"The {name} hive is dirty and has no transaction logs (usual for a hive copied from a running machine): it is edited as Windows would load it and saved clean.");
                break;
            case HiveCondition.DirtyLogsUnusable when allowDirtyHive:
                warnings.Add($"The {name} hive is dirty and its transaction logs cannot be applied: edited as it is, as allowed; what the logs held is lost.");
                break;
            case HiveCondition.DirtyLogsUnusable:
                throw new UnsafeToWriteException($"The {name} hive is dirty and its transaction logs cannot be applied; saving it would lose what they hold. Allow it explicitly (AllowDirtyHive, --allow-dirty-hive) to edit the hive as it is.",
                    WindowsInstallation.WindowsFolder + @"\System32\config\" + name);
            case HiveCondition.RecoveredFromLogs:
                warnings.Add($"The {name} hive was dirty; its transaction logs were applied and it is saved clean (the logs emptied).");
                break;
        }
    }
}
