using System;
using System.Collections.Generic;

namespace IscsiConvert.Ntfs.Format;

/// <summary>
/// Decodes a mapping pairs array: each run starts with a header byte whose low nibble is the size of the run length
/// and whose high nibble is the size of the (signed, relative to the previous run) cluster offset; an offset size of
/// zero marks a sparse run, and a zero header byte ends the list.
/// </summary>
internal static class RunList
{
    public static List<DataRun> Decode(ReadOnlySpan<byte> pairs, long startVcn, long lastVcn, long totalClusters, string structure, long baseOffset, string? filePath)
    {
        var runs = new List<DataRun>();
        long vcn = startVcn;
        long lcn = 0;
        int pos = 0;
        while (pos < pairs.Length && pairs[pos] != 0)
        {
            int lengthSize = pairs[pos] & 0x0F;
            int offsetSize = pairs[pos] >> 4;
            if (lengthSize == 0 || lengthSize > 8 || offsetSize > 8 || pos + 1 + lengthSize + offsetSize > pairs.Length)
            {
                throw Corrupt(structure, baseOffset + pos, $"run header 0x{pairs[pos]:X2} is malformed or runs past the attribute", filePath);
            }
            long length = ReadSigned(pairs.Slice(pos + 1, lengthSize));
            if (length <= 0 || length > totalClusters * 2 || vcn > lastVcn)
            {
                throw Corrupt(structure, baseOffset + pos, $"run length {length} at VCN {vcn} is impossible (last VCN {lastVcn})", filePath);
            }
            long runLcn = -1;
            if (offsetSize > 0)
            {
                lcn += ReadSigned(pairs.Slice(pos + 1 + lengthSize, offsetSize));
                if (lcn < 0 || lcn >= totalClusters || length > totalClusters - lcn)
                {
                    throw Corrupt(structure, baseOffset + pos,
                        $"run of {length} clusters at cluster {lcn} lies outside the volume's {totalClusters} clusters", filePath);
                }
                runLcn = lcn;
            }
            runs.Add(new DataRun(vcn, runLcn, length));
            vcn += length;
            pos += 1 + lengthSize + offsetSize;
        }
        if (vcn != lastVcn + 1 && !(runs.Count == 0 && lastVcn == startVcn - 1))
        {
            throw Corrupt(structure, baseOffset, $"the runs cover VCNs {startVcn} to {vcn - 1}, but the attribute says {startVcn} to {lastVcn}", filePath);
        }
        return runs;
    }

    /// <summary>The index of the run that maps <paramref name="vcn"/> (runs in VCN order), or -1 when none does.</summary>
    public static int IndexOf(IReadOnlyList<DataRun> runs, long vcn)
    {
        int lo = 0;
        int hi = runs.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (vcn < runs[mid].Vcn)
            {
                hi = mid - 1;
            }
            else if (vcn >= runs[mid].Vcn + runs[mid].Length)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }

    /// <summary>
    /// Encodes runs (in VCN order, contiguous) as a mapping pairs array with the smallest field sizes, ending with the
    /// zero terminator: lengths as unsigned-in-signed fields, LCN deltas signed, sparse runs without an offset field.
    /// </summary>
    public static byte[] Encode(IReadOnlyList<DataRun> runs)
    {
        var bytes = new List<byte>();
        long previousLcn = 0;
        foreach (DataRun run in runs)
        {
            if (run.Length <= 0)
            {
                throw new ArgumentException("Runs must have a positive length.", nameof(runs));
            }
            int lengthSize = SignedSize(run.Length);
            int offsetSize = run.IsSparse ? 0 : SignedSize(run.Lcn - previousLcn);
            bytes.Add((byte)((offsetSize << 4) | lengthSize));
            WriteSigned(bytes, run.Length, lengthSize);
            if (!run.IsSparse)
            {
                WriteSigned(bytes, run.Lcn - previousLcn, offsetSize);
                previousLcn = run.Lcn;
            }
        }
        bytes.Add(0);
        return bytes.ToArray();
    }

    /// <summary>Bytes one run takes in a mapping pairs array after a run ending the previous LCN <paramref name="previousLcn"/>.</summary>
    public static int PairSize(DataRun run, long previousLcn) =>
        1 + SignedSize(run.Length) + (run.IsSparse ? 0 : SignedSize(run.Lcn - previousLcn));

    // The fewest bytes that hold the value as a two's-complement number.
    private static int SignedSize(long value)
    {
        for (int size = 1; size < 8; size++)
        {
            long min = -(1L << ((8 * size) - 1));
            long max = (1L << ((8 * size) - 1)) - 1;
            if (value >= min && value <= max)
            {
                return size;
            }
        }
        return 8;
    }

    private static void WriteSigned(List<byte> bytes, long value, int size)
    {
        for (int i = 0; i < size; i++)
        {
            bytes.Add((byte)(value >> (8 * i)));
        }
    }

    private static long ReadSigned(ReadOnlySpan<byte> bytes)
    {
        long value = 0;
        for (int i = bytes.Length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }
        int unused = 64 - (8 * bytes.Length);
        return unused == 0 ? value : (value << unused) >> unused;
    }

    private static CorruptDataException Corrupt(string structure, long offset, string problem, string? filePath) =>
        new("NTFS", structure, offset, problem, filePath);
}
