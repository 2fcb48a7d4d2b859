using System;
using System.Collections.Generic;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>An INF model that can serve a device on the image's Windows, with its Plug and Play rank and why.</summary>
public sealed class DriverCandidate
{
    internal DriverCandidate(ImageInf source, DriverMatch match, string? installSection, string? service, string reason)
    {
        Source = source;
        Match = match;
        InstallSection = installSection;
        Service = service;
        Reason = reason;
    }

    /// <summary>The INF and where it is.</summary>
    public ImageInf Source { get; }

    /// <summary>The ranking facts: the INF, model, matched ID and rank.</summary>
    public DriverMatch Match { get; }

    /// <summary>The INF's path (on the volume or on the host).</summary>
    public string InfPath => Source.Path;

    /// <summary>The models line that matched.</summary>
    public InfModel Model => Match.Model;

    /// <summary>The install section setup would run on the target (decorated, e.g. scsi_inst.NTamd64), or null when none exists.</summary>
    public string? InstallSection { get; }

    /// <summary>The function driver's service (AddService with SPSVCINST_ASSOCSERVICE) of that install section, or null.</summary>
    public string? Service { get; }

    /// <summary>The identifier rank (lower is better; see <see cref="DriverMatch.Rank"/>).</summary>
    public int Rank => Match.Rank;

    /// <summary>Why the candidate is where it is in the list, in words.</summary>
    public string Reason { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{InfPath} [{Model.ModelsSection}] {Model.HardwareId} rank 0x{Rank:X4}";
}

/// <summary>The result of matching one device against the INFs of an image and supplied packages.</summary>
public sealed class DriverMatchReport
{
    internal DriverMatchReport(string deviceId, IReadOnlyList<string> hardwareIds, IReadOnlyList<string> compatibleIds, TargetOs target, IReadOnlyList<DriverCandidate> candidates, IReadOnlyList<string> excluded, IReadOnlyList<ImageInf> unreadable, int infCount)
    {
        DeviceId = deviceId;
        HardwareIds = hardwareIds;
        CompatibleIds = compatibleIds;
        Target = target;
        Candidates = candidates;
        Excluded = excluded;
        Unreadable = unreadable;
        InfCount = infCount;
    }

    /// <summary>The device ID as given.</summary>
    public string DeviceId { get; }

    /// <summary>The hardware IDs the device reports, most specific first.</summary>
    public IReadOnlyList<string> HardwareIds { get; }

    /// <summary>The compatible IDs the device reports, most specific first.</summary>
    public IReadOnlyList<string> CompatibleIds { get; }

    /// <summary>The Windows the INFs were matched for.</summary>
    public TargetOs Target { get; }

    /// <summary>The candidates, best first (the first is what Plug and Play would install).</summary>
    public IReadOnlyList<DriverCandidate> Candidates { get; }

    /// <summary>INFs that list one of the device's IDs, but only in models sections whose decoration does not apply to the target, each with why.</summary>
    public IReadOnlyList<string> Excluded { get; }

    /// <summary>INFs that could not be read (the match went on without them); in a match made by IscsiBoot, an INF whose bytes cannot name the device is not parsed, so it is not listed here even if it could not be.</summary>
    public IReadOnlyList<ImageInf> Unreadable { get; }

    /// <summary>How many INFs were read and considered (in a match made by IscsiBoot, those whose bytes cannot name the device are counted, though not parsed).</summary>
    public int InfCount { get; }

    /// <summary>The best candidate, or null when no INF serves the device.</summary>
    public DriverCandidate? Best => Candidates.Count > 0 ? Candidates[0] : null;
}
