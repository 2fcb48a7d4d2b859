using System;
using System.IO;
using CsCheck;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Storage.Tests.Vhd;

/// <summary>
/// Random damage to the metadata of a real VHD, with the checksums made valid again so the damage reaches the later
/// checks: opening and reading must either work or fail with one of our exceptions, never with anything else,
/// and never change the file.
/// </summary>
public sealed class VhdFuzzTests
{
    private const int Header = 0x200;
    private const int EndFooter = 0x200A00;

    [Fact]
    public void DamagedMetadataNeverEscapesAsAForeignException()
    {
        byte[] original = File.ReadAllBytes(TestData.Require(VhdTestSupport.Ext2));
        // Offsets in the end footer (0x200A00..), the dynamic header (0x200..0x600) and the BAT (0x600..0x60C).
        Gen<(int Where, int Offset, byte Value)[]> damage = Gen.Select(Gen.Int[0, 2], Gen.Int[0, 1023], Gen.Byte).Array[1, 6];
        using var tmp = new TempDir();
        int n = 0;
        damage.Sample(edits =>
        {
            byte[] file = (byte[])original.Clone();
            foreach ((int where, int offset, byte value) in edits)
            {
                int at = where switch
                {
                    0 => EndFooter + offset % 512,
                    1 => Header + offset,
                    _ => 0x600 + offset % 12,
                };
                file[at] = value;
            }
            VhdTestSupport.FixChecksum(file, EndFooter, 512, 64);
            VhdTestSupport.FixChecksum(file, Header, 1024, 36);
            string path = tmp.File($"fuzz{n++}.vhd");
            File.WriteAllBytes(path, file);
            try
            {
                using VirtualDisk disk = DiskImage.Open(path);
                byte[] buffer = new byte[1 << 20];
                for (long p = 0; p < Math.Min(disk.Capacity, 64L << 20); p += buffer.Length)
                {
                    disk.Content.ReadAt(p, buffer);
                }
                foreach (StreamExtent e in disk.Content.GetExtents())
                {
                    Assert.True(e.End <= disk.Capacity);
                }
            }
            catch (Exception ex) when (ex is CorruptDataException or UnsupportedFormatException or ParentChainException)
            {
            }
            Assert.True(file.AsSpan().SequenceEqual(File.ReadAllBytes(path)), "a read-only open changed the file");
            File.Delete(path);
        }, iter: 300, threads: 1);
    }
}
