using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Windows;

/// <summary>
/// The entry point of the injection engine: a disk image (raw, VHD, VHDX, VMDK, QCOW2) opened with the Windows
/// installations on it. The way is always the same — open the image, choose the installation, plan, apply:
/// <code>
/// using WindowsImage image = WindowsImage.Open("ws2022.vhdx", ImageAccess.ReadWrite);
/// IscsiBootPlan plan = image.PrepareIscsiBoot(b => b.WithBootAdapter(@"PCI\VEN_1AF4&amp;DEV_1000").WithDriverPackage(@"C:\virtio\NetKVM"));
/// IscsiBootPlan written = plan.Apply(progress, cancellationToken);
/// </code>
/// Planning only reads. Opened <see cref="ImageAccess.ReadOnly"/>, the image is never written; the plan can still go
/// to a new differencing child (<see cref="IscsiBootPlan.ApplyTo"/>) or a converted copy (<see cref="IscsiBootPlan.ApplyToCopy"/>).
/// Opened <see cref="ImageAccess.ReadWrite"/>, a volume holding Windows that is dirty or hibernated is refused at
/// once (<see cref="UnsafeToWriteException"/>). Disposing closes the volumes and the image.
/// </summary>
public sealed class WindowsImage : IDisposable
{
    private readonly VirtualDisk _disk;
    private readonly List<WindowsImageInstallation> _installations;
    private bool _disposed;

    private WindowsImage(string path, ImageAccess access, WindowsImageOptions options, VirtualDisk disk, IEnumerable<WindowsInstallation> found)
    {
        Path = path;
        Access = access;
        Options = options;
        _disk = disk;
        _installations = found.Select(w => new WindowsImageInstallation(this, w)).ToList();
    }

    /// <summary>Opens the image at <paramref name="path"/> and finds its Windows installations (each NTFS volume holding \Windows\System32\config\SYSTEM).</summary>
    /// <param name="path">The image file.</param>
    /// <param name="access">Read only, or read and written in place.</param>
    /// <param name="options">Logger, clock, dirty-hive rule; null for the defaults.</param>
    /// <exception cref="UnsafeToWriteException">Opened for writing, a Windows volume is dirty, not cleanly shut down or hibernated.</exception>
    /// <exception cref="IscsiConvertException">The image or a volume on it cannot be read (the exception names the file and structure).</exception>
    /// <exception cref="ArgumentException"><see cref="WindowsImageOptions.ParentPath"/> is given but the image is not a differencing image.</exception>
    public static WindowsImage Open(string path, ImageAccess access, WindowsImageOptions? options = null)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        options ??= new WindowsImageOptions();
        bool writable = access == ImageAccess.ReadWrite;
        VirtualDisk disk = DiskImage.Open(path, new DiskOpenOptions { Access = writable ? DiskAccess.ReadWrite : DiskAccess.ReadOnly, Logger = options.Logger, ParentPath = options.ParentPath });
        try
        {
            IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk, writable);
            options.Logger.LogInformation("{Path}: {Count} Windows installation(s) found, opened {Access}", path, found.Count, access);
            return new WindowsImage(path, access, options, disk, found);
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    /// <summary>The image file.</summary>
    public string Path { get; }

    /// <summary>How it was opened.</summary>
    public ImageAccess Access { get; }

    /// <summary>The image's format.</summary>
    public DiskFormat Format => _disk.Format;

    /// <summary>The Windows installations, in partition order (none when the image holds no Windows).</summary>
    public IReadOnlyList<WindowsImageInstallation> Installations => _installations;

    internal WindowsImageOptions Options { get; }

    internal VirtualDisk Disk => _disk;

    /// <summary>Counts the applies to this image, so that a plan made before one is refused.</summary>
    internal int Generation { get; set; }

    /// <summary>
    /// The installation on <paramref name="partition"/>, or, when null, the only one.
    /// </summary>
    /// <param name="partition">The partition's index, or null.</param>
    /// <exception cref="WindowsInstallationChoiceException">No Windows, several and none chosen, or none on that partition.</exception>
    /// <exception cref="UnsafeToWriteException">No Windows was found and a volume is BitLocker-encrypted (it cannot be read offline).</exception>
    public WindowsImageInstallation GetInstallation(int? partition = null)
    {
        ThrowIfDisposed();
        if (_installations.Count == 0)
        {
            // A BitLocker volume may well hold the Windows that was not found: say so, as a refusal, not as "no Windows".
            if (EncryptedVolumes() is { Count: > 0 } encrypted)
            {
                throw new UnsafeToWriteException($"{string.Join(", ", encrypted)} is BitLocker-encrypted and no unencrypted Windows installation was found; an encrypted volume cannot be read or changed offline. Decrypt it in Windows first (manage-bde -off, or turn BitLocker off), then prepare the image.", Path);
            }
            throw new WindowsInstallationChoiceException("no Windows installation found (no NTFS volume holds \\Windows\\System32\\config\\SYSTEM).", Path);
        }
        if (partition is int p)
        {
            return _installations.FirstOrDefault(w => w.PartitionIndex == p)
                ?? throw new WindowsInstallationChoiceException($"no Windows installation on partition {p}; found: {Describe()}.", Path);
        }
        if (_installations.Count > 1)
        {
            throw new WindowsInstallationChoiceException($"the image holds {_installations.Count} Windows installations ({Describe()}); choose one by partition.", Path);
        }
        return _installations[0];
    }

    // The volumes whose boot sector carries BitLocker's signature ("-FVE-FS-"): "partition N", or "the disk" when bare.
    private List<string> EncryptedVolumes()
    {
        var encrypted = new List<string>();
        PartitionTable? table = PartitionTable.Read(_disk);
        if (table is null)
        {
            if (FileSystemProbe.Detect(_disk.Content)?.Name == "BitLocker")
            {
                encrypted.Add("the disk (a bare volume)");
            }
            return encrypted;
        }
        foreach (PartitionInfo partition in table.Partitions)
        {
            using SparseStream volume = table.Open(partition);
            if (FileSystemProbe.Detect(volume)?.Name == "BitLocker")
            {
                encrypted.Add("partition " + partition.Index.ToString(CultureInfo.InvariantCulture));
            }
        }
        return encrypted;
    }

    private string Describe() =>
        string.Join(", ", _installations.Select(x => x.PartitionIndex is int i ? "partition " + i.ToString(CultureInfo.InvariantCulture) : "the whole disk"));

    /// <summary>Plans an iSCSI boot preparation of the only installation: <c>image.PrepareIscsiBoot(b => b.WithBootAdapter(id))</c>.</summary>
    /// <param name="configure">Describes the preparation on an empty builder.</param>
    public IscsiBootPlan PrepareIscsiBoot(Func<IscsiBootBuilder, IscsiBootBuilder> configure) => PrepareIscsiBoot(configure, CancellationToken.None);

    /// <summary>Plans an iSCSI boot preparation of the only installation (<see cref="WindowsImageInstallation.PrepareIscsiBoot(Func{IscsiBootBuilder, IscsiBootBuilder}, CancellationToken)"/>).</summary>
    /// <param name="configure">Describes the preparation on an empty builder: <c>b => b.WithBootAdapter(id)</c>.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    public IscsiBootPlan PrepareIscsiBoot(Func<IscsiBootBuilder, IscsiBootBuilder> configure, CancellationToken cancellationToken) =>
        GetInstallation().PrepareIscsiBoot(configure, cancellationToken);

    /// <summary>Plans an iSCSI boot preparation from a builder made beforehand (the form PowerShell calls easily).</summary>
    /// <param name="builder">The preparation.</param>
    public IscsiBootPlan PrepareIscsiBoot(IscsiBootBuilder builder) => PrepareIscsiBoot(builder, CancellationToken.None);

    /// <summary>Plans an iSCSI boot preparation of the only installation from a builder made beforehand.</summary>
    /// <param name="builder">The preparation.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    public IscsiBootPlan PrepareIscsiBoot(IscsiBootBuilder builder, CancellationToken cancellationToken) =>
        GetInstallation().PrepareIscsiBoot(builder, cancellationToken);

    /// <summary>Plans any composition of steps on the only installation (<see cref="WindowsImageInstallation.Plan"/>).</summary>
    /// <param name="steps">The steps, in order.</param>
    /// <param name="cancellationToken">Stops planning.</param>
    public IscsiBootPlan Plan(IEnumerable<PlanStep> steps, CancellationToken cancellationToken = default) =>
        GetInstallation().Plan(steps, null, null, cancellationToken);

    internal void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(WindowsImage));
        }
    }

    /// <summary>Closes the volumes and the image (nothing is written: an apply commits and flushes itself).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (WindowsImageInstallation w in _installations)
        {
            w.Installation.Dispose();
        }
        _disk.Dispose();
    }
}
