using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using IscsiConvert.Windows;
using Xunit;

namespace IscsiConvert.Cli.Tests;

/// <summary>
/// The C# example of docs/api.md is this file's <see cref="Example"/>, line for line: one test checks that the doc's
/// code block and the marked region below are the same text (so the doc shows code that compiles), the other runs it
/// on the Windows 10 image and checks what it wrote with qemu-img and hivexget.
/// </summary>
public sealed class ApiGuideExampleTests : IClassFixture<MatchImages>
{
    private readonly MatchImages _images;

    public ApiGuideExampleTests(MatchImages images)
    {
        _images = images;
    }

    private static void Example(string imagePath, string driverFolder, string childPath, string copyPath)
    {
        // docs/api.md example: begin
        var options = new WindowsImageOptions { AllowDirtyHive = false }; // Logger, TimeProvider too
        using WindowsImage image = WindowsImage.Open(imagePath, ImageAccess.ReadOnly, options);
        foreach (WindowsImageInstallation w in image.Installations)
        {
            Console.WriteLine($"{w.PartitionIndex}: {w.Version} ({w.Family}, {w.Architecture}), {w.State}");
        }

        IscsiBootBuilder boot = new IscsiBootBuilder()
            .WithBootAdapter(@"PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00")
            .WithDriverPackage(driverFolder);
        IscsiBootPlan plan = image.PrepareIscsiBoot(boot);   // reads only
        Console.WriteLine(plan);                             // every folder, file and value, old and new

        // The image stays as it is: the changes go into a new differencing child over it...
        IscsiBootPlan written = plan.ApplyTo(childPath);
        // ...or into a full copy in another format.
        plan.ApplyToCopy(copyPath, DiskFormat.Vhdx);
        // docs/api.md example: end
        Assert.True(written.IsApplied);
    }

    private static string Normalized(string code) =>
        string.Join("\n", code.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [Fact]
    public void The_api_guide_shows_the_example_this_test_runs()
    {
        string source = File.ReadAllText(Path.Combine(TestData.RepoRoot, "tests", "IscsiConvert.Cli.Tests", "ApiGuideExampleTests.cs"));
        Match region = Regex.Match(source, @"// docs/api\.md example: begin\r?\n(.*?)\r?\n\s*// docs/api\.md example: end", RegexOptions.Singleline);
        Assert.True(region.Success);
        string guide = File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "api.md"));
        Match block = Regex.Match(guide, @"<!-- example: ApiGuideExampleTests -->\r?\n```csharp\r?\n(.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "docs/api.md has no ```csharp block after <!-- example: ApiGuideExampleTests -->");
        Assert.Equal(Normalized(region.Groups[1].Value), Normalized(block.Groups[1].Value));
    }

    [Fact]
    public void The_api_guide_example_runs_and_leaves_the_image_unchanged()
    {
        string image = _images.Tmp.File("guide-win10.raw");
        File.Copy(_images.Win10, image, overwrite: true);
        string package = PrepareDriverCommandTests.NetKvmPackage(_images.Tmp, "guide-netkvm-pkg", "amd64");
        string child = _images.Tmp.File("guide-child.qcow2");
        string copy = _images.Tmp.File("guide-copy.vhdx");
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image)));

        Example(image, package, child, copy);

        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image))));
        Oracle.Require("qemu-img");
        Assert.Equal(Path.GetFullPath(image), QemuImg.Info(child).GetProperty("full-backing-filename").GetString());
        QemuImg.Check(copy, "vhdx");
        string flat = _images.Tmp.File("guide-copy-flat.raw");
        QemuImg.ConvertToRaw(copy, "vhdx", flat);
        string hive = _images.Tmp.File("guide-copy-SYSTEM");
        Oracle.RunChecked("sh", "-c", $"ntfscat '{flat}' /Windows/System32/config/SYSTEM > '{hive}'");
        Assert.Equal("1", Oracle.RunChecked("hivexget", hive, @"ControlSet001\services\netkvm", "BootFlags").Trim());
    }
}
