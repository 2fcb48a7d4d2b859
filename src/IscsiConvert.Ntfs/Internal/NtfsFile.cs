using System;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Ntfs.Format;

namespace IscsiConvert.Ntfs.Internal;

/// <summary>A file as the MFT describes it: the base record plus the attributes its $ATTRIBUTE_LIST places in extension
/// records, with attributes split over several records joined into one.</summary>
internal sealed class NtfsFile
{
    public NtfsFile(FileRecord baseRecord, List<AttributeRecord> attributes)
    {
        Record = baseRecord;
        Attributes = attributes;
    }

    public FileRecord Record { get; }

    public long RecordNumber => Record.RecordNumber;

    public List<AttributeRecord> Attributes { get; }

    public AttributeRecord? Find(uint type, string name = "") =>
        Attributes.FirstOrDefault(a => a.Type == type && string.Equals(a.Name, name, StringComparison.Ordinal));

    public IEnumerable<AttributeRecord> FindAll(uint type) => Attributes.Where(a => a.Type == type);

    public StandardInformation? StandardInformation =>
        Find(AttributeType.StandardInformation) is { IsResident: true } a ? StandardInformation.TryReadFrom(a.Value) : null;

    /// <summary>All names (hard links and the DOS alias), in record order.</summary>
    public IEnumerable<FileNameAttribute> FileNames =>
        FindAll(AttributeType.FileName).Where(a => a.IsResident).Select(a => FileNameAttribute.TryReadFrom(a.Value)).Where(f => f is not null)!;

    /// <summary>The name to show: a Win32 (or POSIX) name in preference to the 8.3 DOS alias.</summary>
    public FileNameAttribute? PreferredName =>
        FileNames.OrderBy(f => f.Namespace == FileNameAttribute.NamespaceDos ? 1 : 0).FirstOrDefault();

    /// <summary>Joins extents of the same attribute (same type and name) that lie in several records, in VCN order.</summary>
    public static List<AttributeRecord> Merge(IEnumerable<AttributeRecord> all, string? filePath)
    {
        var result = new List<AttributeRecord>();
        foreach (IGrouping<(uint, string), AttributeRecord> group in all.GroupBy(a => (a.Type, a.Name)))
        {
            List<AttributeRecord> extents = group.ToList();
            if (extents.Count == 1 || extents.Any(a => a.IsResident))
            {
                result.AddRange(extents);
                continue;
            }
            extents.Sort((x, y) => x.StartVcn.CompareTo(y.StartVcn));
            AttributeRecord first = extents[0];
            if (first.StartVcn != 0)
            {
                throw new CorruptDataException("NTFS", $"MFT record {first.RecordNumber} attribute 0x{first.Type:X}", first.VolumeOffset,
                    $"the first extent starts at VCN {first.StartVcn}, not 0", filePath);
            }
            var runs = new List<DataRun>();
            long next = first.LastVcn + 1;
            for (int i = 1; i < extents.Count; i++)
            {
                AttributeRecord e = extents[i];
                if (e.StartVcn != next)
                {
                    throw new CorruptDataException("NTFS", $"MFT record {e.RecordNumber} attribute 0x{e.Type:X}", e.VolumeOffset,
                        $"the extent starts at VCN {e.StartVcn}, but the previous one ended at VCN {next - 1}", filePath);
                }
                runs.AddRange(e.Runs);
                next = e.LastVcn + 1;
            }
            first.AppendRuns(runs, next - 1);
            result.Add(first);
        }
        return result;
    }
}
