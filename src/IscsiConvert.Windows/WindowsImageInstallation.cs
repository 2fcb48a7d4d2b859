using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using IscsiConvert.Drivers;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Windows;

/// <summary>Whether Windows left a volume so that it may be written offline.</summary>
public enum WindowsVolumeState
{
    /// <summary>Shut down cleanly: safe to write.</summary>
    Clean = 0,

    /// <summary>Marked dirty, or its $LogFile was not closed cleanly: run chkdsk in Windows (or shut it down properly) first.</summary>
    Dirty = 1,

    /// <summary>An active hibernation image (Fast Startup): boot Windows and shut it down fully (shutdown /s /t 0) first.</summary>
    Hibernated = 2,
}

/// <summary>
/// One Windows installation of a <see cref="WindowsImage"/>: where it is, which Windows, whether its volume may be
/// written, and the plans made on it.
/// </summary>
public sealed class WindowsImageInstallation
{
    private readonly WindowsImage _image;
    private readonly Lazy<WindowsSystemConfig> _config;
    private readonly Lazy<(WindowsVolumeState State, string? Reason)> _state;

    internal WindowsImageInstallation(WindowsImage image, WindowsInstallation installation)
    {
        _image = image;
        Installation = installation;
        _config = new Lazy<WindowsSystemConfig>(installation.ReadConfiguration);
        _state = new Lazy<(WindowsVolumeState, string?)>(ReadState);
    }

    /// <summary>The lower-level model of the installation (hives, INFs, driver store, matching).</summary>
    public WindowsInstallation Installation { get; }

    /// <summary>The partition's index in the table, or null when the whole disk is the volume.</summary>
    public int? PartitionIndex => Installation.PartitionIndex;

    /// <summary>The NTFS volume's label.</summary>
    public string VolumeLabel => Installation.Volume.VolumeLabel;

    /// <summary>What the SYSTEM, SOFTWARE and DRIVERS hives say (read on first use).</summary>
    public WindowsSystemConfig Configuration => _config.Value;

    /// <summary>The version from the SOFTWARE hive, or null when the image has none.</summary>
    public WindowsVersion? Version => Configuration.Version;

    /// <summary>The generation (CDDB before 8, DriverDatabase from 8 on); Unknown without a version.</summary>
    public WindowsFamily Family => Version?.Family ?? WindowsFamily.Unknown;

    /// <summary>The processor architecture (x86, amd64, arm64…), or null when nothing says.</summary>
    public string? Architecture => Configuration.Architecture;

    /// <summary>Whether the volume may be written (an image opened for writing holds only clean ones: the others are refused when it opens).</summary>
    public WindowsVolumeState State => _state.Value.State;

    /// <summary>Why the volume may not be written, or null when it is clean.</summary>
    public string? StateReason => _state.Value.Reason;

    private (WindowsVolumeState, string?) ReadState()
    {
        (NtfsVolumeState state, string? reason) = Installation.Volume.GetWriteSafety();
        return (state switch
        {
            NtfsVolumeState.Clean => WindowsVolumeState.Clean,
            NtfsVolumeState.Hibernated => WindowsVolumeState.Hibernated,
            _ => WindowsVolumeState.Dirty,
        }, reason);
    }

    /// <summary>Plans an iSCSI boot preparation: <c>installation.PrepareIscsiBoot(b => b.WithBootAdapter(id))</c>. Reads only.</summary>
    /// <param name="configure">Describes the preparation on an empty builder.</param>
    public IscsiBootPlan PrepareIscsiBoot(Func<IscsiBootBuilder, IscsiBootBuilder> configure) => PrepareIscsiBoot(configure, CancellationToken.None);

    /// <summary>
    /// Plans an iSCSI boot preparation: <paramref name="configure"/> describes it on an empty <see cref="IscsiBootBuilder"/>
    /// (<c>b => b.WithBootAdapter(id).WithDriverPackage(dir)</c>). Reads only.
    /// </summary>
    /// <param name="configure">Describes the preparation.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    /// <exception cref="NotSupportedException">No driver serves a device, or a package cannot be installed.</exception>
    /// <exception cref="WindowsVersionUnknownException">Devices to match, no target, and the image does not say which Windows it is.</exception>
    /// <exception cref="UnsafeToWriteException">A hive is dirty with logs that cannot be applied and dirty hives were not allowed.</exception>
    public IscsiBootPlan PrepareIscsiBoot(Func<IscsiBootBuilder, IscsiBootBuilder> configure, CancellationToken cancellationToken)
    {
        if (configure is null)
        {
            throw new ArgumentNullException(nameof(configure));
        }
        return PrepareIscsiBoot(configure(new IscsiBootBuilder()) ?? throw new InvalidOperationException("The configure function returned no builder."), cancellationToken);
    }

    /// <summary>Plans an iSCSI boot preparation from a builder made beforehand (the form PowerShell calls easily).</summary>
    /// <param name="builder">The preparation.</param>
    public IscsiBootPlan PrepareIscsiBoot(IscsiBootBuilder builder) => PrepareIscsiBoot(builder, CancellationToken.None);

    /// <summary>Plans an iSCSI boot preparation from a builder made beforehand.</summary>
    /// <param name="builder">The preparation.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    public IscsiBootPlan PrepareIscsiBoot(IscsiBootBuilder builder, CancellationToken cancellationToken)
    {
        if (builder is null)
        {
            throw new ArgumentNullException(nameof(builder));
        }
        return Plan(builder.ToSteps(), builder.Target, null, cancellationToken);
    }

    /// <summary>
    /// Plans any composition of steps (<see cref="SetRegistryValueStep"/>, <see cref="CriticalDeviceEntryStep"/>,
    /// <see cref="InstallServiceStep"/>, <see cref="StageDriverPackageStep"/>, <see cref="CopyFileStep"/>,
    /// <see cref="RegFileStep"/>, <see cref="BootDeviceStep"/>), in order; a later step's value wins over an earlier one's. Reads only.
    /// </summary>
    /// <param name="steps">The steps.</param>
    /// <param name="target">The Windows to match INFs for, or null to read it from the image.</param>
    /// <param name="progress">Reports "Planning" per step.</param>
    /// <param name="cancellationToken">Stops planning (nothing is ever written by planning).</param>
    public IscsiBootPlan Plan(IEnumerable<PlanStep> steps, TargetOs? target = null, IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        if (steps is null)
        {
            throw new ArgumentNullException(nameof(steps));
        }
        _image.ThrowIfDisposed();
        List<PlanStep> list = steps.ToList();
        if (list.Any(s => s is null))
        {
            throw new ArgumentException("A step is null.", nameof(steps));
        }
        var settings = new PlanSettings(target, _image.Options.AllowDirtyHive, _image.Options.TimeProvider, _image.Options.Logger);
        return ImagePlanner.Plan(Installation, list, settings, progress, cancellationToken)
            .WithOrigin(new PlanOrigin(_image, Installation, settings, _image.Generation));
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(PartitionIndex is { } p ? "partition " + p : "whole disk")}: {(Version is { } v ? v.ToString() : "Windows (version unknown)")}, {State}";
}
