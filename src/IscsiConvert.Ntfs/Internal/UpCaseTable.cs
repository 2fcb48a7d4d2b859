using System;
using System.Buffers.Binary;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// The volume's $UpCase table: the upper-case form of every UTF-16 code unit, as the volume's formatter defined it.
/// NTFS names compare case-insensitively by mapping each code unit through this table and comparing the results as
/// unsigned numbers; using the volume's own table (not the host's culture) is what keeps lookups in step with the
/// order of the directory B-trees.
/// </summary>
internal sealed class UpCaseTable
{
    public const int Entries = 65536;
    private readonly char[] _map;

    public UpCaseTable(ReadOnlySpan<byte> data)
    {
        _map = new char[Entries];
        for (int i = 0; i < Entries; i++)
        {
            _map[i] = (char)BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(2 * i));
        }
    }

    public char ToUpper(char c) => _map[c];

    public int Compare(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int d = _map[a[i]] - _map[b[i]];
            if (d != 0)
            {
                return d;
            }
        }
        return a.Length - b.Length;
    }
}
