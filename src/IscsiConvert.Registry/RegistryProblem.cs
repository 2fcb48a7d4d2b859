namespace IscsiConvert.Registry;

/// <summary>One structural problem found by <see cref="RegistryHive.Verify"/>.</summary>
public sealed class RegistryProblem
{
    /// <summary>Creates a problem record.</summary>
    public RegistryProblem(long offset, string message)
    {
        Offset = offset;
        Message = message;
    }

    /// <summary>The file offset of the structure concerned (-1 when it has none).</summary>
    public long Offset { get; }

    /// <summary>What is wrong.</summary>
    public string Message { get; }

    /// <inheritdoc />
    public override string ToString() => Offset >= 0 ? $"0x{Offset:X}: {Message}" : Message;
}
