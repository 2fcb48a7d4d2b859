using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CsCheck;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Damaged copies of testfs1 (made in memory; the corpus file is never written): each kind of damage gives a
/// CorruptDataException that names the MFT record and the byte offset, and random damage never gives anything else.
/// Structures are located by scanning the image for their signatures, independently of the reader.
/// </summary>
public class NtfsBadInputTests
{
    private const int Record = 1024;

    // Bounds on the work of one damaged volume, per byte of it (measured over 250 damaged copies of testfs1: at most 4.2
    // bytes read and 12 allocated); about four times that, so a machine's speed never matters and a loop still fails.
    private const long MaxReadPerInputByte = 16;
    private const long MaxAllocatedPerInputByte = 48;

    private static byte[] Original() => File.ReadAllBytes(TestData.Require("ntfs/testfs1"));

    // NTFS 3.1 records carry their own number at 0x2C; scanning for it avoids using the reader to find them.
    private static int FindRecord(byte[] image, int number)
    {
        for (int at = 0; at + Record <= image.Length; at += 512)
        {
            if (image.AsSpan(at, 4).SequenceEqual("FILE"u8) && BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(at + 0x2C)) == number
                && (BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(at + 0x16)) & 1) != 0)
            {
                return at;
            }
        }
        throw new InvalidOperationException($"record {number} not found");
    }

    private static int FindAttribute(byte[] image, int record, uint type)
    {
        int p = record + BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(record + 0x14));
        while (BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(p)) != type)
        {
            p += (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(p + 4));
        }
        return p;
    }

    private static CorruptDataException Corrupt(byte[] image, Action<NtfsVolume> action)
    {
        return Assert.Throws<CorruptDataException>(() =>
        {
            using var volume = NtfsVolume.Open(new MemoryStream(image, writable: false));
            action(volume);
        });
    }

    [Fact]
    public void FixupMismatch_NamesRecordAndOffset()
    {
        byte[] image = Original();
        int root = FindRecord(image, 5);
        image[root + 510] ^= 0xFF;
        CorruptDataException ex = Corrupt(image, v => v.ListDirectory(@"\"));
        Assert.Equal("MFT record 5", ex.Structure);
        Assert.Equal(root + 510, ex.Offset);
        Assert.Contains("update sequence", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void RunOutsideTheVolume_NamesRecordAndOffset()
    {
        byte[] image = Original();
        int record = FindRecord(image, 66); // 1000-bytes-file: non-resident $DATA
        int data = FindAttribute(image, record, 0x80);
        Assert.Equal(1, image[data + 8]);
        int runs = data + BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(data + 0x20));
        int lengthSize = image[runs] & 0xF;
        int offsetSize = image[runs] >> 4;
        Assert.True(offsetSize >= 2);
        image[runs + 1 + lengthSize + offsetSize - 1] = 0x70; // a large positive cluster offset
        CorruptDataException ex = Corrupt(image, v => v.OpenFile(@"\1000-bytes-file"));
        Assert.StartsWith("MFT record 66", ex.Structure, StringComparison.Ordinal);
        Assert.Equal(runs, ex.Offset);
        Assert.Contains("outside the volume", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AttributeLengthOverflow_NamesRecordAndOffset()
    {
        byte[] image = Original();
        int record = FindRecord(image, 66);
        int data = FindAttribute(image, record, 0x80);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(data + 4), 0xFFFFFFF8);
        CorruptDataException ex = Corrupt(image, v => v.GetEntry(@"\1000-bytes-file"));
        Assert.Equal("MFT record 66", ex.Structure);
        Assert.Equal(data + 4, ex.Offset);
        Assert.Contains("overflows", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void IndexLoop_IsReported_NotFollowed()
    {
        byte[] image = Original();
        // many_subdirs (record 68) has INDX records in $INDEX_ALLOCATION; find the one whose entries have children
        // (the top node) and point one of its children back at the node itself.
        bool patched = false;
        for (int at = 0; at + 4096 <= image.Length && !patched; at += 512)
        {
            if (!image.AsSpan(at, 4).SequenceEqual("INDX"u8))
            {
                continue;
            }
            long ownVcn = BinaryPrimitives.ReadInt64LittleEndian(image.AsSpan(at + 0x10));
            int node = at + 0x18;
            int pos = node + (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(node));
            while (true)
            {
                int length = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(pos + 8));
                uint flags = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(pos + 12));
                int field = pos + length - 8;
                bool clearOfFixups = (field % 512) + 8 <= 510;
                if ((flags & 1) != 0 && clearOfFixups)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(image.AsSpan(field), ownVcn);
                    patched = true;
                    break;
                }
                if ((flags & 2) != 0 || length == 0)
                {
                    break;
                }
                pos += length;
            }
        }
        Assert.True(patched, "no INDX record with child nodes found");

        // The loop is reported after a bounded amount of work (bytes read, not seconds: docs/testing.md): the 2 MiB
        // volume is read at most twice over, where following the loop would read without end.
        using var counting = new CountingStream(new MemoryStream(image, writable: false));
        CorruptDataException ex = Assert.Throws<CorruptDataException>(() =>
        {
            using var volume = NtfsVolume.Open(counting);
            volume.ListDirectory(@"\many_subdirs");
        });
        Assert.StartsWith("MFT record 68 $I30 index record VCN", ex.Structure, StringComparison.Ordinal);
        Assert.Contains("loops", ex.Problem, StringComparison.Ordinal);
        Assert.True(counting.BytesRead <= 2L * image.Length, $"read {counting.BytesRead} bytes of a {image.Length}-byte volume");
    }

    /// <summary>
    /// The fuzzer's long run (seed 7173390777075250992, iterations 3954, 409597, 671033) cleared the directory flag of the
    /// root's MFT record; listing "\" then threw a bare IOException ("is not a directory"). Refused at open, named at the flags.
    /// </summary>
    [Fact]
    public void Root_record_not_marked_as_a_directory_is_refused_at_open()
    {
        byte[] image = Original();
        int root = FindRecord(image, 5);
        image[root + 0x16] &= unchecked((byte)~0x02);
        CorruptDataException ex = Assert.Throws<CorruptDataException>(() => NtfsVolume.Open(new MemoryStream(image, writable: false)));
        Assert.Equal("MFT record 5 (root directory)", ex.Structure);
        Assert.Equal(root + 0x16, ex.Offset);
    }

    /// <summary>
    /// The system records read at open name where the damage is: the attribute when it is there but too short, the
    /// record when the attribute is missing (they were reported at offset -1 before).
    /// </summary>
    [Theory]
    [InlineData("volume information too short")]
    [InlineData("volume information missing")]
    [InlineData("upcase without data")]
    public void Missing_or_short_system_attribute_is_refused_at_open_naming_where(string damage)
    {
        byte[] image = Original();
        int volume = FindRecord(image, 3);
        int upcase = FindRecord(image, 10);
        int information = FindAttribute(image, volume, 0x70);
        int expected;
        switch (damage)
        {
            case "volume information too short":
                BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(information + 0x10), 4);
                expected = information;
                break;
            case "volume information missing":
                // 0x70 -> 0x71: a type no reader looks for, so the record no longer has a $VOLUME_INFORMATION.
                image[information] = 0x71;
                expected = volume;
                break;
            default:
                image[FindAttribute(image, upcase, 0x80)] = 0x81;
                expected = upcase;
                break;
        }
        CorruptDataException ex = Assert.Throws<CorruptDataException>(() => NtfsVolume.Open(new MemoryStream(image, writable: false)));
        Assert.Equal(damage.StartsWith("upcase", StringComparison.Ordinal) ? "MFT record 10 ($UpCase)" : "MFT record 3 ($Volume)", ex.Structure);
        Assert.Equal(expected, ex.Offset);
    }

    /// <summary>
    /// The fuzzer's long run (seed 5815669650193656486, iterations 2131, 12451, 16284, 30518, 56572) found index keys
    /// with an empty name: the listing gave "\dir\" for a file, a path that names the directory, and OpenFile threw a bare
    /// IOException ("is a directory"). Names no NTFS namespace allows (empty, NUL, '/') are damage named at the key;
    /// "." and ".." are damage named at the directory; a POSIX name with a backslash is legal but not addressable.
    /// The key is located by scanning for the name's UTF-16 bytes inside an INDX record or the root's MFT record.
    /// </summary>
    [Theory]
    [InlineData("empty")]
    [InlineData("slash")]
    [InlineData("nul")]
    [InlineData("dot")]
    [InlineData("dotdot")]
    [InlineData("backslash")]
    public void Index_key_whose_name_no_path_can_address_is_refused(string damage)
    {
        byte[] image = Original();
        int name = FindIndexKeyName(image, "1000-bytes-file");
        int lengthByte = name - 2;
        switch (damage)
        {
            case "empty":
                image[lengthByte] = 0;
                break;
            case "slash":
                image[name + 2] = (byte)'/';
                break;
            case "nul":
                image[name + 2] = 0;
                break;
            case "dot":
                image[lengthByte] = 1;
                image[name] = (byte)'.';
                break;
            case "dotdot":
                image[lengthByte] = 2;
                image[name] = (byte)'.';
                image[name + 2] = (byte)'.';
                break;
            default:
                image[name + 2] = (byte)'\\';
                break;
        }

        Exception? ex = Xunit.Record.Exception(() =>
        {
            using var volume = NtfsVolume.Open(new MemoryStream(image, writable: false));
            _ = volume.ListDirectory(@"\");
        });

        int key = name - 0x42; // the $FILE_NAME value's name starts at 0x42
        switch (damage)
        {
            case "empty" or "slash" or "nul":
                var corrupt = Assert.IsType<CorruptDataException>(ex);
                Assert.Equal(key, corrupt.Offset);
                Assert.Contains(damage == "empty" ? "empty name" : "NUL or '/'", corrupt.Problem, StringComparison.Ordinal);
                break;
            case "dot" or "dotdot":
                // Named at the index entry; "." may be caught first by the index's own order check.
                var dots = Assert.IsType<CorruptDataException>(ex);
                Assert.StartsWith("MFT record 5 $I30 index", dots.Structure, StringComparison.Ordinal);
                Assert.Equal(key - 0x10, dots.Offset);
                break;
            default:
                var unsupported = Assert.IsType<UnsupportedFormatException>(ex);
                Assert.Contains("backslash", unsupported.Message, StringComparison.Ordinal);
                Assert.Contains("1\\00-bytes-file", unsupported.Message, StringComparison.Ordinal);
                break;
        }
    }

    // The UTF-16 name inside a directory index (an INDX record, or the root's $INDEX_ROOT in MFT record 5), not the
    // file's own $FILE_NAME attribute; its first two characters lie clear of the update sequence's sector ends.
    private static int FindIndexKeyName(byte[] image, string name)
    {
        byte[] utf16 = System.Text.Encoding.Unicode.GetBytes(name);
        int root = FindRecord(image, 5);
        for (int at = 0; at + utf16.Length <= image.Length; at += 2)
        {
            if (!image.AsSpan(at, utf16.Length).SequenceEqual(utf16) || image[at - 2] != name.Length || (at % 512) + 4 > 510)
            {
                continue;
            }
            bool inRoot = at >= root && at < root + Record;
            bool inIndx = Enumerable.Range(0, 8).Select(i => (at & ~511) - (i * 512)).Any(p => p >= 0 && image.AsSpan(p, 4).SequenceEqual("INDX"u8));
            if (inRoot || inIndx)
            {
                return at;
            }
        }
        throw new InvalidOperationException($"no index key named {name}");
    }

    [Theory]
    [InlineData(0xE0)] // 2^32 bytes
    [InlineData(0x00)]
    [InlineData(0x7F)] // 127 clusters of 512 bytes: not a whole number of update sequence strides… and absurd
    public void AbsurdMftRecordSize_IsCorruptBootSector(byte value)
    {
        byte[] image = Original();
        image[0x40] = value;
        CorruptDataException ex = Assert.Throws<CorruptDataException>(() => NtfsVolume.Open(new MemoryStream(image, writable: false)));
        Assert.True(ex.Structure == "boot sector" || ex.Structure.StartsWith("MFT record 0", StringComparison.Ordinal), ex.Message);
    }

    [Fact]
    public void NotNtfs_IsUnsupported()
    {
        byte[] image = Original();
        image[3] = (byte)'X';
        Assert.Throws<UnsupportedFormatException>(() => NtfsVolume.Open(new MemoryStream(image, writable: false)));
    }

    /// <summary>
    /// Random byte damage, mostly in the MFT and index records: only our exception types, with bounded work (bytes read
    /// and allocated per input byte, not seconds). The full fuzzer is tests/IscsiConvert.Fuzzing.Tests.
    /// </summary>
    [Fact]
    public void RandomDamage_GivesOnlyOurExceptions()
    {
        byte[] original = Original();
        int mft = FindRecord(original, 0);
        int[] indx = Enumerable.Range(0, original.Length / 512).Select(i => i * 512).Where(a => original.AsSpan(a, 4).SequenceEqual("INDX"u8)).ToArray();
        Assert.NotEmpty(indx);
        var gen = Gen.Select(Gen.Int[0, 2], Gen.Int[0, 100 * Record], Gen.Int[0, indx.Length - 1], Gen.Int[0, 4095], Gen.Byte.Array[1, 6]);
        gen.Sample((where, inMft, indexRecord, inIndex, values) =>
        {
            byte[] b = (byte[])original.Clone();
            for (int i = 0; i < values.Length; i++)
            {
                int at = where switch
                {
                    0 => mft + inMft + (i * 8),
                    1 => indx[indexRecord] + inIndex + i,
                    _ => (inMft * 20 % original.Length) + i,
                };
                if (at < b.Length)
                {
                    b[at] = values[i];
                }
            }
            var counting = new CountingStream(new MemoryStream(b, writable: false));
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var volume = NtfsVolume.Open(counting);
                _ = volume.Verify();
                ReadEverything(volume);
            }
            catch (CorruptDataException)
            {
            }
            catch (UnsupportedFormatException)
            {
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            // ReadEverything reads at most 4 MiB per file of a 2 MiB volume; a reader that loops reads without end.
            Assert.True(counting.BytesRead <= MaxReadPerInputByte * b.Length, $"read {counting.BytesRead} bytes of a {b.Length}-byte volume");
            Assert.True(allocated <= MaxAllocatedPerInputByte * b.Length, $"allocated {allocated} bytes for a {b.Length}-byte volume");
        }, iter: 250);
    }

    private static void ReadEverything(NtfsVolume volume)
    {
        var pending = new Stack<string>();
        pending.Push(@"\");
        int seen = 0;
        byte[] buffer = new byte[1 << 16];
        while (pending.Count > 0 && seen < 5000)
        {
            foreach (NtfsEntry e in volume.ListDirectory(pending.Pop()))
            {
                seen++;
                if (e.IsDirectory)
                {
                    pending.Push(e.Path);
                    continue;
                }
                Stream s;
                try
                {
                    s = volume.OpenFile(e.Path);
                }
                catch (FileNotFoundException)
                {
                    continue; // no unnamed data stream ($Secure and the $Extend files)
                }
                using (s)
                {
                    long total = 0;
                    int n;
                    while (total < (4 << 20) && (n = s.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        total += n;
                    }
                }
                foreach (NtfsStreamInfo named in e.AlternateStreams)
                {
                    using Stream ads = volume.OpenFile(e.Path, named.Name);
                    _ = ads.Read(buffer, 0, buffer.Length);
                }
            }
        }
    }
}
