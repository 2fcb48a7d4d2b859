using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;

namespace IscsiConvert.Windows;

/// <summary>
/// A plan, as data: what a transformation (an iSCSI boot preparation, or any composition of <see cref="PlanStep"/>s)
/// changes in one installation — the folders, files and registry values, each with what the image holds now — and,
/// once applied, the same data as the record of what was written (<see cref="IsApplied"/>). A plan made through
/// <see cref="WindowsImage"/> is applied with <see cref="Apply"/> (in place), <see cref="ApplyTo"/> (a new
/// differencing child) or <see cref="ApplyToCopy"/> (a full converted copy), each all or nothing.
/// </summary>
public sealed class IscsiBootPlan
{
    internal IscsiBootPlan(int? partitionIndex, string controlSet, TargetOs? target, IReadOnlyList<string> drivers, IReadOnlyList<RegistryChange> changes, IReadOnlyList<string> folders, IReadOnlyList<FileCopy> files, IReadOnlyList<string> warnings)
    {
        Folders = folders;
        Files = files;
        PartitionIndex = partitionIndex;
        ControlSet = controlSet;
        Target = target;
        Drivers = drivers;
        Changes = changes;
        Warnings = warnings;
    }

    /// <summary>Where the plan came from, so that it can be applied: the image, the installation, the settings.</summary>
    internal PlanOrigin? Origin { get; private set; }

    /// <summary>The partition of the installation (null for a bare volume).</summary>
    public int? PartitionIndex { get; }

    /// <summary>The control set edited (Select\Current).</summary>
    public string ControlSet { get; }

    /// <summary>The Windows version the INFs were matched for (null for a plan of registry steps alone on an image that does not tell).</summary>
    public TargetOs? Target { get; }

    /// <summary>For each device, the INF, install section and service chosen.</summary>
    public IReadOnlyList<string> Drivers { get; }

    /// <summary>The folders created on the volume for the files (those it lacks), each parent before its children.</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>The files written onto the volume, in order (files the volume already holds with the same bytes are left out).</summary>
    public IReadOnlyList<FileCopy> Files { get; }

    /// <summary>The registry values set, in order, SYSTEM's, DRIVERS' then SOFTWARE's (values that already held the data are left out).</summary>
    public IReadOnlyList<RegistryChange> Changes { get; }

    /// <summary>What the caller should know: dirty hives, INF lines not applied, a service used without an INF.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>True when the image already has every change: applying writes nothing.</summary>
    public bool IsEmpty => Files.Count == 0 && Changes.Count == 0;

    /// <summary>True for the result of an apply (what was written), false for a plan.</summary>
    public bool IsApplied { get; private set; }

    /// <summary>The image the changes were written to by <see cref="ApplyTo"/> or <see cref="ApplyToCopy"/>, or null.</summary>
    public string? OutputPath { get; private set; }

    internal IscsiBootPlan WithOrigin(PlanOrigin origin)
    {
        Origin = origin;
        return this;
    }

    internal IscsiBootPlan AsApplied(string? outputPath) =>
        new(PartitionIndex, ControlSet, Target, Drivers, Changes, Folders, Files, Warnings) { IsApplied = true, OutputPath = outputPath };

    /// <summary>
    /// Writes the plan into the image it was made from (opened <see cref="ImageAccess.ReadWrite"/>) and returns what
    /// was written. Source files are checked against the plan first; then everything is staged and committed at once
    /// (<see cref="ProgressReport"/> stage "Committing" is the last moment a cancellation has effect: up to there the
    /// image file is byte-identical). A plan with no change writes nothing, not even a header.
    /// </summary>
    /// <param name="progress">Reports Verifying, Creating folder, Copying (bytes), Saving hive, Committing, Committed.</param>
    /// <param name="cancellationToken">Stops before the commit point with <see cref="OperationCanceledException"/>, nothing written.</param>
    /// <exception cref="InvalidOperationException">The image is open read-only, the plan was applied already or the image changed since it was made.</exception>
    /// <exception cref="UnsafeToWriteException">The plan has changes and the image file is marked read-only.</exception>
    public IscsiBootPlan Apply(IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        PlanOrigin origin = CheckOrigin();
        if (origin.Image.Access != ImageAccess.ReadWrite)
        {
            throw new InvalidOperationException($"{origin.Image.Path} is open read-only: open it with ImageAccess.ReadWrite to apply in place, or write a new image with ApplyTo or ApplyToCopy.");
        }
        if (IsEmpty)
        {
            PlanWriter.Write(origin.Installation, this, origin.Settings, progress, cancellationToken);
            return AsApplied(null);
        }
        // Root may write a file without write permission; the mark is the owner's "do not change this golden image".
        // Checked only when there is something to write, so that planning and a no-op still work on such an image.
        if ((File.GetAttributes(origin.Image.Path) & FileAttributes.ReadOnly) != 0)
        {
            throw new UnsafeToWriteException("The image file is marked read-only; make it writable (chmod u+w, or attrib -r on Windows) to change it in place, or write the changes into a new image", origin.Image.Path);
        }
        // One write transaction: the NTFS commit, the hives and the container's metadata reach the image together.
        AllOrNothing.Write(origin.Image.Disk, () => PlanWriter.Write(origin.Installation, this, origin.Settings, progress, cancellationToken));
        origin.Image.Generation++;
        return AsApplied(null);
    }

    /// <summary>
    /// Writes the plan into a new differencing image at <paramref name="childPath"/> whose parent is the image the plan
    /// was made from, which is only read: VHDX over VHDX, VHD over VHD, a QCOW2 overlay over QCOW2, raw or VMDK
    /// (<see cref="DiskImage.DifferencingFormatFor"/>). The image must be open <see cref="ImageAccess.ReadOnly"/>.
    /// A failure, refusal or cancellation deletes the child. Even an empty plan creates the child (it then equals its parent).
    /// </summary>
    /// <param name="childPath">The new image; must not exist.</param>
    /// <param name="progress">As for <see cref="Apply"/>.</param>
    /// <param name="cancellationToken">Stops before the commit point; the child is deleted.</param>
    public IscsiBootPlan ApplyTo(string childPath, IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        PlanOrigin origin = CheckOrigin();
        CheckNew(childPath);
        if (origin.Image.Access != ImageAccess.ReadOnly)
        {
            throw new InvalidOperationException($"{origin.Image.Path} is open read-write; open it with ImageAccess.ReadOnly to write a differencing child over it.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        VirtualDisk child = DiskImage.CreateDifferencing(childPath, origin.Image.Path,
            new DiskCreateOptions { Logger = origin.Settings.Logger, TimeProvider = origin.Settings.Clock });
        WriteIntoNew(origin, child, childPath, progress, cancellationToken);
        return AsApplied(childPath);
    }

    /// <summary>
    /// Writes a full copy of the image in <paramref name="format"/> to <paramref name="path"/> (<see cref="DiskConverter"/>,
    /// parents merged) and the plan into that copy; the image is only read. A failure, refusal or cancellation deletes the copy.
    /// </summary>
    /// <param name="path">The new image; must not exist.</param>
    /// <param name="format">Its format.</param>
    /// <param name="progress">Reports the conversion ("Copying" bytes of the disk), then as for <see cref="Apply"/>.</param>
    /// <param name="cancellationToken">Stops the conversion or the apply before its commit point; the copy is deleted.</param>
    public IscsiBootPlan ApplyToCopy(string path, DiskFormat format, IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        PlanOrigin origin = CheckOrigin();
        CheckNew(path);
        DiskConverter.Convert(origin.Image.Disk, path, new DiskCreateOptions { Format = format, Logger = origin.Settings.Logger, TimeProvider = origin.Settings.Clock },
            progress, cancellationToken);
        VirtualDisk copy;
        try
        {
            copy = DiskImage.Open(path, new DiskOpenOptions { Access = DiskAccess.ReadWrite, Logger = origin.Settings.Logger });
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        WriteIntoNew(origin, copy, path, progress, cancellationToken);
        return AsApplied(path);
    }

    // Applies the plan to a new image this plan created (a child or a copy, so the same installation is on the same
    // partition) and deletes that image unless all went well.
    private void WriteIntoNew(PlanOrigin origin, VirtualDisk disk, string path, IProgress<ProgressReport>? progress, CancellationToken cancellationToken)
    {
        bool done = false;
        try
        {
            IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk, writable: true);
            try
            {
                WindowsInstallation target = found.FirstOrDefault(w => w.PartitionIndex == PartitionIndex)
                    ?? throw new InvalidOperationException($"{path}: the installation of the plan (partition {PartitionIndex}) is not in the new image.");
                PlanWriter.Write(target, this, origin.Settings, progress, cancellationToken);
            }
            finally
            {
                foreach (WindowsInstallation w in found)
                {
                    w.Dispose();
                }
            }
            disk.Flush();
            done = true;
        }
        finally
        {
            disk.Dispose();
            if (!done)
            {
                File.Delete(path); // we created it; a failed run leaves nothing behind
            }
        }
    }

    private PlanOrigin CheckOrigin()
    {
        if (IsApplied)
        {
            throw new InvalidOperationException("This is the record of an apply; plan again to write more.");
        }
        PlanOrigin origin = Origin ?? throw new InvalidOperationException("This plan was made by IscsiBoot.Plan; apply it with IscsiBoot.Apply, or make it with WindowsImage.Open(…).PrepareIscsiBoot(…).");
        origin.Image.ThrowIfDisposed();
        if (origin.Generation != origin.Image.Generation)
        {
            throw new InvalidOperationException("The image was changed after this plan was made (a plan was applied to it); plan again.");
        }
        return origin;
    }

    private static void CheckNew(string path)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        if (File.Exists(path))
        {
            throw new IOException($"'{path}' exists; name a new file for the output image.");
        }
    }

    /// <summary>The plan for people: one line per folder, file and registry value, then the warnings.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(IsApplied ? "Written to " : "Plan for ").Append(PartitionIndex is { } p ? "partition " + p : "the bare volume")
            .Append(", ").Append(ControlSet).Append(Target is { } t ? ", target " + t : string.Empty).Append(':').AppendLine();
        foreach (string d in Drivers)
        {
            text.Append("  driver  ").AppendLine(d);
        }
        foreach (string folder in Folders)
        {
            text.Append("  mkdir   ").AppendLine(folder);
        }
        foreach (FileCopy f in Files)
        {
            text.Append("  copy    ").AppendLine(f.ToString());
        }
        foreach (RegistryChange c in Changes)
        {
            text.Append(c.Operation == RegistryOperation.SetValue ? "  set     " : "  delete  ").AppendLine(c.ToString());
        }
        foreach (string w in Warnings)
        {
            text.Append("  warning ").AppendLine(w);
        }
        if (IsEmpty)
        {
            text.AppendLine("  nothing to change: the image already has every change.");
        }
        return text.ToString();
    }
}

/// <summary>The image, installation and settings a plan was made with, and the image's generation then.</summary>
internal sealed record PlanOrigin(WindowsImage Image, WindowsInstallation Installation, PlanSettings Settings, int Generation);
