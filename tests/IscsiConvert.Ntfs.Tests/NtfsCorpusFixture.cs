using System;
using System.Collections.Concurrent;
using System.IO;
using Xunit;

namespace IscsiConvert.Tests;

/// <summary>
/// Prepares each corpus image once per test run: decompresses the 1 GiB .raw.gz images (sparsely) and converts
/// qcow2/vmdk to raw for sleuthkit, which reads only raw files.
/// </summary>
public sealed class NtfsCorpusFixture : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ConcurrentDictionary<string, Lazy<string>> _prepared = new();

    /// <summary>The path our reader opens (the image as stored, or the decompressed raw file).</summary>
    public string ImagePath(string relative) => relative.EndsWith(".gz", StringComparison.Ordinal) ? Raw(relative) : TestData.Require(relative);

    /// <summary>A raw file of the same disk for sleuthkit and ntfs-3g.</summary>
    public string Raw(string relative) => _prepared.GetOrAdd(relative, r => new Lazy<string>(() => Prepare(r))).Value;

    private string Prepare(string relative)
    {
        if (relative.EndsWith(".gz", StringComparison.Ordinal))
        {
            string dir = Path.Combine(_dir.Path, Path.GetFileNameWithoutExtension(relative));
            Directory.CreateDirectory(dir);
            return TestData.Gunzip(relative, dir);
        }
        string source = TestData.Require(relative);
        if (relative.EndsWith(".qcow2", StringComparison.Ordinal) || relative.EndsWith(".vmdk", StringComparison.Ordinal))
        {
            string raw = Path.Combine(_dir.Path, Path.GetFileName(relative) + ".raw");
            QemuImg.ConvertToRaw(source, relative.EndsWith(".qcow2", StringComparison.Ordinal) ? "qcow2" : "vmdk", raw);
            return raw;
        }
        return source;
    }

    /// <summary>Copies <paramref name="length"/> bytes from <paramref name="offset"/> of a file into a new sparse file (a
    /// partition extracted at an offset that mmls reports, for tools that cannot take an offset).</summary>
    public string Extract(string relative, long offset)
    {
        return _prepared.GetOrAdd(relative + "@" + offset, _ => new Lazy<string>(() =>
        {
            string source = Raw(relative);
            string target = Path.Combine(_dir.Path, Path.GetFileName(source) + ".part" + offset);
            using var input = File.OpenRead(source);
            using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
            input.Position = offset;
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0) < 0)
                {
                    output.Seek(n, SeekOrigin.Current);
                }
                else
                {
                    output.Write(buffer, 0, n);
                }
            }
            output.SetLength(input.Length - offset);
            return target;
        })).Value;
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>The test classes that share the prepared corpus images (each 1 GiB image is decompressed once per run).</summary>
[CollectionDefinition(Name)]
public sealed class NtfsCorpusCollection : ICollectionFixture<NtfsCorpusFixture>
{
    public const string Name = "NTFS corpus";
}
