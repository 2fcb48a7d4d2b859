using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace IscsiConvert.Drivers;

/// <summary>
/// What one install (DDInstall) section does on a target: the decorated section chosen, the files it copies and
/// where, the services it adds, and the registry it writes (the section's AddReg, .HW and services').
/// </summary>
public sealed class InfInstall
{
    private readonly List<InfFileCopy> _files = new();
    private readonly List<InfService> _services = new();
    private readonly List<InfRegistryEntry> _registry = new();
    private readonly List<InfRegistryEntry> _hardwareRegistry = new();
    private readonly List<string> _warnings = new();
    private readonly List<string> _includes = new();
    private readonly List<string> _needs = new();
    private readonly List<string> _coInstallers = new();
    private readonly Dictionary<string, InfFile?> _included = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _visited = new(StringComparer.OrdinalIgnoreCase);

    private InfInstall(string installSection, string? chosenSection, TargetOs target)
    {
        InstallSection = installSection;
        ChosenSection = chosenSection;
        Target = target;
    }

    /// <summary>The install section as a models line names it.</summary>
    public string InstallSection { get; }

    /// <summary>The decorated section used (such as scsi_inst.NTamd64), or null when none exists.</summary>
    public string? ChosenSection { get; }

    /// <summary>The target.</summary>
    public TargetOs Target { get; }

    /// <summary>The files copied, in order.</summary>
    public IReadOnlyList<InfFileCopy> Files => _files;

    /// <summary>The services added by the .Services section.</summary>
    public IReadOnlyList<InfService> Services => _services;

    /// <summary>AddReg/DelReg of the install section itself (HKR = the driver (software) key).</summary>
    public IReadOnlyList<InfRegistryEntry> Registry => _registry;

    /// <summary>AddReg/DelReg of the .HW section (HKR = the device (hardware) key).</summary>
    public IReadOnlyList<InfRegistryEntry> HardwareRegistry => _hardwareRegistry;

    /// <summary>INFs named by Include=.</summary>
    public IReadOnlyList<string> Includes => _includes;

    /// <summary>Sections named by Needs=.</summary>
    public IReadOnlyList<string> Needs => _needs;

    /// <summary>Co-installer DLLs registered by the .CoInstallers section (CoInstallers32 values).</summary>
    public IReadOnlyList<string> CoInstallers => _coInstallers;

    /// <summary>Problems setup would tolerate (missing sections, included INFs not found, unknown dirids).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>The service with SPSVCINST_ASSOCSERVICE, or null.</summary>
    public InfService? FunctionDriver => _services.Find(s => s.IsFunctionDriver);

    internal static InfInstall Resolve(InfFile inf, string installSection, TargetOs target)
    {
        if (inf is null || installSection is null || target is null)
        {
            throw new ArgumentNullException(inf is null ? nameof(inf) : installSection is null ? nameof(installSection) : nameof(target));
        }
        string? chosen = inf.ChooseInstallSection(installSection, target);
        var result = new InfInstall(installSection, chosen, target);
        if (chosen is null)
        {
            result._warnings.Add($"install section [{installSection}] does not exist for {target.Architecture}");
            return result;
        }
        result.ProcessInstall(inf, chosen, result._registry, 0);
        result.ProcessServices(inf, chosen + ".Services", 0);
        InfSection? hw = inf.GetSection(chosen + ".HW");
        if (hw is not null)
        {
            result.ProcessInstall(inf, hw.Name, result._hardwareRegistry, 0);
        }
        InfSection? co = inf.GetSection(chosen + ".CoInstallers");
        if (co is not null)
        {
            var coReg = new List<InfRegistryEntry>();
            result.ProcessInstall(inf, co.Name, coReg, 0);
            foreach (InfRegistryEntry e in coReg)
            {
                if (e.ValueName.Equals("CoInstallers32", StringComparison.OrdinalIgnoreCase))
                {
                    result._coInstallers.AddRange(e.Data);
                }
            }
        }
        return result;
    }

    private void Warn(string message)
    {
        if (_warnings.Count < 1000 && !_warnings.Contains(message))
        {
            _warnings.Add(message);
        }
    }

    private void ProcessInstall(InfFile inf, string sectionName, List<InfRegistryEntry> registry, int depth)
    {
        if (!_visited.Add(inf.FileName + "|" + sectionName + "|install"))
        {
            return;
        }
        InfSection? section = inf.GetSection(sectionName);
        if (section is null)
        {
            Warn($"{Path.GetFileName(inf.FileName)}: section [{sectionName}] does not exist");
            return;
        }
        foreach (InfLine line in section.Lines)
        {
            if (line.KeyIs("CopyFiles"))
            {
                foreach (string item in line.Values)
                {
                    AddCopyFiles(inf, item, line.LineNumber);
                }
            }
            else if (line.KeyIs("AddReg") || line.KeyIs("DelReg"))
            {
                bool delete = line.KeyIs("DelReg");
                foreach (string reg in line.Values)
                {
                    if (reg.Length > 0)
                    {
                        ReadRegistrySection(inf, reg, delete, registry);
                    }
                }
            }
        }
        ProcessIncludeNeeds(inf, section, depth, (other, needed) => ProcessInstall(other, needed, registry, depth + 1));
    }

    private void ProcessServices(InfFile inf, string sectionName, int depth)
    {
        if (!_visited.Add(inf.FileName + "|" + sectionName + "|services"))
        {
            return;
        }
        InfSection? section = inf.GetSection(sectionName);
        if (section is null)
        {
            return;
        }
        foreach (InfLine line in section.WithKey("AddService"))
        {
            // AddService = name, [flags], service-install-section[, event-log-install-section[, [type][, name]]]
            string name = line[0];
            if (name.Length == 0)
            {
                continue;
            }
            DirIds.TryParseNumber(line[1].Length == 0 ? "0" : line[1], out int flags);
            var service = new InfService(name, flags, line[2], line.LineNumber)
            {
                EventLogSection = line[3].Length == 0 ? null : line[3],
            };
            ReadServiceSection(inf, service);
            _services.Add(service);
        }
        ProcessIncludeNeeds(inf, section, depth, (other, needed) => ProcessServices(other, needed, depth + 1));
    }

    private void ProcessIncludeNeeds(InfFile inf, InfSection section, int depth, Action<InfFile, string> process)
    {
        var includes = new List<InfFile> { inf };
        foreach (string include in section.GetList("Include"))
        {
            if (depth == 0 && !_includes.Contains(include, StringComparer.OrdinalIgnoreCase))
            {
                _includes.Add(include);
            }
            InfFile? other = LoadInclude(inf, include);
            if (other is not null)
            {
                includes.Add(other);
            }
        }
        foreach (string need in section.GetList("Needs"))
        {
            if (depth == 0 && !_needs.Contains(need, StringComparer.OrdinalIgnoreCase))
            {
                _needs.Add(need);
            }
            if (depth >= InfLimits.MaxIncludeDepth)
            {
                Warn($"Needs={need}: nesting deeper than {InfLimits.MaxIncludeDepth} levels is not followed");
                continue;
            }
            // Needs names the section itself (in a .Services section it names the other INF's .Services section);
            // it is looked for in the included INFs first, then in this one.
            InfFile? owner = includes.Find(i => !ReferenceEquals(i, inf) && i.HasSection(need)) ?? (inf.HasSection(need) ? inf : null);
            if (owner is null)
            {
                Warn($"Needs={need}: section not found in {Path.GetFileName(inf.FileName)} or its included INFs");
                continue;
            }
            process(owner, need);
        }
    }

    private InfFile? LoadInclude(InfFile inf, string name)
    {
        if (_included.TryGetValue(name, out InfFile? cached))
        {
            return cached;
        }
        InfFile? loaded = null;
        if (name.IndexOfAny(new[] { '\\', '/', ':' }) >= 0 || name.Contains(".."))
        {
            Warn($"Include={name}: not a plain file name; ignored");
        }
        else
        {
            var folders = new List<string>();
            if (inf.Options.IncludeSearchFolder is { Length: > 0 } search)
            {
                folders.Add(search);
            }
            if (inf.FullPath is not null)
            {
                folders.Add(Path.GetDirectoryName(inf.FullPath)!);
            }
            foreach (string folder in folders)
            {
                string candidate = Path.Combine(folder, name);
                if (File.Exists(candidate))
                {
                    try
                    {
                        loaded = InfFile.Load(candidate, new InfReadOptions { Tolerant = true, Locale = inf.Options.Locale, IncludeSearchFolder = inf.Options.IncludeSearchFolder });
                    }
                    catch (Exception ex) when (ex is InfParseException or IOException or UnauthorizedAccessException)
                    {
                        // A broken system INF must not stop the reading of the package that includes it.
                        Warn($"Include={name}: {ex.Message}");
                        _included[name] = null;
                        return null;
                    }
                    break;
                }
            }
            if (loaded is null)
            {
                Warn($"Include={name}: INF not found (give the target's \\Windows\\INF folder as the include search folder)");
            }
        }
        _included[name] = loaded;
        return loaded;
    }

    private void AddCopyFiles(InfFile inf, string item, int lineNumber)
    {
        if (item.Length == 0)
        {
            return;
        }
        (int? defaultDirId, string defaultSub) = ReadDestination(inf, "DefaultDestDir") ?? (11, string.Empty);
        if (item[0] == '@')
        {
            string file = item.Substring(1).Trim();
            AddFile(inf, new InfFileCopy(file, file, null, 0, defaultDirId, defaultSub, DestinationOf(defaultDirId, defaultSub, lineNumber)));
            return;
        }
        InfSection? list = inf.GetSection(item);
        if (list is null)
        {
            Warn($"{Path.GetFileName(inf.FileName)}: file-list section [{item}] (line {lineNumber}) does not exist");
            return;
        }
        (int? dirId, string sub) = ReadDestination(inf, item) ?? (defaultDirId, defaultSub);
        string? destination = DestinationOf(dirId, sub, list.LineNumber);
        foreach (InfLine line in list.Lines)
        {
            // destination-file-name[, source-file-name][, unused][, flags]
            string dest = line.Key is null ? line[0] : line.Key;
            if (dest.Length == 0)
            {
                continue;
            }
            string source = line.Key is null ? line[1] : line[0];
            DirIds.TryParseNumber(line.Key is null ? line[3] : line[2], out int flags);
            AddFile(inf, new InfFileCopy(dest, source.Length == 0 ? dest : source, list.Name, flags, dirId, sub, destination));
        }
    }

    private string? DestinationOf(int? dirId, string sub, int lineNumber)
    {
        if (dirId is null)
        {
            Warn($"line {lineNumber}: destination dirid is not a number");
            return null;
        }
        string? dest = DirIds.Combine(dirId.Value, sub);
        if (dest is null)
        {
            Warn($"dirid {dirId.Value} is not a folder on the Windows volume");
        }
        return dest;
    }

    private void AddFile(InfFile inf, InfFileCopy file)
    {
        file.SourcePath = SourceDisks.Locate(inf, file.SourceName, Target);
        _files.Add(file);
    }

    private static (int? DirId, string Sub)? ReadDestination(InfFile inf, string key)
    {
        InfSection? dirs = inf.GetSection("DestinationDirs");
        InfLine? line = null;
        if (dirs is not null)
        {
            foreach (InfLine l in dirs.WithKey(key))
            {
                line = l;
            }
        }
        if (line is null)
        {
            return null;
        }
        return DirIds.TryParseNumber(line[0], out int id) ? (id, line[1]) : (null, line[1]);
    }

    private void ReadRegistrySection(InfFile inf, string sectionName, bool delete, List<InfRegistryEntry> into)
    {
        InfSection? section = inf.GetSection(sectionName);
        if (section is null)
        {
            Warn($"{Path.GetFileName(inf.FileName)}: registry section [{sectionName}] does not exist");
            return;
        }
        foreach (InfLine line in section.Lines)
        {
            if (line.Key is not null)
            {
                continue;
            }
            string root = line[0].ToUpperInvariant();
            if (!InfRegistryEntry.IsKnownRoot(root))
            {
                Warn($"{Path.GetFileName(inf.FileName)} line {line.LineNumber}: registry root '{line[0]}' is not HKR, HKLM, HKCU, HKCR or HKU");
                continue;
            }
            int flags = 0;
            if (line[3].Length > 0 && !DirIds.TryParseNumber(line[3], out flags))
            {
                Warn($"{Path.GetFileName(inf.FileName)} line {line.LineNumber}: flags '{line[3]}' are not a number");
            }
            var data = new List<string>();
            for (int i = 4; i < line.Values.Count; i++)
            {
                data.Add(line.Values[i]);
            }
            into.Add(new InfRegistryEntry(section.Name, line.LineNumber, delete, root, line[1], line[2], line.Values.Count > 2, flags, data));
        }
    }

    private void ReadServiceSection(InfFile inf, InfService service)
    {
        InfSection? section = service.InstallSection.Length == 0 ? null : inf.GetSection(service.InstallSection);
        if (section is null)
        {
            Warn($"service {service.Name}: service-install section [{service.InstallSection}] does not exist");
            return;
        }
        service.DisplayName = section.GetValue("DisplayName");
        service.Description = section.GetValue("Description");
        service.ServiceType = Number(section.GetValue("ServiceType"));
        service.StartType = Number(section.GetValue("StartType"));
        service.ErrorControl = Number(section.GetValue("ErrorControl"));
        service.ServiceBinary = section.GetValue("ServiceBinary");
        service.ServiceBinaryPath = service.ServiceBinary is null ? null : DirIds.ResolvePath(service.ServiceBinary);
        service.LoadOrderGroup = section.GetValue("LoadOrderGroup");
        service.StartName = section.GetValue("StartName");
        service.Dependencies = section.GetList("Dependencies");
        var reg = new List<InfRegistryEntry>();
        foreach (string r in section.GetList("AddReg"))
        {
            ReadRegistrySection(inf, r, false, reg);
        }
        foreach (string r in section.GetList("DelReg"))
        {
            ReadRegistrySection(inf, r, true, reg);
        }
        service.Registry = reg;
        if (service.EventLogSection is not null)
        {
            var ev = new List<InfRegistryEntry>();
            InfSection? evSection = inf.GetSection(service.EventLogSection);
            if (evSection is not null)
            {
                foreach (string r in evSection.GetList("AddReg"))
                {
                    ReadRegistrySection(inf, r, false, ev);
                }
            }
            service.EventLogRegistry = ev;
        }
    }

    private static int? Number(string? text) => text is not null && DirIds.TryParseNumber(text, out int v) ? v : null;
}
