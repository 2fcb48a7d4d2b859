using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using IscsiConvert.Shared;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage;

/// <summary>
/// Copies a virtual disk into a new image of any creatable format, reading only the allocated extents of the source
/// and writing only the chunks that are not all zeros, so holes stay holes.
/// </summary>
public static class DiskConverter
{
    /// <summary>The unit of copying and of zero detection.</summary>
    internal const int ChunkSize = 1 << 20;

    /// <summary>
    /// After this many bytes written the new image's files are asked to start their write-back (<see cref="HostWriteBack"/>):
    /// the final flush then waits only for the last stretch instead of writing the whole image after the copy. qemu-img
    /// with a flushing cache mode overlaps the same way (its <c>fdatasync</c> calls during the copy).
    /// </summary>
    internal const long WriteBackInterval = 16L << 20;

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Writes the content of <paramref name="source"/> (with its parents merged) to a new image at
    /// <paramref name="destinationPath"/>. The destination is written under a temporary name and renamed only when
    /// complete, so a failure or cancellation never leaves a partial image behind.
    /// </summary>
    /// <returns>The number of bytes written to the new image (excluding holes and zero chunks).</returns>
    public static long Convert(VirtualDisk source, string destinationPath, DiskCreateOptions options, IProgress<ProgressReport>? progress = null, CancellationToken cancellationToken = default)
    {
        if (source is null)
        {
            throw new ArgumentNullException(nameof(source));
        }
        if (destinationPath is null)
        {
            throw new ArgumentNullException(nameof(destinationPath));
        }
        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }
        if (options.ParentPath is not null)
        {
            throw new ArgumentException("Conversion writes a stand-alone image; it cannot have a parent.", nameof(options));
        }
        string finalPath = Path.GetFullPath(destinationPath);
        if (File.Exists(finalPath))
        {
            throw new IOException($"The destination '{finalPath}' already exists.");
        }
        if (source.FilePath is not null && string.Equals(Path.GetFullPath(source.FilePath), finalPath, StringComparison.Ordinal))
        {
            throw new ArgumentException("The destination is the source.", nameof(destinationPath));
        }

        DiskCreateOptions create = options.Clone();
        create.Capacity = source.Capacity;
        create.ExactCapacity = true; // a GPT's backup header must stay on the last sector
        string tempPath = finalPath + ".partial";
        if (File.Exists(tempPath))
        {
            throw new IOException($"A leftover temporary file '{tempPath}' exists; remove it first.");
        }

        long written;
        IReadOnlyList<string> created = new[] { tempPath };
        try
        {
            using (VirtualDisk target = DiskImage.Create(tempPath, create))
            {
                created = target.ImageFiles;
                MarkUnpublished(created);
                if (target.Capacity < source.Capacity)
                {
                    throw new InvalidOperationException($"The new image holds {target.Capacity} bytes, less than the source's {source.Capacity}.");
                }
                IReadOnlyList<string> files = created;
                written = Copy(source.Content, target.Content, progress, cancellationToken, () => StartWriteBack(files));
                target.Flush();
            }
            // The image's files were made durable by its Flush; the rename is made durable by flushing the folder.
            ImageFile.MoveIntoPlace(tempPath, finalPath);
        }
        catch
        {
            // Remove everything the new image consists of (a split VMDK has extent files beside the descriptor).
            foreach (string file in created)
            {
                ImageFile.TryDelete(file);
            }
            ImageFile.TryDelete(tempPath);
            throw;
        }
        options.Logger.LogInformation("Converted {Source} to {Destination}: {Bytes} bytes written", source.FilePath, finalPath, written);
        return written;
    }

    // Nothing can use the new image before the final flush and the rename (a failure removes it), so the formats may
    // skip the flushes that only order their writes for crash safety: VHD flushed once per new block, VHDX twice.
    private static void MarkUnpublished(IReadOnlyList<string> files)
    {
        foreach (string file in files)
        {
            if (ImageFile.FindWritable(file) is { } stream)
            {
                stream.Unpublished = true;
            }
        }
    }

    private static void StartWriteBack(IReadOnlyList<string> files)
    {
        foreach (string file in files)
        {
            ImageFile.FindWritable(file)?.StartWriteBack();
        }
    }

    /// <summary>How many chunk buffers the reader may fill ahead of the writer: two lets one read overlap one write, the
    /// others absorb jitter between them. Memory stays bounded at this many <see cref="ChunkSize"/> buffers.</summary>
    internal const int ChunksInFlight = 4;

    /// <summary>One chunk read from the source, handed from the reader to the writer.</summary>
    private readonly struct Chunk
    {
        public Chunk(long position, int count, byte[] buffer, bool allZero)
        {
            Position = position;
            Count = count;
            Buffer = buffer;
            AllZero = allZero;
        }

        public long Position { get; }
        public int Count { get; }
        public byte[] Buffer { get; }
        public bool AllZero { get; }
    }

    /// <summary>Copies the allocated, non-zero chunks of <paramref name="source"/> into <paramref name="target"/> (which reads
    /// as zeros), calling <paramref name="startWriteBack"/> after every <see cref="WriteBackInterval"/> bytes written.</summary>
    /// <remarks>A reader task reads (and zero-checks) the next chunks while this thread writes the current one, the way
    /// qemu-img overlaps its reads and writes; the two share a fixed ring of <see cref="ChunksInFlight"/> buffers. A failure
    /// or cancellation on either side stops the other and is rethrown here.</remarks>
    internal static long Copy(SparseStream source, SparseStream target, IProgress<ProgressReport>? progress, CancellationToken cancellationToken, Action? startWriteBack = null)
    {
        long nextWriteBack = WriteBackInterval;
        long total = ExtentMath.Sum(source.GetExtents());
        long done = 0;
        long written = 0;
        var clock = Stopwatch.StartNew();
        TimeSpan nextReport = ProgressInterval;
        progress?.Report(new ProgressReport("Copying", 0, total));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var free = new BlockingCollection<byte[]>(ChunksInFlight);
        using var filled = new BlockingCollection<Chunk>(ChunksInFlight);
        for (int i = 0; i < ChunksInFlight; i++)
        {
            free.Add(new byte[ChunkSize]);
        }
        Task reader = Task.Run(() => ReadChunks(source, free, filled, stop.Token));
        try
        {
            foreach (Chunk chunk in filled.GetConsumingEnumerable(stop.Token))
            {
                if (!chunk.AllZero)
                {
                    target.WriteAt(chunk.Position, chunk.Buffer.AsSpan(0, chunk.Count));
                    written += chunk.Count;
                    if (startWriteBack is not null && written >= nextWriteBack)
                    {
                        nextWriteBack = written + WriteBackInterval;
                        startWriteBack();
                    }
                }
                free.Add(chunk.Buffer);
                done += chunk.Count;
                if (progress is not null && clock.Elapsed >= nextReport)
                {
                    nextReport = clock.Elapsed + ProgressInterval;
                    progress.Report(new ProgressReport("Copying", done, total));
                }
            }
        }
        catch
        {
            // The writer failed (or was cancelled): stop the reader and wait for it, so nothing touches the source or the
            // buffers after we return; the writer's exception is the one that matters.
            stop.Cancel();
            try
            {
                reader.Wait();
            }
            catch (AggregateException)
            {
            }
            throw;
        }
        // The reader completed the hand-over; this rethrows its failure (or cancellation) unwrapped.
        reader.GetAwaiter().GetResult();
        progress?.Report(new ProgressReport("Copying", done, total));
        return written;
    }

    private static void ReadChunks(SparseStream source, BlockingCollection<byte[]> free, BlockingCollection<Chunk> filled, CancellationToken cancellationToken)
    {
        try
        {
            foreach (StreamExtent extent in source.GetExtents())
            {
                long pos = extent.Start;
                while (pos < extent.End)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // Align chunks to ChunkSize so that zero detection matches the target's block grid.
                    long chunkEnd = Math.Min(extent.End, (pos / ChunkSize + 1) * ChunkSize);
                    int count = (int)(chunkEnd - pos);
                    byte[] buffer = free.Take(cancellationToken);
                    Span<byte> span = buffer.AsSpan(0, count);
                    int n = source.ReadAt(pos, span);
                    if (n != count)
                    {
                        throw new EndOfStreamException($"The source ended at {pos + n} inside an allocated extent.");
                    }
                    filled.Add(new Chunk(pos, count, buffer, StreamExtensions.IsAllZero(span)), cancellationToken);
                    pos = chunkEnd;
                }
            }
        }
        finally
        {
            // Ends the writer's loop, whether the source is done or the reader failed.
            filled.CompleteAdding();
        }
    }
}
