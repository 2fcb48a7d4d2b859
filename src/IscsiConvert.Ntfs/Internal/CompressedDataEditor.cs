using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>
/// Edits an LZNT1-compressed stream a compression unit (2^<see cref="AttributeRecord.CompressionUnit"/> clusters,
/// 64 KiB with 4 KiB clusters) at a time: the unit's bytes are read (decompressed), changed, and stored again — as a
/// hole when they are all zeros, compressed (its clusters followed by a hole for the rest of the unit) when that saves
/// at least one cluster, or else uncompressed over the whole unit, as NTFS lays units out. The unit's old clusters are
/// freed first. The allocated size is a whole number of units, the compressed size counts the stored clusters, and the
/// initialized size is the data size after every edit (every unit up to it holds its true bytes).
/// </summary>
internal sealed class CompressedDataEditor
{
    private readonly VolumeWriter _writer;

    public CompressedDataEditor(VolumeWriter writer)
    {
        _writer = writer;
    }

    private long ClusterSize => _writer.ClusterSize;

    /// <summary>The stream with <paramref name="bytes"/> written at <paramref name="position"/>; the stream already
    /// reaches past the write.</summary>
    public AttributeRecord Write(AttributeRecord data, long position, ReadOnlySpan<byte> bytes)
    {
        Units units = Open(data);
        long end = position + bytes.Length;

        // Units between the initialized size and the write are stored again too, so they hold zeros from there on.
        long from = Math.Min(position, data.InitializedSize);
        for (long unit = from / units.Bytes; unit * units.Bytes < end; unit++)
        {
            long unitStart = unit * units.Bytes;
            long s = Math.Max(position, unitStart);
            long e = Math.Min(end, unitStart + units.Bytes);

            // A unit the write covers whole needs no reading (a large file is written a unit at a time).
            byte[] content = s == unitStart && e == unitStart + units.Bytes ? new byte[units.Bytes] : units.Read(unit, data.InitializedSize);
            if (e > s)
            {
                bytes.Slice((int)(s - position), (int)(e - s)).CopyTo(content.AsSpan((int)(s - unitStart)));
            }
            units.Store(unit, content);
        }
        return units.Build(data, data.DataSize, Math.Max(data.InitializedSize, Math.Min(end, data.DataSize)));
    }

    /// <summary>The stream at <paramref name="length"/> bytes: units past the end freed, the last unit's bytes past
    /// the end (or past the old initialized size) stored as zeros, new units holes.</summary>
    public AttributeRecord SetLength(AttributeRecord data, long length)
    {
        Units units = Open(data);

        // Once the initialized size is the data size, every unit from the old initialized size (or the new end) on must
        // hold zeros past it: those units are stored again where they held anything else; units past the end are freed.
        long limit = Math.Min(data.InitializedSize, length);
        long needUnits = (length + units.Bytes - 1) / units.Bytes;
        for (long unit = limit / units.Bytes; unit < needUnits && units.IsMapped(unit); unit++)
        {
            units.Rewrite(unit, limit);
        }
        units.Resize(needUnits);
        return units.Build(data, length, length);
    }

    private Units Open(AttributeRecord data)
    {
        if (data.CompressionUnit == 0 || ClusterSize > 4096)
        {
            throw new UnsupportedFormatException($"MFT record {data.RecordNumber}: a compressed stream with compression unit 2^{data.CompressionUnit} and {ClusterSize}-byte clusters is not supported.", _writer.FilePath);
        }
        return new Units(_writer, data);
    }

    /// <summary>The compression units of one stream while it is edited: its runlist, changed unit by unit.</summary>
    private sealed class Units
    {
        private readonly VolumeWriter _writer;
        private readonly AttributeRecord _data;
        private readonly long _unitClusters;
        private List<DataRun> _runs;

        public Units(VolumeWriter writer, AttributeRecord data)
        {
            _writer = writer;
            _data = data;
            _unitClusters = 1L << data.CompressionUnit;
            Bytes = _unitClusters * writer.ClusterSize;
            _runs = data.Runs.ToList();
        }

        public long Bytes { get; }

        public bool IsMapped(long unit) => unit < MappedUnits;

        private long MappedUnits => _runs.Count == 0 ? 0 : (_runs[_runs.Count - 1].Vcn + _runs[_runs.Count - 1].Length) / _unitClusters;

        /// <summary>The unit's bytes, with zeros from <paramref name="validTo"/> (a stream offset) on.</summary>
        public byte[] Read(long unit, long validTo)
        {
            byte[] content = new byte[Bytes];
            if (unit < MappedUnits)
            {
                // The unit as the reader decompresses it, through a view of the current runs.
                long mapped = MappedUnits * Bytes;
                AttributeRecord view = AttributeRecord.CreateNonResident(_data.Type, _data.Name, _data.Id, AttributeRecord.FlagCompressed, _runs,
                    mapped, mapped, mapped, _data.CompressionUnit, 0);
                using Stream stream = _writer.Mft.OpenAttribute(view);
                stream.Position = unit * Bytes;
                int n = 0;
                int read;
                while (n < content.Length && (read = stream.Read(content, n, content.Length - n)) > 0)
                {
                    n += read;
                }
            }
            long cut = validTo - (unit * Bytes);
            if (cut < Bytes)
            {
                content.AsSpan((int)Math.Max(0, cut)).Clear();
            }
            return content;
        }

        /// <summary>Stores the unit again with zeros from <paramref name="validTo"/> on, when that changes its bytes.</summary>
        public void Rewrite(long unit, long validTo)
        {
            if (unit >= MappedUnits)
            {
                return;
            }
            byte[] current = Read(unit, long.MaxValue);
            byte[] wanted = Read(unit, validTo);
            if (!current.AsSpan().SequenceEqual(wanted))
            {
                Store(unit, wanted);
            }
        }

        /// <summary>Replaces the unit's clusters: a hole, compressed clusters and a hole, or the whole unit stored.</summary>
        public void Store(long unit, byte[] content)
        {
            Resize(Math.Max(MappedUnits, unit + 1));
            long vcn = unit * _unitClusters;
            var replacement = new List<DataRun>();
            if (!IsZero(content))
            {
                byte[] compressed = Lznt1.Compress(content);
                long clusters = (compressed.Length + _writer.ClusterSize - 1) / _writer.ClusterSize;
                byte[] stored = content;
                if (clusters < _unitClusters)
                {
                    stored = new byte[clusters * _writer.ClusterSize];
                    compressed.CopyTo(stored, 0);
                }
                else
                {
                    clusters = _unitClusters;
                }

                // The unit's own clusters are freed first, so it may well get them back.
                DataRun? first = _runs.Where(r => !r.IsSparse && r.Vcn < vcn + _unitClusters && r.Vcn + r.Length > vcn).Select(r => (DataRun?)r).FirstOrDefault();
                long hint = first is { } f ? f.Lcn + Math.Max(0, vcn - f.Vcn) : DataEditor.NextLcnBefore(_runs, vcn);
                _runs = DataEditor.Splice(_runs, vcn, _unitClusters, new[] { new DataRun(vcn, -1, _unitClusters) }, out List<DataRun> removed);
                _writer.FreeRuns(removed);
                replacement.AddRange(_writer.AllocateRuns(vcn, clusters, hint));
                _writer.WriteThroughRuns(replacement, vcn * _writer.ClusterSize, stored);
                if (clusters < _unitClusters)
                {
                    replacement.Add(new DataRun(vcn + clusters, -1, _unitClusters - clusters));
                }
            }
            else
            {
                replacement.Add(new DataRun(vcn, -1, _unitClusters));
            }
            _runs = DataEditor.Splice(_runs, vcn, _unitClusters, replacement, out List<DataRun> freed);
            _writer.FreeRuns(freed);
            _runs = VolumeWriter.MergeRuns(_runs);
        }

        private static bool IsZero(byte[] content)
        {
            foreach (byte b in content)
            {
                if (b != 0)
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>Maps exactly <paramref name="units"/> units: new ones are holes, those past it are freed.</summary>
        public void Resize(long units)
        {
            long have = MappedUnits;
            if (units > have)
            {
                _runs.Add(new DataRun(have * _unitClusters, -1, (units - have) * _unitClusters));
                _runs = VolumeWriter.MergeRuns(_runs);
            }
            else if (units < have)
            {
                _runs = DataEditor.Splice(_runs, units * _unitClusters, (have - units) * _unitClusters, Array.Empty<DataRun>(), out List<DataRun> freed);
                _writer.FreeRuns(freed);
            }
        }

        public AttributeRecord Build(AttributeRecord data, long size, long initialized) =>
            DataEditor.Rebuild(data, _runs, MappedUnits * Bytes, size, initialized, _writer.ClusterSize);
    }
}
