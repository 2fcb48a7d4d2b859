using System;
using System.Collections.Generic;

namespace IscsiConvert.Drivers;

/// <summary>A model of an INF that can serve a device, with its Plug and Play rank (lower is better).</summary>
public sealed class DriverMatch
{
    internal DriverMatch(InfFile inf, InfModel model, string matchedId, int rank)
    {
        Inf = inf;
        Model = model;
        MatchedId = matchedId;
        Rank = rank;
    }

    /// <summary>The INF.</summary>
    public InfFile Inf { get; }

    /// <summary>The models line that matched.</summary>
    public InfModel Model { get; }

    /// <summary>The device ID that matched.</summary>
    public string MatchedId { get; }

    /// <summary>
    /// The identifier part of the PnP rank: 0x0000–0x0FFF a device hardware ID matched the INF's hardware ID,
    /// 0x1000–0x1FFF a device hardware ID matched an INF compatible ID, 0x2000–0x2FFF a device compatible ID matched
    /// the INF's hardware ID, 0x3000–0x3FFF compatible matched compatible; within a range, a more specific device ID
    /// (earlier in the device's list) ranks lower (better).
    /// </summary>
    public int Rank { get; }

    /// <summary>Whether one of the device's hardware IDs (not a compatible ID) matched the INF's hardware ID.</summary>
    public bool IsHardwareIdMatch => Rank < 0x1000;

    /// <summary>The INF's DriverVer date.</summary>
    public DateTime? DriverDate => Inf.Version.DriverDate;

    /// <summary>The INF's DriverVer version.</summary>
    public Version? DriverVersion => Inf.Version.DriverVersion;
}

/// <summary>Ranks the INFs that can serve a device the way Plug and Play does.</summary>
public static class DriverRanking
{
    /// <summary>
    /// The models of <paramref name="infs"/> (for <paramref name="target"/>'s models sections) that match the device
    /// reporting <paramref name="hardwareIds"/> and <paramref name="compatibleIds"/> (each most specific first), best
    /// first: lower identifier rank, then newer DriverVer date, then higher DriverVer version. Signature and feature
    /// scores are not modelled (offline we cannot verify catalogs), so all candidates count as equally signed.
    /// </summary>
    public static IReadOnlyList<DriverMatch> Rank(IEnumerable<InfFile> infs, IReadOnlyList<string> hardwareIds, IReadOnlyList<string> compatibleIds, TargetOs target)
    {
        if (infs is null || hardwareIds is null || compatibleIds is null || target is null)
        {
            throw new ArgumentNullException(infs is null ? nameof(infs) : hardwareIds is null ? nameof(hardwareIds) : compatibleIds is null ? nameof(compatibleIds) : nameof(target));
        }
        var hw = Normalize(hardwareIds);
        var compat = Normalize(compatibleIds);
        var matches = new List<DriverMatch>();
        foreach (InfFile inf in infs)
        {
            foreach (InfModel model in inf.GetModels(target))
            {
                (int rank, string id)? best = null;
                Consider(ref best, Find(hw, model.HardwareId), 0x0000, 0);
                Consider(ref best, Find(compat, model.HardwareId), 0x2000, 0);
                for (int i = 0; i < model.CompatibleIds.Count; i++)
                {
                    Consider(ref best, Find(hw, model.CompatibleIds[i]), 0x1000, i + 1);
                    Consider(ref best, Find(compat, model.CompatibleIds[i]), 0x3000, i + 1);
                }
                if (best is { } b)
                {
                    matches.Add(new DriverMatch(inf, model, b.id, b.rank));
                }
            }
        }
        matches.Sort(Compare);
        return matches;

        void Consider(ref (int rank, string id)? best, (int index, string id)? found, int range, int infIndex)
        {
            if (found is { } f)
            {
                int rank = range + Math.Min(f.index, 0xF) * 0x100 + Math.Min(infIndex, 0xFF);
                if (best is null || rank < best.Value.rank)
                {
                    best = (rank, f.id);
                }
            }
        }
    }

    /// <summary>Ranks for a single reported ID, expanded to the IDs the device reports (see <see cref="HardwareId"/>).</summary>
    public static IReadOnlyList<DriverMatch> Rank(IEnumerable<InfFile> infs, string deviceId, TargetOs target)
    {
        HardwareId id = HardwareId.Parse(deviceId);
        return Rank(infs, id.GetHardwareIds(), id.GetCompatibleIds(), target);
    }

    private static int Compare(DriverMatch a, DriverMatch b)
    {
        int c = a.Rank.CompareTo(b.Rank);
        if (c != 0)
        {
            return c;
        }
        c = Nullable.Compare(b.DriverDate, a.DriverDate);
        if (c != 0)
        {
            return c;
        }
        c = Comparer<Version?>.Default.Compare(b.DriverVersion, a.DriverVersion);
        if (c != 0)
        {
            return c;
        }
        return string.CompareOrdinal(a.Inf.FileName, b.Inf.FileName);
    }

    private static List<string> Normalize(IReadOnlyList<string> ids)
    {
        var list = new List<string>(ids.Count);
        foreach (string id in ids)
        {
            list.Add(HardwareId.Normalize(id));
        }
        return list;
    }

    private static (int, string)? Find(List<string> deviceIds, string infId)
    {
        string n = HardwareId.Normalize(infId);
        for (int i = 0; i < deviceIds.Count; i++)
        {
            if (deviceIds[i] == n)
            {
                return (i, deviceIds[i]);
            }
        }
        return null;
    }
}
