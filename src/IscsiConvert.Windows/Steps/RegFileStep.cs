using System;
using System.Collections.Generic;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Applies a regedit file (regedit 5.00 or REGEDIT4) to the offline hives: <c>HKEY_LOCAL_MACHINE\SYSTEM</c> is the
/// SYSTEM hive (<c>CurrentControlSet</c> the control set the image boots), <c>HKEY_LOCAL_MACHINE\SOFTWARE</c> the
/// SOFTWARE hive; values set, values deleted (<c>"name"=-</c>) and keys deleted (<c>[-KEY]</c>) become typed changes
/// of the plan (the rules are <see cref="RegFileRules"/>). Other roots are refused when planning.
/// </summary>
public sealed class RegFileStep : PlanStep
{
    /// <summary>A regedit file already read (read it without a root prefix).</summary>
    /// <param name="file">The parsed file.</param>
    public RegFileStep(RegFile file)
    {
        File = file ?? throw new ArgumentNullException(nameof(file));
        Hives = RegFileRules.HivesNamed(file); // refuses other roots now, not at Plan
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">The .reg file.</param>
    /// <exception cref="RegFileParseException">The file is not valid .reg text.</exception>
    public static RegFileStep Load(string path) => new(RegFile.Load(path ?? throw new ArgumentNullException(nameof(path))));

    /// <summary>The file.</summary>
    public RegFile File { get; }

    internal override IReadOnlyCollection<string> Hives { get; }

    internal override void Plan(BootPlanContext ctx) =>
        RegFileRules.Plan(File, ctx.ControlSet, name => ctx.Hive(name), ctx.Warnings);

    /// <inheritdoc/>
    public override string ToString() => $"apply {File.FileName}";
}
