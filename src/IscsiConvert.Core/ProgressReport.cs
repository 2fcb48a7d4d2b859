namespace IscsiConvert;

/// <summary>
/// One progress report of a long operation (a conversion, an injection). Reported synchronously on the calling thread
/// through <see cref="System.IProgress{T}"/>.
/// </summary>
public sealed class ProgressReport
{
    /// <summary>Creates a report.</summary>
    public ProgressReport(string stage, long completed, long total, string? item = null)
    {
        Stage = stage;
        Completed = completed;
        Total = total;
        Item = item;
    }

    /// <summary>What is being done, such as "Copying".</summary>
    public string Stage { get; }

    /// <summary>Units done so far (bytes for copies).</summary>
    public long Completed { get; }

    /// <summary>Units in all, or 0 when unknown.</summary>
    public long Total { get; }

    /// <summary>The item being worked on, if any.</summary>
    public string? Item { get; }

    /// <summary>Completed as a fraction of total, 0 to 1, or 0 when the total is unknown.</summary>
    public double Fraction => Total <= 0 ? 0 : (double)Completed / Total;

    /// <inheritdoc/>
    public override string ToString() => Item is null ? $"{Stage} {Completed}/{Total}" : $"{Stage} {Item} {Completed}/{Total}";
}
