using System;
using System.IO;
using System.Linq;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// `iscsi-convert disk recover IMAGE`: the write journal a stopped in-place write left beside an image
/// (docs/formats/journal.md) — none, or one without its commit record (discarded, the image unchanged). Finishing a
/// committed journal is tested where a crash can be made (Crash.Tests, WriteTransactionTests).
/// </summary>
public sealed class DiskRecoverTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private string Image()
    {
        string image = _tmp.File("disk.raw");
        File.WriteAllBytes(image, Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 13)).ToArray());
        return image;
    }

    [Fact]
    public void An_image_without_a_journal_has_nothing_to_recover()
    {
        string image = Image();
        byte[] before = File.ReadAllBytes(image);
        (int code, string stdout, _) = CliRunner.Run("disk", "recover", image);
        Assert.Equal(0, code);
        Assert.Contains("nothing to do", stdout, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void A_journal_stopped_before_its_commit_point_is_discarded_and_the_image_left_as_it_was()
    {
        string image = Image();
        byte[] before = File.ReadAllBytes(image);
        string journal = image + ".iscsiconvert-journal";
        File.WriteAllBytes(journal, "ICJRNL01"u8.ToArray().Concat(new byte[10_000]).ToArray());
        (int code, string stdout, _) = CliRunner.Run("disk", "recover", image);
        Assert.Equal(0, code);
        Assert.Contains("discarded", stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(journal));
        Assert.Equal(before, File.ReadAllBytes(image));
    }
}
