using System.Collections.Generic;

namespace IscsiConvert.Windows;

/// <summary>
/// One step of a transformation of an offline Windows installation: it adds registry values, files and folders to a
/// plan, reading the image and writing nothing. Steps compose — an iSCSI boot preparation is made of
/// <see cref="BootDeviceStep"/>s and <see cref="RegFileStep"/>s; another tool may plan a storage driver alone
/// (<see cref="StageDriverPackageStep"/>) or a .reg file alone — and every composition goes through the same plan and
/// apply (<see cref="WindowsImageInstallation.Plan"/>, <see cref="IscsiBootPlan.Apply"/>), with its guarantees: a
/// value or file already in place is no change, nothing is written before everything is planned, all or nothing.
/// The steps are the library's own (the plan's context is internal), so that every one keeps those guarantees.
/// </summary>
public abstract class PlanStep
{
    private protected static readonly string[] SystemHive = { "SYSTEM" };

    private protected PlanStep()
    {
    }

    /// <summary>The hives the step may change (the planner opens those it needs).</summary>
    internal virtual IReadOnlyCollection<string> Hives => SystemHive;

    /// <summary>True when the step matches INFs and so needs to know the Windows version.</summary>
    internal virtual bool NeedsTarget => false;

    /// <summary>Adds the step's changes to the plan.</summary>
    internal abstract void Plan(BootPlanContext ctx);
}
