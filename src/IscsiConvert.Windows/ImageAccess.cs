namespace IscsiConvert.Windows;

/// <summary>How <see cref="WindowsImage.Open"/> opens the image file.</summary>
public enum ImageAccess
{
    /// <summary>Only read: plans, and writes to a new image (<see cref="IscsiBootPlan.ApplyTo"/>, <see cref="IscsiBootPlan.ApplyToCopy"/>).</summary>
    ReadOnly = 0,

    /// <summary>Read and written in place (<see cref="IscsiBootPlan.Apply"/>); volumes that are dirty or hibernated are refused when opened.</summary>
    ReadWrite = 1,
}
