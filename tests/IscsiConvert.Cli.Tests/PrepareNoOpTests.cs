using System;
using System.IO;
using System.Security.Cryptography;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// Issue 12's "a no-op writes nothing", the way a user meets it: a second `prepare --nic --driver` on a VHDX image
/// (the format whose headers a careless writable open updates) built around the real Windows 7 and Windows 10 SYSTEM
/// hives. The second run must leave the image's bytes and timestamp as they were, and must not even create and delete
/// a write journal beside it: the image's folder (which holds nothing else) keeps its listing and its timestamp.
/// </summary>
public sealed class PrepareNoOpTests : IClassFixture<MatchImages>
{
    private const string VirtioNic = @"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00";
    private static readonly DateTime Old = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly MatchImages _images;

    public PrepareNoOpTests(MatchImages images)
    {
        _images = images;
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Theory]
    [InlineData("win7")]
    [InlineData("win10")]
    public void A_second_prepare_with_a_driver_on_a_vhdx_changes_no_byte_no_timestamp_and_leaves_no_journal_trace(string family)
    {
        string folder = _images.Tmp.File("noop-vhdx-" + family);
        Directory.CreateDirectory(folder);
        string image = Path.Combine(folder, "golden.vhdx");
        var (code, stdout, stderr) = CliRunner.Run("disk", "convert", family == "win7" ? _images.Win7 : _images.Win10, image, "--format", "vhdx");
        Assert.True(code == 0, stderr);
        string package = PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, "noop-pkg-" + family, family == "win7" ? "x86" : "amd64");

        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("nothing to change", stdout, StringComparison.Ordinal);
        Assert.Equal(new[] { image }, Directory.GetFiles(folder)); // the first run's journal is gone too

        File.SetLastWriteTimeUtc(image, Old);
        Directory.SetLastWriteTimeUtc(folder, Old);
        string before = Hash(image);

        (code, stdout, stderr) = CliRunner.Run("prepare", image, "--nic", VirtioNic, "--driver", package);
        Assert.True(code == 0, stderr);
        Assert.Contains("nothing to change", stdout, StringComparison.Ordinal);
        Assert.Equal(before, Hash(image));
        Assert.Equal(Old, File.GetLastWriteTimeUtc(image));
        Assert.Equal(new[] { image }, Directory.GetFiles(folder));
        Assert.Equal(Old, Directory.GetLastWriteTimeUtc(folder)); // no journal was created and deleted
        (code, _, stderr) = CliRunner.Run("fs", "check", image);
        Assert.True(code == 0, stderr);
    }
}
