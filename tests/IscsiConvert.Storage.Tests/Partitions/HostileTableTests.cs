using System;
using System.Collections.Generic;
using System.IO;
using CsCheck;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;
using Xunit;

namespace IscsiConvert.Tests.Partitions;

/// <summary>Random damage to real tables (made by sfdisk and sgdisk) gives a table or a CorruptDataException: nothing else, and quickly.</summary>
public class HostileTableTests
{
    [Fact]
    public void RandomlyDamagedTables_ReadOrFailCleanly()
    {
        using var tmp = new TempDir();
        string gpt = GptReadTests.MakeSgdiskDisk(tmp);
        string mbr = PartitionOracles.BlankDisk(tmp, "mbr.img", 64L << 20);
        PartitionOracles.Sfdisk(mbr, "label: dos\n,4M,83\n,40M,f\n,4M,7\n,4M,83\n,4M,82\n,4M,83\n,4M,83\n");
        byte[] gptBytes = File.ReadAllBytes(gpt);
        byte[] mbrBytes = File.ReadAllBytes(mbr);
        long[] ebrs = EbrOffsets(mbrBytes);

        // Damage lands where the structures are: the first 34 sectors, the last 33, and the EBRs.
        var genDamage = Gen.Select(Gen.Int[0, 1], Gen.Int[0, 2], Gen.Int[0, 34 * 512], Gen.Byte, Gen.Int[1, 8]).List[1, 6];
        genDamage.Sample(damage =>
        {
            foreach (bool useGpt in new[] { true, false })
            {
                byte[] disk = useGpt ? gptBytes : mbrBytes;
                var saved = new List<(long At, byte Old)>();
                foreach (var (_, region, offset, value, run) in damage)
                {
                    long baseOffset = region switch
                    {
                        0 => 0,
                        1 => disk.Length - (34 * 512),
                        _ => ebrs[offset % ebrs.Length] - (offset % 512),
                    };
                    for (int i = 0; i < run; i++)
                    {
                        long at = Math.Clamp(baseOffset + offset + i, 0, disk.Length - 1);
                        saved.Add((at, disk[at]));
                        disk[at] = value;
                    }
                }
                try
                {
                    using var stream = new ByteArrayDisk(disk);
                    PartitionTable? table = PartitionTable.TryRead(stream, 512);
                    foreach (PartitionInfo p in table?.Partitions ?? Array.Empty<PartitionInfo>())
                    {
                        Assert.True(p.SectorCount > 0);
                    }
                }
                catch (CorruptDataException ex)
                {
                    Assert.False(string.IsNullOrEmpty(ex.Structure));
                }
                finally
                {
                    // Undo in reverse so that overlapping damage restores the original bytes.
                    for (int i = saved.Count - 1; i >= 0; i--)
                    {
                        disk[saved[i].At] = saved[i].Old;
                    }
                }
            }
        }, iter: 400, threads: 1);
    }

    private static long[] EbrOffsets(byte[] disk)
    {
        var result = new List<long>();
        long ext = BitConverter.ToUInt32(disk, 446 + 16 + 8);
        long ebr = ext;
        for (int i = 0; i < 16 && ebr != 0; i++)
        {
            result.Add(ebr * 512);
            long next = BitConverter.ToUInt32(disk, (int)(ebr * 512) + 446 + 16 + 8);
            ebr = next == 0 ? 0 : ext + next;
        }
        return result.ToArray();
    }

    /// <summary>A whole disk held in memory.</summary>
    private sealed class ByteArrayDisk : SparseStream
    {
        private readonly byte[] _data;

        public ByteArrayDisk(byte[] data) => _data = data;

        public override long Length => _data.Length;

        protected override bool IsWritable => false;

        public override IEnumerable<StreamExtent> GetExtents(long start, long length)
        {
            yield return new StreamExtent(start, Math.Min(length, _data.Length - start));
        }

        protected override void ReadCore(long position, Span<byte> buffer) => _data.AsSpan((int)position, buffer.Length).CopyTo(buffer);

        protected override void WriteCore(long position, ReadOnlySpan<byte> data) => throw new NotSupportedException();
    }
}
