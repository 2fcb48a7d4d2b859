namespace IscsiConvert.Ntfs;

/// <summary>Whether Windows left an NTFS volume so that it may be written offline (<see cref="NtfsVolume.GetWriteSafety"/>).</summary>
public enum NtfsVolumeState
{
    /// <summary>Shut down cleanly: safe to write.</summary>
    Clean = 0,

    /// <summary>The $Volume dirty flag is set: Windows wants chkdsk to run.</summary>
    Dirty = 1,

    /// <summary>The $LogFile was not closed cleanly, was being repaired, or its state cannot be read.</summary>
    NotShutDownCleanly = 2,

    /// <summary>\hiberfil.sys holds (or may hold) a hibernation image: Fast Startup or hibernation.</summary>
    Hibernated = 3,
}
