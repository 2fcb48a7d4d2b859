using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using IscsiConvert.Tests;
using Microsoft.Extensions.Logging;
using Xunit;

namespace IscsiConvert.Storage.Tests;

/// <summary>
/// Creating or converting never leaves a half-made image behind, and never removes a file it did not create.
/// </summary>
public sealed class CreateCleanupTests
{
    [Theory]
    [InlineData(DiskFormat.Raw, null)]
    [InlineData(DiskFormat.Vhd, null)]
    [InlineData(DiskFormat.Vhdx, null)]
    [InlineData(DiskFormat.Qcow2, null)]
    [InlineData(DiskFormat.Vmdk, "monolithicSparse")]
    [InlineData(DiskFormat.Vmdk, "streamOptimized")]
    [InlineData(DiskFormat.Vmdk, "monolithicFlat")]
    public void CreatingOverAnExistingFileFailsAndLeavesItAlone(DiskFormat format, string? variant)
    {
        using var tmp = new TempDir();
        string path = tmp.File("taken.img");
        byte[] content = { 1, 2, 3, 4 };
        File.WriteAllBytes(path, content);
        Assert.ThrowsAny<IOException>(() => DiskImage.Create(path, new DiskCreateOptions { Format = format, Variant = variant, Capacity = 1 << 20 }).Dispose());
        Assert.Equal(content, File.ReadAllBytes(path));
    }

    /// <summary>
    /// A failure after the image file was written (here: while the new image reopens its parent, made to fail by a logger
    /// that throws on that step) removes the new file and leaves the parent as it was.
    /// </summary>
    [Theory]
    [InlineData(DiskFormat.Qcow2)]
    [InlineData(DiskFormat.Vmdk)]
    public void CreationFailingPartWayRemovesTheNewFile(DiskFormat format)
    {
        using var tmp = new TempDir();
        string parent = tmp.File("parent.img");
        if (format == DiskFormat.Vmdk)
        {
            DiskImage.Create(parent, new DiskCreateOptions { Format = DiskFormat.Vmdk, Capacity = 1 << 20 }).Dispose(); // a delta needs a VMDK parent
        }
        else
        {
            File.WriteAllBytes(parent, new byte[1 << 20]);
        }
        byte[] parentBefore = File.ReadAllBytes(parent);
        string child = tmp.File("child.img");
        var options = new DiskCreateOptions { Format = format, ParentPath = parent, Logger = new ThrowingLogger("Opening ") };
        Exception ex = Assert.ThrowsAny<Exception>(() => DiskImage.Create(child, options).Dispose());
        Assert.Contains("injected", ex.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(child), "the half-created image was left behind");
        Assert.Equal(new[] { "parent.img" }, Array.ConvertAll(Directory.GetFiles(tmp.Path), p => Path.GetFileName(p)));
        Assert.Equal(parentBefore, File.ReadAllBytes(parent));
    }

    // An 8 MiB raw source whose every sector starts with its own number (low byte), so no chunk of it is zero.
    private static string SectorMarkedSource(TempDir tmp)
    {
        string source = tmp.File("src.img");
        byte[] data = new byte[8 << 20];
        for (int i = 0; i < data.Length; i += 512)
        {
            data[i] = (byte)(i >> 9);
        }
        File.WriteAllBytes(source, data);
        return source;
    }

    /// <summary>A conversion cancelled after some data was written removes the partial image (every file of it).</summary>
    [Theory]
    [InlineData(DiskFormat.Qcow2, null)]
    [InlineData(DiskFormat.Vmdk, "monolithicSparse")]
    [InlineData(DiskFormat.Vmdk, "streamOptimized")]
    [InlineData(DiskFormat.Vmdk, "twoGbMaxExtentSparse")]
    public void ConversionCancelledMidWayLeavesNoFile(DiskFormat format, string? variant)
    {
        using var tmp = new TempDir();
        string source = SectorMarkedSource(tmp);
        string outDir = Directory.CreateDirectory(tmp.File("out")).FullName;
        using var cts = new CancellationTokenSource();
        int written = 0;
        using (VirtualDisk raw = DiskImage.Open(source))
        using (var cancelling = new ActAfterReads(raw, 3, cts.Cancel))
        {
            Assert.ThrowsAny<OperationCanceledException>(() =>
                written = (int)DiskConverter.Convert(cancelling, Path.Combine(outDir, "dst.img"), new DiskCreateOptions { Format = format, Variant = variant }, null, cts.Token));
            Assert.Equal(3, cancelling.Reads);
        }
        Assert.Equal(0, written);
        Assert.Empty(Directory.GetFiles(outDir));
    }

    /// <summary>A source failing part-way (read on the converter's reader task, beside the writer) surfaces its own
    /// exception, not a wrapped one, after some chunks were written, and the partial image is removed.</summary>
    [Theory]
    [InlineData(DiskFormat.Qcow2, null)]
    [InlineData(DiskFormat.Vmdk, "twoGbMaxExtentSparse")]
    public void ConversionWhoseSourceFailsMidWayLeavesNoFile(DiskFormat format, string? variant)
    {
        using var tmp = new TempDir();
        string source = SectorMarkedSource(tmp);
        string outDir = Directory.CreateDirectory(tmp.File("out")).FullName;
        using (VirtualDisk raw = DiskImage.Open(source))
        using (var failing = new ActAfterReads(raw, 5, () => throw new IOException("injected read failure")))
        {
            IOException e = Assert.Throws<IOException>(() =>
                DiskConverter.Convert(failing, Path.Combine(outDir, "dst.img"), new DiskCreateOptions { Format = format, Variant = variant }));
            Assert.Equal("injected read failure", e.Message);
            Assert.Equal(5, failing.Reads);
        }
        Assert.Empty(Directory.GetFiles(outDir));
    }

    /// <summary>Throws on the log message that starts with a given text, to fail an operation at that step.</summary>
    private sealed class ThrowingLogger(string prefix) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).StartsWith(prefix, StringComparison.Ordinal))
            {
                throw new IOException("injected failure");
            }
        }
    }

    /// <summary>A source disk whose content runs <paramref name="atLimit"/> (cancels, throws) once it has been read a given number of times.</summary>
    private sealed class ActAfterReads(VirtualDisk inner, int reads, Action atLimit) : VirtualDisk(null, DiskAccess.ReadOnly)
    {
        private readonly CountingStream _content = new(inner.Content, reads, atLimit);

        public int Reads => _content.Reads;

        public override DiskFormat Format => inner.Format;

        public override string Subformat => inner.Subformat;

        public override SparseStream Content => _content;

        public override long StoredBytes => inner.StoredBytes;
    }

    private sealed class CountingStream(SparseStream inner, int reads, Action atLimit) : SparseStream
    {
        public int Reads { get; private set; }

        public override long Length => inner.Length;

        protected override bool IsWritable => false;

        public override IEnumerable<StreamExtent> GetExtents(long start, long length) => inner.GetExtents(start, length);

        protected override void ReadCore(long position, Span<byte> buffer)
        {
            inner.ReadAt(position, buffer);
            if (++Reads == reads)
            {
                atLimit();
            }
        }

        protected override void WriteCore(long position, ReadOnlySpan<byte> data) => throw new NotSupportedException();
    }
}
