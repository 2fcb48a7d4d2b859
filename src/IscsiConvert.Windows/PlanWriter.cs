using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Windows;

/// <summary>
/// Writes a plan onto a writable installation. First every source file is checked against the size and SHA-256 the
/// plan recorded (a package changed since planning is refused before anything is written); then, staged in the NTFS
/// writer's change set, the folders, the files (new files, which nothing names yet), the DRIVERS hive, SOFTWARE, and
/// SYSTEM last (what makes the boot use the driver); then one <see cref="Ntfs.NtfsVolume.Flush"/> commits it all into
/// the disk's write transaction (<see cref="AllOrNothing"/>), whose commit right after is the commit point. A failure
/// or a cancellation before it discards the staged edits and rolls the transaction back: the image is byte-identical.
/// A plan with no change writes nothing at all.
/// </summary>
internal static class PlanWriter
{
    private static readonly string[] HiveOrder = { "DRIVERS", "SOFTWARE", "SYSTEM" };

    public static void Write(WindowsInstallation installation, IscsiBootPlan plan, PlanSettings settings, IProgress<ProgressReport>? progress, CancellationToken cancellationToken)
    {
        if (!installation.Volume.IsWritable)
        {
            throw new InvalidOperationException("The installation is open read-only: open the image with ImageAccess.ReadWrite (or WindowsInstallation.Find(disk, writable: true)) to apply changes, or write them to a new image with ApplyTo.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (plan.IsEmpty)
        {
            settings.Logger.LogInformation("Nothing to write: the image already has every change");
            return;
        }
        var hives = HiveOrder.Where(h => plan.Changes.Any(c => string.Equals(c.Hive, h, StringComparison.OrdinalIgnoreCase))).ToList();
        long total = plan.Folders.Count + plan.Files.Sum(f => f.Size) + hives.Count;
        long done = 0;
        void Report(string stage, string? item) => progress?.Report(new ProgressReport(stage, done, total, item));

        foreach (FileCopy file in plan.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Report("Verifying", file.Source);
            Verify(file);
        }
        try
        {
            foreach (string folder in plan.Folders)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Report("Creating folder", folder);
                installation.Volume.CreateDirectory(folder);
                done++;
            }
            foreach (FileCopy file in plan.Files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Report("Copying", file.Destination);
                using (FileStream source = File.OpenRead(file.Source))
                {
                    installation.Volume.WriteFile(file.Destination, source);
                }
                done += file.Size;
            }
            foreach (string hive in hives)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Report("Saving hive", hive);
                var changes = plan.Changes.Where(c => string.Equals(c.Hive, hive, StringComparison.OrdinalIgnoreCase)).ToList();
                installation.StageHiveEdit(hive, h => HiveEdits.Apply(h, changes), settings.AllowDirtyHive);
                done++;
            }
            Report("Committing", null);
            // The commit point: up to here nothing has reached the image.
            cancellationToken.ThrowIfCancellationRequested();
            installation.Volume.Flush();
        }
        catch
        {
            installation.Volume.DiscardChanges();
            throw;
        }
        Report("Committed", null);
        settings.Logger.LogInformation("Wrote {Folders} folder(s), {Files} file(s) and {Values} registry change(s)", plan.Folders.Count, plan.Files.Count, plan.Changes.Count);
    }

    private static void Verify(FileCopy file)
    {
        using FileStream s = File.OpenRead(file.Source);
        using var sha = SHA256.Create();
        if (s.Length != file.Size || !string.Equals(FileCopy.ToHex(sha.ComputeHash(s)), file.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{file.Source} changed since the plan was made (size or SHA-256 differ); plan again. Nothing was written.");
        }
    }
}
