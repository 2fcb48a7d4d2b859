using System;

namespace IscsiConvert.Windows;

/// <summary>Copies a host file onto the Windows volume (its folders created as needed); a destination that already holds the same bytes is no change.</summary>
public sealed class CopyFileStep : PlanStep
{
    /// <summary>Copies <paramref name="hostPath"/> to <paramref name="volumePath"/>.</summary>
    /// <param name="hostPath">The file on this machine.</param>
    /// <param name="volumePath">The absolute path on the Windows volume, e.g. <c>\Windows\System32\drivers\x.sys</c>.</param>
    public CopyFileStep(string hostPath, string volumePath)
    {
        HostPath = hostPath ?? throw new ArgumentNullException(nameof(hostPath));
        string path = (volumePath ?? throw new ArgumentNullException(nameof(volumePath))).Replace('/', '\\');
        if (!path.StartsWith(@"\", StringComparison.Ordinal) || path.Length < 2 || path.EndsWith(@"\", StringComparison.Ordinal))
        {
            throw new ArgumentException(@"The volume path is an absolute file path such as \Windows\System32\drivers\x.sys.", nameof(volumePath));
        }
        VolumePath = path;
    }

    /// <summary>The file on this machine.</summary>
    public string HostPath { get; }

    /// <summary>The path on the Windows volume.</summary>
    public string VolumePath { get; }

    internal override void Plan(BootPlanContext ctx) => ctx.AddFile(FileCopy.FromHostFile(HostPath, VolumePath));

    /// <inheritdoc/>
    public override string ToString() => $"copy {HostPath} to {VolumePath}";
}
