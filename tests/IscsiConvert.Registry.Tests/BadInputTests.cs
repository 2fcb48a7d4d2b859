using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using CsCheck;
using IscsiConvert.Registry.Format;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>Damaged hives end in our own exception naming the offset: never a hang, a crash or a write.</summary>
public sealed class BadInputTests
{
    private static byte[] Bcd() => File.ReadAllBytes(TestData.Require(Hives.Bcd));

    private static void FixChecksum(byte[] hive) =>
        BinaryPrimitives.WriteUInt32LittleEndian(hive.AsSpan(508), RecoveryTests.XorChecksum(hive.AsSpan(0, 4096).ToArray()));

    private static void ReadEverything(RegistryHive hive)
    {
        foreach (RegistryKey k in RegistryExport.Walk(hive.Root))
        {
            _ = k.GetValues();
            _ = k.ClassName;
        }
    }

    private static CorruptDataException AssertCorrupt(byte[] bytes)
    {
        var ex = Assert.Throws<CorruptDataException>(() =>
        {
            using RegistryHive hive = RegistryHive.Open(new MemoryStream(bytes, writable: false), null);
            ReadEverything(hive);
        });
        Assert.Equal("regf", ex.Format);
        Assert.True(ex.Offset >= 0, ex.Message);
        return ex;
    }

    /// <summary>Offsets of the BCD's structures, found by our reader on the intact file.</summary>
    private static (int Root, int Description, int RootList) Layout()
    {
        using RegistryHive hive = RegistryHive.Open(new MemoryStream(Bcd()), null);
        int root = hive.Root.Cell;
        int description = hive.OpenKey("Description")!.Cell;
        int list = HiveCells.Field(hive.Cells.KeyCell(root), KeyNode.SubkeyListOffset);
        return (root, description, list);
    }

    [Fact]
    public void WrongChecksum()
    {
        byte[] b = Bcd();
        b[200] ^= 0x55;
        Assert.Equal(508, AssertCorrupt(b).Offset);
    }

    [Fact]
    public void TruncatedBins()
    {
        byte[] b = Bcd();
        CorruptDataException ex = AssertCorrupt(b.AsSpan(0, b.Length - 4096).ToArray());
        Assert.Equal(40, ex.Offset);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadBinSignatureAndHostileBinSize()
    {
        byte[] b = Bcd();
        b[4096] = (byte)'X';
        Assert.Equal(4096, AssertCorrupt(b).Offset);
        b = Bcd();
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + 8), 0x7FFFF000);
        Assert.Equal(4096, AssertCorrupt(b).Offset);
    }

    [Fact]
    public void HostileCellSize()
    {
        byte[] b = Bcd();
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + 32), int.MinValue + 8);
        Assert.Equal(4096 + 32, AssertCorrupt(b).Offset);
    }

    [Fact]
    public void RootCellOutOfRange()
    {
        byte[] b = Bcd();
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(36), 0x7FFFFFF8);
        FixChecksum(b);
        AssertCorrupt(b);
    }

    [Fact]
    public void ReferenceIntoTheMiddleOfACell()
    {
        (int _, int description, int rootList) = Layout();
        byte[] b = Bcd();
        // Point the root's first subkey entry 8 bytes into the Description key's cell: overlapping cells.
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + rootList + 4 + 4), description + 8);
        Assert.Equal(4096 + description + 8, AssertCorrupt(b).Offset);
    }

    [Fact]
    public void SubkeyListLoopIsReportedNotFollowedForever()
    {
        (int _, int description, int rootList) = Layout();
        byte[] b = Bcd();
        // Description now claims the root's list (which contains Description itself) as its own subkeys.
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + description + 4 + KeyNode.SubkeyCountOffset), 2);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + description + 4 + KeyNode.SubkeyListOffset), rootList);
        CorruptDataException ex = AssertCorrupt(b);
        Assert.Contains("loop", ex.Message, StringComparison.Ordinal);
        using RegistryHive hive = RegistryHive.Open(new MemoryStream(b), null);
        Assert.Contains(hive.Verify(), p => p.Message.Contains("twice", StringComparison.Ordinal));
    }

    [Fact]
    public void HostileCountsAndLengths()
    {
        (int root, int description, int _) = Layout();
        byte[] b = Bcd();
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + root + 4 + KeyNode.SubkeyCountOffset), -1);
        AssertCorrupt(b);

        b = Bcd();
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + description + 4 + KeyNode.ValueCountOffset), 0x0FFFFFFF);
        AssertCorrupt(b);

        b = Bcd();
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4096 + description + 4 + KeyNode.NameLengthOffset), 0xFFFF);
        AssertCorrupt(b);

        using RegistryHive hive = RegistryHive.Open(new MemoryStream(Bcd()), null);
        int vk = hive.Cells.ValueOffsets(description).First(v => hive.Cells.ValueData(v).Length > 4);
        b = Bcd();
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + vk + 4 + ValueKey.DataSizeOffset), 0x7FFFFFF0);
        AssertCorrupt(b);
    }

    [Fact]
    public void IndexRootPointingToItself()
    {
        (int root, int _, int rootList) = Layout();
        byte[] b = Bcd();
        // Turn the root's leaf into an index root whose entries point back at itself.
        b[4096 + rootList + 4] = (byte)'r';
        b[4096 + rootList + 5] = (byte)'i';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4096 + rootList + 8), rootList);
        Assert.Contains("index root", AssertCorrupt(b).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NothingIsWrittenWhenOpeningACorruptFileForWriting()
    {
        using var tmp = new TempDir();
        string path = tmp.File("bad");
        byte[] b = Bcd();
        b[4096] = 0;
        File.WriteAllBytes(path, b);
        Assert.Throws<CorruptDataException>(() => RegistryHive.Open(path, new RegistryOpenOptions { Writable = true }));
        Assert.Equal(b, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void NotAHiveAtAll()
    {
        Assert.Equal(0, AssertCorrupt(new byte[100]).Offset);
        Assert.Equal(0, AssertCorrupt(new byte[8192]).Offset);
        string log = TestData.Require("registry/win10-dirty-ntuser/transactions_ntuser.dat.log1");
        Assert.Throws<UnsupportedFormatException>(() => RegistryHive.Open(log, null));
    }

    /// <summary>Random byte damage anywhere: only our exception types may come out, and quickly.</summary>
    [Fact]
    public void RandomDamageNeverEscapesAsAnotherException()
    {
        byte[] original = Bcd();
        Gen.Select(Gen.Int[0, original.Length - 1].Array[1, 8], Gen.Byte.Array[8], Gen.Bool).Sample((positions, values, fix) =>
        {
            byte[] b = (byte[])original.Clone();
            for (int i = 0; i < positions.Length; i++)
            {
                b[positions[i]] = values[i];
            }
            if (fix)
            {
                FixChecksum(b);
            }
            try
            {
                using RegistryHive hive = RegistryHive.Open(new MemoryStream(b, writable: false), null);
                ReadEverything(hive);
                _ = hive.Verify();
            }
            catch (CorruptDataException)
            {
            }
            catch (UnsupportedFormatException)
            {
            }
        }, iter: 2000);
    }
}
