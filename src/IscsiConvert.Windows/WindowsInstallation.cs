using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using IscsiConvert.Registry;
using IscsiConvert.Storage;
using IscsiConvert.Storage.FileSystems;
using IscsiConvert.Storage.Partitions;

namespace IscsiConvert.Windows;

/// <summary>
/// A Windows installation found on an NTFS volume of a disk image: a volume holding
/// <c>\Windows\System32\config\SYSTEM</c>. Read-only; disposing it closes the volume (not the disk).
/// </summary>
public sealed partial class WindowsInstallation : IDisposable
{
    /// <summary>The folder every installation is looked for in.</summary>
    public const string WindowsFolder = @"\Windows";

    private const string ConfigFolder = WindowsFolder + @"\System32\config";

    // The log suffixes Windows writes beside a hive, in replay order: the old single log, then the dual logs.
    private static readonly string[] LogSuffixes = { ".LOG", ".LOG1", ".LOG2" };

    private WindowsInstallation(int? partitionIndex, NtfsVolume volume, VirtualDisk disk)
    {
        PartitionIndex = partitionIndex;
        Volume = volume;
        Disk = disk;
    }

    /// <summary>The disk the volume lies on: in-place writes run in one write transaction of it (<see cref="AllOrNothing"/>).</summary>
    internal VirtualDisk Disk { get; }

    /// <summary>The partition's index in the table, or null when the whole disk is the volume.</summary>
    public int? PartitionIndex { get; }

    /// <summary>The NTFS volume holding the installation.</summary>
    public NtfsVolume Volume { get; }

    /// <summary>
    /// Every Windows installation on <paramref name="disk"/>: each NTFS volume (each partition, or the bare disk when it
    /// has no partition table) whose <c>\Windows\System32\config\SYSTEM</c> exists. Several are all reported; the caller
    /// chooses, nothing is guessed. Volumes that are not NTFS are skipped.
    /// </summary>
    public static IReadOnlyList<WindowsInstallation> Find(VirtualDisk disk) => Find(disk, writable: false);

    /// <summary>
    /// Like <see cref="Find(VirtualDisk)"/>; with <paramref name="writable"/> the NTFS volumes are opened for writing
    /// (the disk must be open read-write), which first refuses volumes that are dirty, uncleanly shut down or
    /// hibernated (<see cref="UnsafeToWriteException"/>).
    /// </summary>
    public static IReadOnlyList<WindowsInstallation> Find(VirtualDisk disk, bool writable)
    {
        if (disk is null)
        {
            throw new ArgumentNullException(nameof(disk));
        }
        var found = new List<WindowsInstallation>();
        PartitionTable? table = PartitionTable.Read(disk);
        if (table is null)
        {
            TryAdd(found, disk, null, disk.Content, leaveOpen: true, writable);
            return found;
        }
        try
        {
            foreach (PartitionInfo partition in table.Partitions)
            {
                TryAdd(found, disk, partition.Index, table.Open(partition), leaveOpen: false, writable);
            }
        }
        catch
        {
            // A damaged volume stops the search (its error names what is wrong); the volumes already opened are closed.
            foreach (WindowsInstallation w in found)
            {
                w.Dispose();
            }
            throw;
        }
        return found;
    }

    private static void TryAdd(List<WindowsInstallation> found, VirtualDisk disk, int? index, SparseStream stream, bool leaveOpen, bool writable)
    {
        DetectedFileSystem? fs = FileSystemProbe.Detect(stream);
        if (fs is null || fs.Name != "NTFS")
        {
            if (!leaveOpen)
            {
                stream.Dispose();
            }
            return;
        }
        NtfsVolume volume;
        try
        {
            // Only a volume holding Windows is opened for writing (which checks it is safe to write); others stay read-only.
            volume = NtfsVolume.Open(stream, new NtfsOpenOptions { LeaveOpen = writable || leaveOpen });
            if (writable)
            {
                bool holdsWindows = volume.TryGetEntry(ConfigFolder + @"\SYSTEM") is { IsDirectory: false };
                volume.Dispose();
                volume = NtfsVolume.Open(stream, new NtfsOpenOptions { LeaveOpen = leaveOpen, Writable = holdsWindows });
            }
        }
        catch
        {
            if (!leaveOpen)
            {
                stream.Dispose();
            }
            throw;
        }
        NtfsEntry? system = volume.TryGetEntry(ConfigFolder + @"\SYSTEM");
        if (system is null || system.IsDirectory)
        {
            volume.Dispose();
            return;
        }
        found.Add(new WindowsInstallation(index, volume, disk));
    }

    /// <summary>
    /// Opens the SYSTEM hive read-only, recovered in memory from SYSTEM.LOG/.LOG1/.LOG2 when they are there and the
    /// hive is dirty. Nothing on the image changes.
    /// </summary>
    public RegistryHive OpenSystemHive() =>
        OpenHive("SYSTEM") ?? throw new FileNotFoundException("The SYSTEM hive has disappeared from the volume.", ConfigFolder + @"\SYSTEM");

    /// <summary>
    /// Edits the SYSTEM hive in place on a writable installation: the hive (recovered in memory from its logs when
    /// dirty) is changed by <paramref name="edit"/>, saved clean, written back over the file, its non-empty logs
    /// emptied (their records are in the saved hive now, and a clean hive never replays them), and the volume flushed.
    /// </summary>
    public void UpdateSystemHive(Action<RegistryHive> edit) => UpdateHive("SYSTEM", edit, allowDirtyHive: false);

    /// <summary>
    /// Edits the hive <c>\Windows\System32\config\NAME</c> in place, as <see cref="UpdateSystemHive"/> does. A dirty hive
    /// whose logs apply is recovered; a dirty hive without logs (or with empty ones) is edited as it is and saved clean,
    /// as Windows itself loads it; a dirty hive whose logs exist but cannot be applied is refused
    /// (<see cref="UnsafeToWriteException"/>) unless <paramref name="allowDirtyHive"/>, since saving it clean loses
    /// what those logs hold. <see cref="GetHiveCondition"/> tells beforehand which case a hive is.
    /// </summary>
    public void UpdateHive(string name, Action<RegistryHive> edit, bool allowDirtyHive) =>
        AllOrNothing.Write(Disk, () =>
        {
            StageHiveEdit(name, edit, allowDirtyHive);
            Volume.Flush();
        });

    /// <summary>
    /// <see cref="UpdateHive"/> without the flush: the edit is staged in the volume's change set, so that a caller that
    /// changes several hives and files commits them all in one <see cref="NtfsVolume.Flush"/> (all or nothing). The hive
    /// is saved through a write stream on the file itself, so only the bins that changed and the base block are
    /// written — not the whole hive.
    /// </summary>
    internal void StageHiveEdit(string name, Action<RegistryHive> edit, bool allowDirtyHive)
    {
        if (edit is null)
        {
            throw new ArgumentNullException(nameof(edit));
        }
        string path = HivePath(name);
        List<string> logPaths = NonEmptyLogs(path);
        var options = new RegistryOpenOptions { Writable = true, SaveDirtyWithoutRecovery = logPaths.Count == 0 || allowDirtyHive };
        var logs = new List<Stream>();
        try
        {
            foreach (string log in logPaths)
            {
                Stream s = Volume.OpenFile(log);
                logs.Add(s);
                options.LogStreams.Add(s);
            }
            using Stream file = Volume.OpenWrite(path, FileMode.Open);
            using RegistryHive hive = RegistryHive.Open(file, options);
            if (hive.IsDirtyWithoutRecovery && !options.SaveDirtyWithoutRecovery)
            {
                throw new UnsafeToWriteException(
                    $"The {name} hive is dirty and its transaction logs ({string.Join(", ", logPaths)}) cannot be applied; saving it would lose what they hold. Nothing was written; allow it explicitly (--allow-dirty-hive) to edit the hive as it is.",
                    path);
            }
            edit(hive);
            hive.Save();
        }
        finally
        {
            foreach (Stream s in logs)
            {
                s.Dispose();
            }
        }
        foreach (string log in logPaths)
        {
            Volume.WriteFile(log, Array.Empty<byte>());
        }
    }

    /// <summary>
    /// Whether a hive of this installation is clean, dirty and recoverable from its logs, dirty without logs, or dirty
    /// with logs that cannot be applied; null when the image has no such hive.
    /// </summary>
    public HiveCondition? GetHiveCondition(string name)
    {
        string path = HivePath(name);
        if (Volume.TryGetEntry(path) is not { IsDirectory: false })
        {
            return null;
        }
        using RegistryHive hive = OpenHive(name)!;
        return GetHiveCondition(name, hive);
    }

    /// <summary><see cref="GetHiveCondition(string)"/> of a hive the caller opened already with <see cref="OpenHive"/> (the file is not read again).</summary>
    internal HiveCondition GetHiveCondition(string name, RegistryHive hive)
    {
        bool hasLogs = NonEmptyLogs(HivePath(name)).Count > 0;
        if (hive.RecoveredWith is not null)
        {
            return HiveCondition.RecoveredFromLogs;
        }
        if (!hive.IsDirtyWithoutRecovery)
        {
            return HiveCondition.Clean;
        }
        return hasLogs ? HiveCondition.DirtyLogsUnusable : HiveCondition.DirtyWithoutLogs;
    }

    private static string HivePath(string name)
    {
        if (string.IsNullOrEmpty(name) || name.IndexOfAny(new[] { '\\', '/' }) >= 0)
        {
            throw new ArgumentException("A hive name is a file name in System32\\config, such as SYSTEM.", nameof(name));
        }
        return ConfigFolder + @"\" + name;
    }

    // A hive's transaction logs that hold something: an empty log is what Windows leaves after a clean shutdown, with
    // nothing to replay.
    private List<string> NonEmptyLogs(string hivePath) =>
        LogSuffixes.Select(suffix => hivePath + suffix).Where(log => Volume.TryGetEntry(log) is { IsDirectory: false, Size: > 0 }).ToList();

    /// <summary>Opens the SOFTWARE hive read-only (recovered in memory like SYSTEM), or null when the image has none.</summary>
    public RegistryHive? OpenSoftwareHive() => OpenHive("SOFTWARE");

    /// <summary>Opens the hive <c>\Windows\System32\config\NAME</c> read-only, or null when there is no such file.</summary>
    public RegistryHive? OpenHive(string name)
    {
        if (string.IsNullOrEmpty(name) || name.IndexOfAny(new[] { '\\', '/' }) >= 0)
        {
            throw new ArgumentException("A hive name is a file name in System32\\config, such as SYSTEM.", nameof(name));
        }
        string path = ConfigFolder + @"\" + name;
        NtfsEntry? entry = Volume.TryGetEntry(path);
        if (entry is null || entry.IsDirectory)
        {
            return null;
        }
        var options = new RegistryOpenOptions();
        var logs = new List<Stream>();
        try
        {
            foreach (string log in NonEmptyLogs(path))
            {
                Stream s = Volume.OpenFile(log);
                logs.Add(s);
                options.LogStreams.Add(s);
            }
            using Stream hive = Volume.OpenFile(path);
            return RegistryHive.Open(hive, options);
        }
        finally
        {
            foreach (Stream s in logs)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>The file names of the INFs in <c>\Windows\INF</c> (inbox and installed OEMnn.inf), in NTFS collation order.</summary>
    public IReadOnlyList<string> ListInfFiles()
    {
        const string folder = WindowsFolder + @"\INF";
        NtfsEntry? dir = Volume.TryGetEntry(folder);
        if (dir is null || !dir.IsDirectory)
        {
            return Array.Empty<string>();
        }
        var names = new List<string>();
        foreach (NtfsEntry e in Volume.ListDirectory(folder))
        {
            if (!e.IsDirectory && e.Name.EndsWith(".inf", StringComparison.OrdinalIgnoreCase))
            {
                names.Add(e.Name);
            }
        }
        return names;
    }

    /// <summary>
    /// The package folders of the driver store (<c>System32\DriverStore\FileRepository</c>, e.g.
    /// "netvioscsi.inf_amd64_1a2b…"), in NTFS collation order; empty before Vista, which has no driver store.
    /// </summary>
    public IReadOnlyList<string> ListDriverStorePackages()
    {
        const string folder = WindowsFolder + @"\System32\DriverStore\FileRepository";
        NtfsEntry? dir = Volume.TryGetEntry(folder);
        if (dir is null || !dir.IsDirectory)
        {
            return Array.Empty<string>();
        }
        var names = new List<string>();
        foreach (NtfsEntry e in Volume.ListDirectory(folder))
        {
            if (e.IsDirectory)
            {
                names.Add(e.Name);
            }
        }
        return names;
    }

    /// <summary>
    /// Reads what the SYSTEM hive (and SOFTWARE and DRIVERS, when present) say about this installation. When the
    /// control set's environment does not name the processor architecture, the PE header of the kernel image
    /// (\Windows\System32\ntoskrnl.exe, else winload.exe, else hal.dll: the first that is a PE image of a known machine) does.
    /// </summary>
    public WindowsSystemConfig ReadConfiguration()
    {
        using RegistryHive system = OpenSystemHive();
        using RegistryHive? drivers = OpenHive("DRIVERS");
        return ReadConfiguration(system, drivers);
    }

    /// <summary>
    /// <see cref="ReadConfiguration()"/> from the SYSTEM and DRIVERS hives the caller opened already with
    /// <see cref="OpenHive"/> (so that a job reads each hive file once; only SOFTWARE is opened here).
    /// </summary>
    internal WindowsSystemConfig ReadConfiguration(RegistryHive system, RegistryHive? drivers)
    {
        WindowsSystemConfig config;
        using (RegistryHive? software = OpenSoftwareHive())
        {
            config = WindowsSystemConfig.Read(system, software, drivers);
        }
        if (config.Architecture is null && ReadArchitectureFromFiles() is { } found)
        {
            config.SetArchitectureFromFile(found.Architecture, found.Path);
        }
        return config;
    }

    /// <summary>
    /// The files whose PE Machine field tells the architecture when the registry does not: native images that every
    /// Windows has in System32 (on 64-bit Windows System32 holds the 64-bit images; 32-bit ones live in SysWOW64).
    /// </summary>
    internal static IReadOnlyList<string> ArchitectureFiles { get; } = new[]
    {
        WindowsFolder + @"\System32\ntoskrnl.exe",
        WindowsFolder + @"\System32\winload.exe",
        WindowsFolder + @"\System32\hal.dll",
    };

    /// <summary>The architecture (x86, amd64, arm64, ia64, arm) from the PE header of the first of <see cref="ArchitectureFiles"/> that says, with that file's path; null when none does.</summary>
    internal (string Architecture, string Path)? ReadArchitectureFromFiles()
    {
        foreach (string path in ArchitectureFiles)
        {
            NtfsEntry? entry = Volume.TryGetEntry(path);
            // A file with a reparse point (CompactOS compresses programs with WOF) has no header in its data stream.
            if (entry is null || entry.IsDirectory || entry.ReparseTag is not null)
            {
                continue;
            }
            var header = new byte[(int)Math.Min(entry.Size, PeImageHeader.MaxHeaderBytes)];
            using (Stream s = Volume.OpenFile(path))
            {
                int read = 0;
                while (read < header.Length)
                {
                    int n = s.Read(header, read, header.Length - read);
                    if (n == 0)
                    {
                        break;
                    }
                    read += n;
                }
                if (PeImageHeader.ReadMachine(header.AsSpan(0, read), out _) is ushort machine && PeImageHeader.ArchitectureOf(machine) is string arch)
                {
                    return (arch, path);
                }
            }
        }
        return null;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        PartitionIndex is int i ? $"Windows on partition {i}" : "Windows on the whole disk";

    /// <summary>Closes the volume.</summary>
    public void Dispose() => Volume.Dispose();
}

/// <summary>The state of a hive file on the image, as far as editing it is concerned.</summary>
public enum HiveCondition
{
    /// <summary>Clean: its two sequence numbers agree.</summary>
    Clean = 0,

    /// <summary>Dirty, and its transaction logs apply: it is recovered and saved clean.</summary>
    RecoveredFromLogs = 1,

    /// <summary>Dirty with no logs (or only empty ones), as images copied from running machines often are: edited as Windows would load it, saved clean, with a warning.</summary>
    DirtyWithoutLogs = 2,

    /// <summary>Dirty, and its logs exist but cannot be applied: refused unless the caller allows it.</summary>
    DirtyLogsUnusable = 3,
}
