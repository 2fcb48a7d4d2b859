using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Decoded index records outlive a single edit (lookups and the directory editor share them), so every way the staged
/// volume changes under them must leave them exact: an edit that fails half-way and is rolled back, changes dropped by
/// <see cref="NtfsVolume.DiscardChanges"/>, and a deleted directory whose MFT record a new directory takes. Each case
/// runs in directories of several index levels, within one open volume, and is then checked by every oracle.
/// </summary>
public sealed class NtfsIndexNodeCacheTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Lookups_after_a_rolled_back_create_a_discard_and_a_reused_directory_record_see_the_volume_as_it_is()
    {
        string image = NtfsWriteTests.MakeVolume(_tmp, "cache.img", 96L << 20);
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        byte[] small = NtfsWriteTests.RandomBytes(1, 600);
        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            v.CreateDirectory("/big");
            for (int i = 0; i < 3000; i++)
            {
                Add(v, files, $"/big/component-{i:D5}-with-a-long-name-like-winsxs-manifests.manifest", small);
            }
            v.Flush();
        }

        using (NtfsVolume v = NtfsWriteTests.OpenWritable(image))
        {
            Assert.NotNull(v.TryGetEntry("/big/component-01500-with-a-long-name-like-winsxs-manifests.manifest")); // nodes read and kept

            // A create whose content fails after the name went into the index: rolled back, and no lookup finds it.
            Assert.Throws<IOException>(() => v.WriteFile("/big/component-01500-b-failed.manifest", new FailingStream()));
            Assert.Null(v.TryGetEntry("/big/component-01500-b-failed.manifest"));
            Assert.Equal(3000, v.ListDirectory("/big").Count);
            Add(v, files, "/big/component-01500-c-after.manifest", small);

            // Staged creates, looked up (so cached), then dropped: the lookups see the disk again.
            for (int i = 0; i < 200; i++)
            {
                v.WriteFile($"/big/component-02000-dropped-{i:D3}.manifest", small);
            }
            Assert.NotNull(v.TryGetEntry("/big/component-02000-dropped-100.manifest"));
            v.DiscardChanges();
            Assert.Null(v.TryGetEntry("/big/component-02000-dropped-100.manifest"));
            Assert.Null(v.TryGetEntry("/big/component-01500-c-after.manifest"));
            files.Remove("/big/component-01500-c-after.manifest");
            Assert.Equal(3000, v.ListDirectory("/big").Count);

            // A directory of many names deleted; the next directory takes its MFT record and must start empty.
            v.CreateDirectory("/old");
            for (int i = 0; i < 800; i++)
            {
                v.WriteFile($"/old/old-file-{i:D4}-with-a-name-long-enough-to-fill-index-records.txt", small);
            }
            long oldRecord = v.GetEntry("/old").MftRecordNumber;
            Assert.NotNull(v.TryGetEntry("/old/old-file-0400-with-a-name-long-enough-to-fill-index-records.txt"));
            v.Delete("/old", recursive: true);
            v.CreateDirectory("/new");
            Assert.Equal(oldRecord, v.GetEntry("/new").MftRecordNumber);
            Assert.Empty(v.ListDirectory("/new"));
            Assert.Null(v.TryGetEntry("/new/old-file-0400-with-a-name-long-enough-to-fill-index-records.txt"));
            for (int i = 0; i < 300; i++)
            {
                Add(v, files, $"/new/new-file-{i:D4}.txt", small);
            }
            Assert.Equal(300, v.ListDirectory("/new").Count);
            v.Flush();
        }

        NtfsAttributeListWriteTests.AssertAgree(image, files, toolSampling: 200);
        Assert.Equal(
            files.Keys.Where(k => k.StartsWith("/new/", StringComparison.Ordinal)).Select(k => k.Substring(5)).Order(StringComparer.Ordinal),
            Oracle.RunChecked("ntfsls", "-p", "/new", image).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(n => n is not "." and not "..").Order(StringComparer.Ordinal));
    }

    private static void Add(NtfsVolume v, Dictionary<string, byte[]> files, string path, byte[] data)
    {
        v.WriteFile(path, data);
        files[path] = data;
    }

    // Content that fails when it is read, as a source file on a failing disk would.
    private sealed class FailingStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("the source failed");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
