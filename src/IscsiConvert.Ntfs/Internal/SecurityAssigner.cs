using System;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Chooses the security of a new file: the descriptor inherited from its parent (<see cref="SecurityInheritance"/>),
/// by the id of an equivalent descriptor already in $Secure (what Windows does: descriptors are shared by id). When the
/// volume holds no equivalent one, the descriptor is added to $Secure (<see cref="SecureWriter"/>) and later creates in
/// the session find it there. Only a volume without $Secure (NTFS before 3.0) gets the descriptor in the file's own
/// $SECURITY_DESCRIPTOR attribute.
/// </summary>
internal sealed class SecurityAssigner
{
    private readonly Func<NtfsFile, byte[]?> _descriptorOf;
    private readonly Func<SecureStore?> _secure;
    private readonly SecureWriter? _writer;
    private readonly Action _added;
    private readonly Dictionary<(string Parent, bool Directory), uint> _known = new();
    private List<(uint Id, SecurityInheritance.Descriptor Descriptor)>? _all;

    /// <param name="descriptorOf">A file's descriptor (own attribute or shared).</param>
    /// <param name="secure">The shared descriptors as the volume holds them now.</param>
    /// <param name="writer">Adds descriptors to $Secure; null to keep new descriptors in the files themselves.</param>
    /// <param name="added">Called after a descriptor was added (what <paramref name="secure"/> returned is stale).</param>
    public SecurityAssigner(Func<NtfsFile, byte[]?> descriptorOf, Func<SecureStore?> secure, SecureWriter? writer = null, Action? added = null)
    {
        _descriptorOf = descriptorOf;
        _secure = secure;
        _writer = writer;
        _added = added ?? (() => { });
    }

    /// <summary>Forgets every cached id (the staged state that may hold descriptors added here was dropped).</summary>
    public void Forget()
    {
        _known.Clear();
        _all = null;
        _writer?.Forget();
    }

    /// <summary>The security id for a new child of <paramref name="parent"/>, or 0 and the descriptor to store privately.</summary>
    public (uint SecurityId, byte[]? PrivateDescriptor) ForNewChild(NtfsFile parent, bool directory)
    {
        byte[]? parentBytes = _descriptorOf(parent);
        SecurityInheritance.Descriptor? parentDescriptor = parentBytes is null ? null : SecurityInheritance.Parse(parentBytes);
        if (parentDescriptor is null)
        {
            // Nothing to inherit from: share the parent's id, as the closest thing to "the same as its folder".
            return (parent.StandardInformation?.SecurityId ?? 0, null);
        }
        string parentKey = Convert.ToBase64String(parentBytes!);
        if (_known.TryGetValue((parentKey, directory), out uint cached))
        {
            return (cached, null);
        }
        SecurityInheritance.Descriptor child = SecurityInheritance.Inherit(parentDescriptor, directory);
        foreach ((uint id, SecurityInheritance.Descriptor existing) in All())
        {
            if (existing.IsEquivalentTo(child))
            {
                _known[(parentKey, directory)] = id;
                return (id, null);
            }
        }
        byte[] encoded = SecurityInheritance.Encode(child);
        if (_writer is null || !_writer.IsAvailable)
        {
            return (0, encoded);
        }
        uint added = _writer.Add(encoded);
        _added();
        All().Add((added, child));
        _known[(parentKey, directory)] = added;
        return (added, null);
    }

    private List<(uint, SecurityInheritance.Descriptor)> All()
    {
        if (_all is null)
        {
            _all = new List<(uint, SecurityInheritance.Descriptor)>();
            SecureStore? store = _secure();
            if (store is not null)
            {
                foreach (uint id in store.Ids)
                {
                    byte[]? bytes = store.Get(id);
                    if (bytes is not null && SecurityInheritance.Parse(bytes) is { } d)
                    {
                        _all.Add((id, d));
                    }
                }
                _all.Sort((a, b) => a.Item1.CompareTo(b.Item1));
            }
        }
        return _all;
    }
}
