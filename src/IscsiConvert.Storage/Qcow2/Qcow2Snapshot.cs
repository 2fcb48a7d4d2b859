using System;

namespace IscsiConvert.Storage.Qcow2;

/// <summary>An internal snapshot of a QCOW2 image, as listed in its snapshot table.</summary>
public sealed class Qcow2Snapshot
{
    internal Qcow2Snapshot(string id, string name, long virtualSize, DateTimeOffset date)
    {
        Id = id;
        Name = name;
        VirtualSize = virtualSize;
        Date = date;
    }

    /// <summary>The unique ID string ("1", "2", … as qemu assigns them).</summary>
    public string Id { get; }

    /// <summary>The snapshot's name (the tag given to <c>qemu-img snapshot -c</c>).</summary>
    public string Name { get; }

    /// <summary>The virtual disk size when the snapshot was taken.</summary>
    public long VirtualSize { get; }

    /// <summary>When the snapshot was taken (UTC).</summary>
    public DateTimeOffset Date { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Id} {Name} {VirtualSize} bytes {Date:u}";
}
