using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using IscsiConvert.Ntfs;
using IscsiConvert.Ntfs.Format;
using IscsiConvert.Ntfs.Internal;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// New files get the descriptor Windows would inherit for them, shared through $Secure: an existing id when one is
/// equivalent, else one new $SDS entry (with $SII and $SDH keys) per distinct descriptor. Checked with ntfssecaudit
/// (the audit of $SDS, its mirror, $SII and $SDH; and the descriptor and key it reports for a path), ntfscat of $SDS
/// (the hashes Windows stored) and descriptors computed in the test from the documented inheritance rules.
/// </summary>
[Collection(NtfsCorpusCollection.Name)]
public sealed partial class NtfsSecureWriteTests : IDisposable
{
    private const int LastAccessPartitionOffset = 128 * 512;
    private const long LastAccessPartitionSectors = 518144; // MANIFEST / fdisk: sectors 128..518271
    private readonly NtfsCorpusFixture _images;
    private readonly TempDir _tmp = new();

    public NtfsSecureWriteTests(NtfsCorpusFixture images)
    {
        _images = images;
    }

    public void Dispose() => _tmp.Dispose();

    [Theory]
    [InlineData("ntfs/ntfs-lastaccess.raw.gz")]
    [InlineData("ntfs/ntfs-ptrn.raw.gz")]
    public void Descriptor_hash_equals_the_hash_Windows_stored(string relative)
    {
        string part = _images.Extract(relative, LastAccessPartitionOffset);
        List<SdsEntry> entries = ReadSds(part);
        Assert.True(entries.Count > 5, $"only {entries.Count} $SDS entries");
        foreach (SdsEntry e in entries)
        {
            Assert.True(e.Hash == SecurityDescriptorHeader.ComputeHash(e.Descriptor), $"id 0x{e.Id:x}: Windows 0x{e.Hash:x8}");
        }
    }

    [Fact]
    public void New_descriptors_on_a_mkntfs_volume_are_added_once_each_and_audit_clean()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "sec.img");
        Audit before = RunAudit(image);
        Assert.Equal(0, before.Errors);
        List<SdsEntry> sdsBefore = ReadSds(image);
        var dirs = new[] { "/a", "/a/sub", "/b", "/a/sub/deeper" };
        var files = new[] { "/a/f1", "/a/f2", "/b/g", "/a/sub/h", "/a/sub/deeper/i", "/top.txt" };
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            foreach (string d in dirs)
            {
                v.CreateDirectory(d);
            }
            foreach (string f in files)
            {
                v.WriteFile(f, new byte[] { 1, 2, 3 });
            }
            v.Flush();
        }
        NtfsWriteTests.AssertOraclesHappy(image);
        Audit after = RunAudit(image);
        Assert.True(after.Errors == 0, after.Text);

        // Expected: every created item's descriptor, computed here from its parent's (as ntfssecaudit reports it).
        var expected = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string path in dirs.Concat(files).OrderBy(p => p.Count(c => c == '/')))
        {
            string parent = path.Substring(0, path.LastIndexOf('/'));
            byte[] parentDescriptor = parent.Length == 0 ? OurDescriptor(image, "/") : expected[parent];
            expected[path] = ExpectedInheritance(parentDescriptor, dirs.Contains(path));
        }
        int distinctNew = expected.Values.Select(Canonical).Distinct(StringComparer.Ordinal)
            .Count(c => !sdsBefore.Any(e => Canonical(e.Descriptor) == c));
        Assert.True(distinctNew >= 2, $"the case should need new descriptors ({distinctNew})");
        var newKeys = after.Sii.Except(before.Sii).ToList();
        Assert.Equal(distinctNew, newKeys.Count);
        Assert.Equal(after.Sii.OrderBy(k => k), after.Sdh.OrderBy(k => k));
        Assert.Equal(after.Sii.OrderBy(k => k), after.Sds1.OrderBy(k => k));
        Assert.Equal(after.Sii.OrderBy(k => k), after.Sds2.OrderBy(k => k));
        Assert.Equal(before.Sii.Max() + 1, newKeys.Min());
        foreach ((string path, byte[] descriptor) in expected)
        {
            (uint key, byte[] actual) = PathDescriptor(image, path);
            Assert.Equal(Canonical(descriptor), Canonical(actual));
            Assert.True(after.Sii.Contains(key), $"{path}: key 0x{key:x} not in $SII");
        }
    }

    [Fact]
    public void In_a_Windows_folder_a_new_file_reuses_the_id_Windows_gave_its_own_file_there()
    {
        string image = _tmp.File("la.part");
        NtfsPatch.SparseCopy(_images.Extract("ntfs/ntfs-lastaccess.raw.gz", LastAccessPartitionOffset), image);
        using (var f = new FileStream(image, FileMode.Open))
        {
            f.SetLength(LastAccessPartitionSectors * 512); // the partition exactly (ntfsfix checks the backup boot sector at its end)
        }
        Audit before = RunAudit(image);
        List<SdsEntry> sdsBefore = ReadSds(image);
        (uint windowsKey, byte[] windowsDescriptor) = PathDescriptor(image, "/test/1.txt");
        (_, byte[] folder) = PathDescriptor(image, "/test");

        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.WriteFile("/test/ours.txt", new byte[] { 42 });
            Assert.Equal(windowsKey, v.GetEntry("/test/ours.txt").SecurityId);
            v.CreateDirectory("/test/ours");
            v.WriteFile("/test/ours/inner.txt", new byte[] { 43 });
            v.CreateDirectory("/test/ours2");
            v.CreateDirectory("/ours-root");
            v.WriteFile("/ours-root.txt", new byte[] { 44 });
            v.Flush();
        }
        Audit after = RunAudit(image);
        Assert.True(after.Errors <= before.Errors, $"ntfssecaudit: {after.Errors} errors, {before.Errors} before");
        (uint key, _) = PathDescriptor(image, "/test/ours.txt");
        Assert.Equal(windowsKey, key);

        // A folder under \test inherits \test's own descriptor (its explicit entries are not inheritable; its
        // inherit-only generic entries become effective ones plus themselves): Windows stored that one already.
        (uint dirKey, byte[] dirDescriptor) = PathDescriptor(image, "/test/ours");
        Assert.Equal(Canonical(ExpectedInheritance(folder, directory: true)), Canonical(dirDescriptor));
        Assert.Equal(dirKey, PathDescriptor(image, "/test/ours2").Key);
        Assert.Equal(ExistingId(sdsBefore, dirDescriptor), dirKey);
        (uint innerKey, byte[] inner) = PathDescriptor(image, "/test/ours/inner.txt");
        Assert.Equal(Canonical(ExpectedInheritance(dirDescriptor, directory: false)), Canonical(inner));
        Assert.Equal(Canonical(windowsDescriptor), Canonical(inner));
        Assert.Equal(windowsKey, innerKey);

        // At the root (whose own descriptor has CREATOR OWNER-free, auto-inherited entries) the children need new ones.
        byte[] root = OurDescriptor(image, "/");
        var expectedNew = new[] { ExpectedInheritance(root, true), ExpectedInheritance(root, false) }
            .Where(d => ExistingId(sdsBefore, d) is null).Select(Canonical).Distinct().ToList();
        (uint rootDirKey, byte[] rootDir) = PathDescriptor(image, "/ours-root");
        (uint rootFileKey, byte[] rootFile) = PathDescriptor(image, "/ours-root.txt");
        Assert.Equal(Canonical(ExpectedInheritance(root, true)), Canonical(rootDir));
        Assert.Equal(Canonical(ExpectedInheritance(root, false)), Canonical(rootFile));
        Assert.Equal(ExistingId(sdsBefore, rootDir) ?? rootDirKey, rootDirKey);
        Assert.Equal(ExistingId(sdsBefore, rootFile) ?? rootFileKey, rootFileKey);
        Assert.Equal(expectedNew.Count, after.Sii.Except(before.Sii).Count());
        Assert.Equal(after.Sii.OrderBy(k => k), after.Sdh.OrderBy(k => k));
        Assert.Equal(after.Sii.OrderBy(k => k), after.Sds2.OrderBy(k => k));
        Assert.True(after.Sii.Except(before.Sii).All(k => after.Sds1.Contains(k)), after.Text);
        NtfsWriteTests.AssertOraclesHappy(image);
    }

    [Fact]
    public void Descriptors_added_in_an_edit_that_fails_are_rolled_back_with_it()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "roll.img");
        Audit before = RunAudit(image);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.CreateDirectory("/d");
            Assert.ThrowsAny<Exception>(() => v.WriteFile("/d/x:bad", new byte[1]));
            v.DiscardChanges();
            v.CreateDirectory("/e");
            v.WriteFile("/e/f", new byte[] { 1 });
            v.Flush();
        }
        Audit after = RunAudit(image);
        Assert.True(after.Errors == 0, after.Text);
        Assert.Equal(before.Sii.Max() + 1, after.Sii.Except(before.Sii).Min());
        Assert.Equal(after.Sii.OrderBy(k => k), after.Sdh.OrderBy(k => k));
    }

    [Fact]
    public void Many_descriptors_split_the_view_indexes_and_fill_more_than_one_SDS_block()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "many.img");
        Audit before = RunAudit(image);
        const int Count = 150;
        var added = new List<(uint Id, byte[] Descriptor)>();
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.Edit(() =>
            {
                for (int i = 0; i < Count; i++)
                {
                    // Every other descriptor is large (120 entries, about 3.8 KiB): together more than a 256 KiB block.
                    var aces = Enumerable.Range(0, i % 2 == 0 ? 120 : 2)
                        .Select(k => Ace(0, 0x03, 0x1200A9, Sid(5, 21, 1000, (uint)i, (uint)k))).ToList();
                    byte[] d = BuildDescriptor(0x8404, Sid(5, 32, 544), Sid(5, 18), aces);
                    added.Add((v.SecureWriter.Add(d), d));
                }
                return 0;
            });
            v.Flush();
        }
        Audit after = RunAudit(image);
        Assert.True(after.Errors == 0, after.Text);
        uint first = before.Sii.Max() + 1;
        Assert.Equal(Enumerable.Range(0, Count).Select(i => first + (uint)i), added.Select(a => a.Id));
        foreach (List<uint> keys in new[] { after.Sii, after.Sdh, after.Sds1, after.Sds2 })
        {
            Assert.Equal(before.Sii.Concat(added.Select(a => a.Id)).OrderBy(k => k), keys.OrderBy(k => k));
        }
        List<SdsEntry> sds = ReadSds(image);
        foreach ((uint id, byte[] descriptor) in added)
        {
            SdsEntry e = Assert.Single(sds, x => x.Id == id);
            Assert.Equal(descriptor, e.Descriptor);
            Assert.Equal(0, e.Offset % 16);
            Assert.True(e.Offset % (512 * 1024) + 20 + descriptor.Length <= 256 * 1024, $"id {id} at 0x{e.Offset:x} crosses its block");
        }
        Assert.Contains(sds, e => e.Offset >= 512 * 1024);
        NtfsWriteTests.AssertOraclesHappy(image);
    }

    [Fact]
    public void Creator_owner_and_generic_entries_split_as_documented()
    {
        // Owner S-1-5-32-544, group S-1-5-18; DACL auto-inherited: CREATOR OWNER full control (OI|CI|IO), Users read
        // (OI|CI), SYSTEM full (no inheritance), Everyone generic read (OI only, IO).
        byte[] admins = Sid(5, 32, 544), system = Sid(5, 18), users = Sid(5, 32, 545), everyone = Sid(1, 0), creatorOwner = Sid(3, 0);
        byte[] parent = BuildDescriptor(0x8404, admins, system, new List<byte[]>
        {
            Ace(0, 0x0B, 0x10000000, creatorOwner),
            Ace(0, 0x03, 0x001200A9, users),
            Ace(0, 0x00, 0x001F01FF, system),
            Ace(0, 0x09, 0x80000000, everyone),
        });
        SecurityInheritance.Descriptor parsed = SecurityInheritance.Parse(parent)!;
        foreach (bool directory in new[] { false, true })
        {
            byte[] ours = SecurityInheritance.Encode(SecurityInheritance.Inherit(parsed, directory));
            Assert.Equal(Canonical(ExpectedInheritance(parent, directory)), Canonical(ours));
        }
        byte[] dir = SecurityInheritance.Encode(SecurityInheritance.Inherit(parsed, true));
        List<byte[]> aces = ParseDescriptor(dir).Aces;
        Assert.Contains(aces, a => a[1] == 0x10 && a.AsSpan(8).SequenceEqual(admins) && BinaryPrimitives.ReadUInt32LittleEndian(a.AsSpan(4)) == 0x1F01FF);
        Assert.Contains(aces, a => a[1] == 0x1B && a.AsSpan(8).SequenceEqual(creatorOwner));
    }

    // ---- the inheritance rules (MS docs "ACE Inheritance Rules", "Automatic Propagation of Inheritable ACEs";
    // generic mapping FILE_GENERIC_READ/WRITE/EXECUTE, FILE_ALL_ACCESS), written here independently of the library.

    private static byte[] ExpectedInheritance(byte[] parentDescriptor, bool directory)
    {
        ParsedDescriptor p = ParseDescriptor(parentDescriptor);
        bool auto = (p.Control & 0x0400) != 0;
        byte inh = auto ? (byte)0x10 : (byte)0;
        var aces = new List<byte[]>();
        foreach (byte[] ace in p.Aces)
        {
            byte f = ace[1];
            bool oi = (f & 1) != 0, ci = (f & 2) != 0, np = (f & 4) != 0;
            uint mask = BinaryPrimitives.ReadUInt32LittleEndian(ace.AsSpan(4));
            byte[] sid = ace.AsSpan(8).ToArray();
            bool creator = sid.AsSpan().SequenceEqual(Sid(3, 0)) || sid.AsSpan().SequenceEqual(Sid(3, 1));
            bool generic = (mask & 0xF0000000) != 0;
            bool appliesHere = directory ? ci : oi;
            bool propagates = directory && !np && (oi || ci);
            if (!appliesHere && !propagates)
            {
                continue;
            }
            byte childInherit = (byte)(propagates ? (f & 3) : 0);
            if (appliesHere && (creator || generic))
            {
                byte[] effSid = sid.AsSpan().SequenceEqual(Sid(3, 0)) ? p.Owner : sid.AsSpan().SequenceEqual(Sid(3, 1)) ? p.Group : sid;
                aces.Add(Ace(ace[0], inh, Map(mask), effSid));
                if (propagates)
                {
                    aces.Add(Ace(ace[0], (byte)(childInherit | 0x08 | inh), mask, sid));
                }
            }
            else if (appliesHere)
            {
                aces.Add(Ace(ace[0], (byte)(childInherit | inh), mask, sid));
            }
            else
            {
                aces.Add(Ace(ace[0], (byte)(childInherit | 0x08 | inh), mask, sid));
            }
        }
        return BuildDescriptor((ushort)(0x8004 | (auto ? 0x0400 : 0)), p.Owner, p.Group, aces);
    }

    private static uint Map(uint mask)
    {
        uint m = mask & 0x0FFFFFFF;
        m |= (mask & 0x80000000) != 0 ? 0x120089u : 0;
        m |= (mask & 0x40000000) != 0 ? 0x120116u : 0;
        m |= (mask & 0x20000000) != 0 ? 0x1200A0u : 0;
        m |= (mask & 0x10000000) != 0 ? 0x1F01FFu : 0;
        return m;
    }

    private sealed record ParsedDescriptor(ushort Control, byte[] Owner, byte[] Group, List<byte[]> Aces);

    private static ParsedDescriptor ParseDescriptor(byte[] sd)
    {
        ushort control = BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(2));
        int owner = BinaryPrimitives.ReadInt32LittleEndian(sd.AsSpan(4));
        int group = BinaryPrimitives.ReadInt32LittleEndian(sd.AsSpan(8));
        int dacl = BinaryPrimitives.ReadInt32LittleEndian(sd.AsSpan(16));
        byte[] SidAt(int o) => o == 0 ? Array.Empty<byte>() : sd.AsSpan(o, 8 + (4 * sd[o + 1])).ToArray();
        var aces = new List<byte[]>();
        if (dacl != 0)
        {
            int count = BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(dacl + 4));
            int pos = dacl + 8;
            for (int i = 0; i < count; i++)
            {
                int size = BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(pos + 2));
                aces.Add(sd.AsSpan(pos, size).ToArray());
                pos += size;
            }
        }
        return new ParsedDescriptor(control, SidAt(owner), SidAt(group), aces);
    }

    // Control (DACL-related bits), owner, group and the ACEs in order: what makes two descriptors the same, whatever
    // the order of the parts inside the bytes.
    private static string Canonical(byte[] sd)
    {
        ParsedDescriptor p = ParseDescriptor(sd);
        return $"{p.Control & 0x1C14:x4}|{Convert.ToHexString(p.Owner)}|{Convert.ToHexString(p.Group)}|" + string.Join(",", p.Aces.Select(Convert.ToHexString));
    }

    private static byte[] BuildDescriptor(ushort control, byte[] owner, byte[] group, List<byte[]> aces)
    {
        int daclSize = 8 + aces.Sum(a => a.Length);
        byte[] sd = new byte[20 + owner.Length + group.Length + daclSize];
        sd[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(sd.AsSpan(2), control);
        int pos = 20;
        BinaryPrimitives.WriteInt32LittleEndian(sd.AsSpan(4), pos);
        owner.CopyTo(sd, pos);
        pos += owner.Length;
        BinaryPrimitives.WriteInt32LittleEndian(sd.AsSpan(8), pos);
        group.CopyTo(sd, pos);
        pos += group.Length;
        BinaryPrimitives.WriteInt32LittleEndian(sd.AsSpan(16), pos);
        sd[pos] = 2;
        BinaryPrimitives.WriteUInt16LittleEndian(sd.AsSpan(pos + 2), (ushort)daclSize);
        BinaryPrimitives.WriteUInt16LittleEndian(sd.AsSpan(pos + 4), (ushort)aces.Count);
        pos += 8;
        foreach (byte[] a in aces)
        {
            a.CopyTo(sd, pos);
            pos += a.Length;
        }
        return sd;
    }

    private static byte[] Ace(byte type, byte flags, uint mask, byte[] sid)
    {
        byte[] ace = new byte[8 + sid.Length];
        ace[0] = type;
        ace[1] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(ace.AsSpan(2), (ushort)ace.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(ace.AsSpan(4), mask);
        sid.CopyTo(ace, 8);
        return ace;
    }

    private static byte[] Sid(byte authority, params uint[] subs)
    {
        byte[] sid = new byte[8 + (4 * subs.Length)];
        sid[0] = 1;
        sid[1] = (byte)subs.Length;
        sid[7] = authority;
        for (int i = 0; i < subs.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sid.AsSpan(8 + (4 * i)), subs[i]);
        }
        return sid;
    }

    // ---- oracles

    private sealed record Audit(int Errors, List<uint> Sds1, List<uint> Sds2, List<uint> Sii, List<uint> Sdh, string Image, string Text);

    private static Audit RunAudit(string image)
    {
        ToolResult r = Oracle.Run("ntfssecaudit", "-a", image);
        string text = r.StdOut + r.StdErr;
        if (!text.Contains("Auditing $SII", StringComparison.Ordinal))
        {
            Oracle.RunChecked("ntfssecaudit", "-a", image);
            Assert.Fail("ntfssecaudit -a printed no audit: " + text);
        }
        var sections = new Dictionary<string, List<uint>>(StringComparer.Ordinal);
        string current = string.Empty;
        foreach (string line in text.Split('\n'))
        {
            Match s = Regex.Match(line, @"^Auditing (\S+)");
            if (s.Success)
            {
                current = s.Groups[1].Value;
                sections[current] = new List<uint>();
                continue;
            }
            Match k = Regex.Match(line, @"^Valid entry (?:at 0x[0-9a-f]+ )?for key 0x([0-9a-f]+)");
            if (k.Success && current.Length > 0)
            {
                sections[current].Add(uint.Parse(k.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
        int errors = ErrorCount().Matches(text).Sum(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            + Regex.Matches(text, @"^Key 0x[0-9a-f]+ not in", RegexOptions.Multiline).Count;
        return new Audit(errors, sections["$SDS-1"], sections["$SDS-2"], sections["$SII"], sections["$SDH"], image, text);
    }

    [GeneratedRegex(@"(\d+) errors in")]
    private static partial Regex ErrorCount();

    // `ntfssecaudit -v VOLUME PATH`: the security key of the path and a hex dump of its descriptor.
    private static (uint Key, byte[] Descriptor) PathDescriptor(string image, string path)
    {
        string text = Oracle.RunChecked("ntfssecaudit", "-v", image, path);
        Match key = Regex.Match(text, @"Security key : 0x([0-9a-f]+)");
        Assert.True(key.Success, text);
        var bytes = new List<byte>();
        foreach (Match line in Regex.Matches(text, @"^[ \t]+[0-9a-f]{6}((?:[ \t]+[0-9a-f]{2,8})+)[ \t\r]*$", RegexOptions.Multiline))
        {
            foreach (string group in line.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                bytes.AddRange(Convert.FromHexString(group));
            }
        }
        Assert.True(bytes.Count >= 20, text);
        return (uint.Parse(key.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), bytes.ToArray());
    }

    // The root of a mkntfs volume carries its descriptor in its own attribute (ntfssecaudit shows no key for it).
    private static byte[] OurDescriptor(string image, string path)
    {
        using NtfsVolume v = NtfsVolume.Open(File.OpenRead(image));
        return v.GetSecurityDescriptor(path)!;
    }

    private sealed record SdsEntry(uint Hash, uint Id, long Offset, byte[] Descriptor);

    // The lowest id whose descriptor is the same as this one, or null.
    private static uint? ExistingId(List<SdsEntry> sds, byte[] descriptor) =>
        sds.Where(e => Canonical(e.Descriptor) == Canonical(descriptor)).Select(e => (uint?)e.Id).OrderBy(i => i).FirstOrDefault();

    // $Secure:$SDS through ntfscat, walked over its primary blocks.
    private static List<SdsEntry> ReadSds(string image)
    {
        byte[] sds = BinaryOracle.Bytes("ntfscat", "-a", "0x80", "-n", "$SDS", image, "$Secure");
        var result = new List<SdsEntry>();
        for (long block = 0; block < sds.Length; block += 2 * 256 * 1024)
        {
            long pos = block;
            long end = Math.Min(sds.Length, block + (256 * 1024));
            while (pos + 20 <= end)
            {
                uint hash = BinaryPrimitives.ReadUInt32LittleEndian(sds.AsSpan((int)pos));
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(sds.AsSpan((int)pos + 4));
                long self = BinaryPrimitives.ReadInt64LittleEndian(sds.AsSpan((int)pos + 8));
                int length = BinaryPrimitives.ReadInt32LittleEndian(sds.AsSpan((int)pos + 16));
                if (self != pos || length < 20 || pos + length > end)
                {
                    break;
                }
                result.Add(new SdsEntry(hash, id, pos, sds.AsSpan((int)pos + 20, length - 20).ToArray()));
                pos = (pos + length + 15) & ~15L;
            }
        }
        return result;
    }
}
