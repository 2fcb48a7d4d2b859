using System;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Shared;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Decides whether a volume may be written: Windows must have left it clean (not dirty, $LogFile cleanly closed, not
/// hibernated). Anything that cannot be shown clean counts as unsafe.
/// </summary>
internal static class WriteSafety
{
    // Two restart pages at the start of $LogFile, each one system page (4 KiB on every Windows volume; at most 64 KiB).
    private const int MaxRestartPage = 65536;

    private static readonly string[] ActiveHibernationSignatures = { "hibr", "HIBR", "wake", "WAKE", "RSTR", "rstr" };

    internal enum LogState
    {
        Clean,
        Empty,
        Unclean,
        CheckDisk,
        Unknown,
    }

    public static string? DirtyReason(bool isDirty) => isDirty
        ? "The NTFS volume is marked dirty (the $Volume dirty flag is set): Windows found or suspects damage and wants chkdsk to run. " +
          "In Windows, run \"chkdsk X: /f\" on this volume (or boot the image and let chkdsk finish), then shut down fully (Shift+Shut down, or \"shutdown /s /t 0\"), and try again."
        : null;

    /// <summary>Reads the restart pages of $LogFile and classifies them.</summary>
    public static (LogState State, string Detail) ReadLogState(Stream logFile, string? filePath)
    {
        int length = (int)Math.Min(logFile.Length, 2L * MaxRestartPage);
        byte[] head = new byte[length];
        logFile.ReadAtMost(0, head);
        if (length < 1024)
        {
            return (LogState.Unknown, $"$LogFile is only {logFile.Length} bytes");
        }

        // A log filled with 0xFF has no restart area at all: formatted or reset and never mounted since (mkntfs and
        // ntfsfix leave it so); Windows opens it as an empty log.
        if (AllBytesAre(head.AsSpan(0, Math.Min(length, 8192)), 0xFF))
        {
            return (LogState.Empty, "$LogFile is empty (all 0xFF)");
        }
        LogFileRestartPage? best = null;
        int offset = 0;
        for (int page = 0; page < 2 && offset + 512 <= length; page++)
        {
            Span<byte> at = head.AsSpan(offset);
            if (at.Slice(0, 4).SequenceEqual(LogFileRestartPage.CheckDiskSignature))
            {
                return (LogState.CheckDisk, "$LogFile carries a \"CHKD\" restart page (chkdsk was interrupted)");
            }
            if (!at.Slice(0, 4).SequenceEqual(LogFileRestartPage.RestartSignature))
            {
                break;
            }
            LogFileRestartPage parsed;
            try
            {
                parsed = LogFileRestartPage.ReadFrom(at.Slice(0, Math.Min(at.Length, MaxRestartPage)).ToArray(), -1, filePath);
            }
            catch (CorruptDataException ex)
            {
                return (LogState.Unknown, "the $LogFile restart page is damaged: " + ex.Problem);
            }
            if (best is null || parsed.CurrentLsn > best.CurrentLsn)
            {
                best = parsed;
            }
            offset += parsed.SystemPageSize;
        }
        if (best is null)
        {
            return (LogState.Unknown, "$LogFile has no \"RSTR\" restart page");
        }
        string detail = $"log version {best.MajorVersion}.{best.MinorVersion}, restart area flags 0x{best.Flags:X4}, client in-use list 0x{best.ClientInUseList:X4}";
        return (best.IsClean ? LogState.Clean : LogState.Unclean, detail);
    }

    public static string? LogReason(LogState state, string detail) => state switch
    {
        LogState.Clean or LogState.Empty => null,
        LogState.Unclean => "The NTFS $LogFile was not closed cleanly (" + detail + "): Windows still has changes in its journal, because it was not shut down fully " +
            "(Fast Startup, a crash, or a power loss). Boot Windows and shut it down fully: disable Fast Startup (Control Panel > Power Options > Choose what the power buttons do > " +
            "clear \"Turn on fast startup\", or run \"powercfg /h off\") and use \"shutdown /s /t 0\"; then try again.",
        LogState.CheckDisk => "The NTFS volume was being repaired by chkdsk (" + detail + "). In Windows, run \"chkdsk X: /f\" to completion, shut down fully, and try again.",
        _ => "The state of the NTFS $LogFile cannot be shown clean (" + detail + "), so writing is refused. In Windows, run \"chkdsk X: /f\" and shut down fully (Fast Startup disabled), then try again.",
    };

    /// <summary>Classifies the first bytes of \hiberfil.sys; null when inactive.</summary>
    public static string? HibernationReason(ReadOnlySpan<byte> head)
    {
        if (head.Length < 4 || AllBytesAre(head.Slice(0, 4), 0))
        {
            return null;
        }
        string signature = new(head.Slice(0, 4).ToArray().Select(b => b is >= 0x20 and < 0x7F ? (char)b : '?').ToArray());
        string what = ActiveHibernationSignatures.Contains(signature, StringComparer.Ordinal)
            ? $"holds an active hibernation image (\\hiberfil.sys starts with \"{signature}\")"
            : $"may hold a hibernation image (\\hiberfil.sys starts with \"{signature}\", not the zeros of an inactive one)";
        return $"Windows on this volume {what}: it was hibernated or shut down with Fast Startup, and would resume from that image and undo or corrupt our changes. " +
            "Boot Windows and shut it down fully: disable Fast Startup (Control Panel > Power Options > Choose what the power buttons do > clear \"Turn on fast startup\", " +
            "or run \"powercfg /h off\", which also deletes hiberfil.sys) and use \"shutdown /s /t 0\"; then try again.";
    }

    private static bool AllBytesAre(ReadOnlySpan<byte> span, byte value)
    {
        foreach (byte b in span)
        {
            if (b != value)
            {
                return false;
            }
        }
        return true;
    }
}
