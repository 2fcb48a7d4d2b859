using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;
using System.Threading;
using Microsoft.Extensions.Logging.Abstractions;

namespace IscsiConvert.Windows;

/// <summary>
/// The mutable form of <see cref="IscsiBootBuilder"/> bound to one installation, kept for callers that hold a
/// <see cref="WindowsInstallation"/> (from <see cref="WindowsInstallation.Find(Storage.VirtualDisk, bool)"/>); each
/// <c>With…</c> replaces its builder with the builder's new value, and <see cref="Plan"/> and <see cref="Apply"/> go
/// through the same planner and writer as <see cref="WindowsImage"/>. New code: <see cref="WindowsImage.Open"/> and
/// <see cref="WindowsImage.PrepareIscsiBoot(Func{IscsiBootBuilder, IscsiBootBuilder}, CancellationToken)"/>.
/// <code>
/// IscsiBootPlan plan = IscsiBoot.For(installation).WithBootAdapter(@"PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086").Plan();
/// </code>
/// </summary>
public sealed class IscsiBoot
{
    private readonly WindowsInstallation _installation;
    private IscsiBootBuilder _builder = new();
    private bool _allowDirtyHive;
    private TimeProvider _clock = TimeProvider.System;

    private IscsiBoot(WindowsInstallation installation)
    {
        _installation = installation;
    }

    /// <summary>Starts describing the change for one installation (from <see cref="WindowsInstallation.Find(Storage.VirtualDisk, bool)"/>).</summary>
    public static IscsiBoot For(WindowsInstallation installation) =>
        new(installation ?? throw new ArgumentNullException(nameof(installation)));

    /// <summary>The builder as described so far (an immutable value).</summary>
    public IscsiBootBuilder Builder => _builder;

    /// <summary>See <see cref="IscsiBootBuilder.WithBootAdapter(string)"/>.</summary>
    public IscsiBoot WithBootAdapter(string deviceId) => Set(_builder.WithBootAdapter(deviceId));

    /// <summary>See <see cref="IscsiBootBuilder.WithBootAdapter(string, string)"/>.</summary>
    public IscsiBoot WithBootAdapter(string deviceId, string? pciPath) => Set(_builder.WithBootAdapter(deviceId, pciPath));

    /// <summary>See <see cref="IscsiBootBuilder.WithStorageController"/>.</summary>
    public IscsiBoot WithStorageController(string deviceId) => Set(_builder.WithStorageController(deviceId));

    /// <summary>See <see cref="IscsiBootBuilder.WithDriverPackage(string)"/>.</summary>
    public IscsiBoot WithDriverPackage(string infOrFolder) => Set(_builder.WithDriverPackage(infOrFolder));

    /// <summary>See <see cref="IscsiBootBuilder.WithRegFile(string)"/>.</summary>
    /// <exception cref="RegFileParseException">The file is not valid .reg text (read now, not at Plan).</exception>
    public IscsiBoot WithRegFile(string path) => Set(_builder.WithRegFile(path));

    /// <summary>See <see cref="IscsiBootBuilder.WithRegFile(RegFile)"/>.</summary>
    public IscsiBoot WithRegFile(RegFile file) => Set(_builder.WithRegFile(file));

    /// <summary>See <see cref="IscsiBootBuilder.WithService"/>.</summary>
    public IscsiBoot WithService(string serviceName) => Set(_builder.WithService(serviceName));

    /// <summary>See <see cref="IscsiBootBuilder.ForTarget"/>.</summary>
    public IscsiBoot ForTarget(TargetOs target) => Set(_builder.ForTarget(target));

    /// <summary>
    /// Edit a dirty hive whose transaction logs exist but cannot be applied, as it is (what those logs hold is lost).
    /// Without this such a hive is refused. Dirty hives without logs are always edited, with a warning in the plan.
    /// </summary>
    public IscsiBoot AllowDirtyHive(bool allow = true)
    {
        _allowDirtyHive = allow;
        return this;
    }

    /// <summary>The clock for the ImportDate of a package staged on Windows 8 and later (a package already staged keeps its own).</summary>
    public IscsiBoot WithTimeProvider(TimeProvider clock)
    {
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        return this;
    }

    private IscsiBoot Set(IscsiBootBuilder builder)
    {
        _builder = builder;
        return this;
    }

    private PlanSettings Settings => new(_builder.Target, _allowDirtyHive, _clock, NullLogger.Instance);

    /// <summary>Works out every change without writing anything.</summary>
    /// <exception cref="NotSupportedException">No driver serves a device, or a package cannot be installed.</exception>
    /// <exception cref="WindowsVersionUnknownException">There are devices to match, no <see cref="ForTarget"/>, and the image does not say which Windows it is.</exception>
    /// <exception cref="UnsafeToWriteException">A hive is dirty with logs that cannot be applied and <see cref="AllowDirtyHive"/> was not given.</exception>
    public IscsiBootPlan Plan() => ImagePlanner.Plan(_installation, _builder.ToSteps(), Settings, null, CancellationToken.None);

    /// <summary>
    /// Plans, then writes (<see cref="PlanWriter"/>: files, then DRIVERS, SOFTWARE, SYSTEM last, one commit), inside
    /// one write transaction of the disk (<see cref="Storage.VirtualDisk.BeginWriteTransaction"/>) unless the caller
    /// holds one. The installation must have been opened writable; nothing is written when planning fails, and a plan
    /// with no change writes nothing at all.
    /// </summary>
    public IscsiBootPlan Apply()
    {
        if (!_installation.Volume.IsWritable)
        {
            throw new InvalidOperationException("Open the image writable (WindowsInstallation.Find(disk, writable: true)) to apply changes.");
        }
        IscsiBootPlan plan = Plan();
        if (plan.IsEmpty)
        {
            PlanWriter.Write(_installation, plan, Settings, null, CancellationToken.None);
        }
        else
        {
            AllOrNothing.Write(_installation.Disk, () => PlanWriter.Write(_installation, plan, Settings, null, CancellationToken.None));
        }
        return plan.AsApplied(null);
    }

    /// <summary>
    /// The CDDB key names for a device ID, most specific first: the ID itself, then without REV_, then without SUBSYS_
    /// (PCI\VEN_8086&amp;DEV_100E&amp;SUBSYS_001E8086&amp;REV_02 → pci#ven_8086&amp;dev_100e&amp;subsys_001e8086&amp;rev_02,
    /// pci#ven_8086&amp;dev_100e&amp;subsys_001e8086, pci#ven_8086&amp;dev_100e): lower case, "\" as "#".
    /// </summary>
    public static IReadOnlyList<string> CriticalDeviceIds(string deviceId)
    {
        if (deviceId is null)
        {
            throw new ArgumentNullException(nameof(deviceId));
        }
        string id = deviceId.Trim().ToLowerInvariant().Replace('\\', '#');
        var result = new List<string> { id };
        List<string> kept = id.Split('&').ToList();
        int rev = kept.FindIndex(p => p.StartsWith("rev_", StringComparison.Ordinal));
        if (rev >= 0)
        {
            kept.RemoveAt(rev);
            result.Add(string.Join("&", kept));
        }
        int subsys = kept.FindIndex(p => p.StartsWith("subsys_", StringComparison.Ordinal));
        if (subsys >= 0)
        {
            kept.RemoveAt(subsys);
            result.Add(string.Join("&", kept));
        }
        return result.Distinct().ToList();
    }
}
